//go:build unix

package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/scriptsign"
)

func runScript(t *testing.T, l *live, sa protocol.ScriptArgs) (protocol.ScriptResult, error) {
	t.Helper()
	var res protocol.ScriptResult
	err := l.hub.Do(ctxT(t), l.deviceID, protocol.ActionScript, sa, &res)
	return res, err
}

func TestScriptThroughGateway(t *testing.T) {
	l := startLive(t, liveOpts{})
	res, err := runScript(t, l, protocol.ScriptArgs{RunID: "r1", Language: "bash",
		Body:    "echo \"Hallo $NAME\"\necho \"key=$API_KEY\"\necho kaputt >&2\nexit 4\n",
		Params:  map[string]string{"NAME": "Grüße @ \\ |"},
		Secrets: map[string]string{"API_KEY": "s3cr3t-Wert"}})
	if err != nil || res.ExitCode != 4 || res.Stdout != "Hallo Grüße @ \\ |\nkey=••••\n" || res.Stderr != "kaputt\n" || res.Truncated || res.Duplicate {
		t.Errorf("bash script = %+v, %v", res, err)
	}
	res, err = runScript(t, l, protocol.ScriptArgs{RunID: "r2", Language: "sh", Body: "printf '%s' \"$WACHT_RUN_ID\"; pwd"})
	if err != nil || res.ExitCode != 0 || !strings.HasPrefix(res.Stdout, "r2"+filepath.Join(l.dir, scriptsDir, scriptTmpDir)) {
		t.Errorf("sh script = %+v, %v", res, err)
	}
	// The body's folder is gone after the run.
	if des, _ := os.ReadDir(filepath.Join(l.dir, scriptsDir, scriptTmpDir)); len(des) != 0 {
		t.Errorf("temporary files left: %v", des)
	}
	res, err = runScript(t, l, protocol.ScriptArgs{RunID: "r3", Language: "sh",
		Body: "head -c 3000000 /dev/zero | tr '\\0' y; printf geheim", Secrets: map[string]string{"S": "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy1"}})
	if err != nil || !res.Truncated || !strings.HasSuffix(res.Stdout, protocol.ScriptTruncated) ||
		len(res.Stdout) > protocol.MaxScriptOutput+len(protocol.ScriptTruncated) || strings.Contains(res.Stdout, "geheim") {
		t.Errorf("3 MB of output: %d bytes, truncated %v, %v", len(res.Stdout), res.Truncated, err)
	}
	// The tail that begins a secret is cut, not shown.
	if got := strings.TrimSuffix(res.Stdout, protocol.ScriptTruncated); len(got) != protocol.MaxScriptOutput-36 {
		t.Errorf("truncated output keeps %d bytes, want the %d before the secret's beginning", len(got), protocol.MaxScriptOutput-36)
	}

	_, err = runScript(t, l, protocol.ScriptArgs{RunID: "r4", Language: "cmd", Body: "echo x"})
	wantCode(t, "cmd on Unix", err, protocol.CodeUnsupported)
	_, err = runScript(t, l, protocol.ScriptArgs{RunID: "r5", Language: "powershell", Body: "echo x"})
	wantCode(t, "Windows PowerShell on Unix", err, protocol.CodeUnsupported)
	_, err = runScript(t, l, protocol.ScriptArgs{RunID: "../x", Language: "sh", Body: "echo x"})
	wantCode(t, "bad run ID", err, protocol.CodeBadArgs)
	_, err = runScript(t, l, protocol.ScriptArgs{RunID: "r6", Language: "sh", Body: "echo x", Params: map[string]string{"A=B": "x"}})
	wantCode(t, "bad parameter name", err, protocol.CodeBadArgs)
}

// TestScriptTimeoutKillsTree: a script whose grandchild sleeps is ended
// at its timeout with the whole process group.
func TestScriptTimeoutKillsTree(t *testing.T) {
	l := startLive(t, liveOpts{})
	pidFile := filepath.Join(t.TempDir(), "pid")
	res, err := runScript(t, l, protocol.ScriptArgs{RunID: "t1", Language: "bash", TimeoutSeconds: 1,
		Body: "(sleep 600; echo never) &\necho $! > \"$PIDFILE\"\nwhile :; do :; done\n", Params: map[string]string{"PIDFILE": pidFile}})
	if err != nil || !res.TimedOut || res.ExitCode != -1 {
		t.Fatalf("endless loop: %+v, %v", res, err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	waitLive(t, "grandchild gone", func() bool { return !alive(pid) })
}

// TestScriptGigabyteOfOutput: a script writing 1 GB to stdout is cut at
// MaxScriptOutput, and the agent's memory does not grow with the output
// (the Go heap is sampled while the script runs; the bound is generous).
func TestScriptGigabyteOfOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 1 GB through a pipe")
	}
	l := startLive(t, liveOpts{})
	runtime.GC()
	var peak uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	res, err := runScript(t, l, protocol.ScriptArgs{RunID: "g1", Language: "sh", TimeoutSeconds: 600,
		Body: "head -c 1000000000 /dev/zero | tr '\\0' x; echo fertig >&2"})
	close(stop)
	<-sampled
	if err != nil || res.ExitCode != 0 || !res.Truncated || res.Stderr != "fertig\n" ||
		len(res.Stdout) != protocol.MaxScriptOutput+len(protocol.ScriptTruncated) || !strings.HasPrefix(res.Stdout, "xxxx") {
		t.Errorf("1 GB of output: %d bytes, truncated %v, stderr %q, %v", len(res.Stdout), res.Truncated, res.Stderr, err)
	}
	t.Logf("peak Go heap while 1 GB was written: %d MB", peak>>20)
	if peak > 200<<20 {
		t.Errorf("the heap grew to %d MB while the script wrote 1 GB", peak>>20)
	}
}

// alive: the process exists and is no zombie.
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) && !strings.Contains(err.Error(), "no such process")
	}
	i := strings.LastIndexByte(string(st), ')')
	return i < 0 || i+2 >= len(st) || st[i+2] != 'Z'
}

// TestScriptSecretNotInArgv: a secret is in the script's environment and
// nowhere in its command line.
func TestScriptSecretNotInArgv(t *testing.T) {
	if _, err := os.Stat("/proc/self/cmdline"); err != nil {
		t.Skip("no /proc")
	}
	l := startLive(t, liveOpts{})
	dir := t.TempDir()
	const secret = "pa55-Wört"
	done := make(chan error, 1)
	go func() {
		res, err := runScript(t, l, protocol.ScriptArgs{RunID: "s1", Language: "sh", Secrets: map[string]string{"PASSWORD": secret},
			Params: map[string]string{"DIR": dir},
			Body:   "echo $$ > \"$DIR/pid.tmp\"; mv \"$DIR/pid.tmp\" \"$DIR/pid\"\nwhile [ ! -e \"$DIR/go\" ]; do sleep 0.05; done\necho \"$PASSWORD\"\n"})
		if err == nil && res.Stdout != protocol.ScriptMask+"\n" {
			err = errors.New("output " + res.Stdout)
		}
		done <- err
	}()
	var pid string
	waitLive(t, "script started", func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "pid"))
		pid = strings.TrimSpace(string(b))
		return err == nil
	})
	cmdline, err := os.ReadFile("/proc/" + pid + "/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(cmdline), secret) || !strings.Contains(string(cmdline), "script.sh") {
		t.Errorf("command line %q", cmdline)
	}
	if env, err := os.ReadFile("/proc/" + pid + "/environ"); err != nil || !strings.Contains(string(env), "PASSWORD="+secret) {
		t.Errorf("secret not in the environment (%v)", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Error(err)
	}
}

// TestScriptRunsOnce: a repeated run ID gets the recorded result without
// running again, also after the agent restarted; a run the agent was
// stopped in is answered as interrupted and never run again.
func TestScriptRunsOnce(t *testing.T) {
	l := startLive(t, liveOpts{})
	counter := filepath.Join(t.TempDir(), "counter")
	sa := protocol.ScriptArgs{RunID: "once-1", Language: "sh", Body: "echo ran >> \"$COUNTER\"; echo done; exit 2", Params: map[string]string{"COUNTER": counter}}
	first, err := runScript(t, l, sa)
	if err != nil || first.ExitCode != 2 || first.Duplicate {
		t.Fatalf("first run: %+v, %v", first, err)
	}
	again, err := runScript(t, l, sa)
	if err != nil || !again.Duplicate || again.ExitCode != 2 || again.Stdout != "done\n" {
		t.Errorf("repeat: %+v, %v", again, err)
	}
	// A new runner over the same data folder: the journal survives.
	r := &scriptRunner{dir: filepath.Join(l.dir, scriptsDir), log: l.log, running: map[string]bool{}}
	if res, err := r.run(ctxT(t), sa); err != nil || !res.Duplicate {
		t.Errorf("repeat after restart: %+v, %v", res, err)
	}
	if b, _ := os.ReadFile(counter); string(b) != "ran\n" {
		t.Errorf("the script ran %d times", strings.Count(string(b), "ran"))
	}

	// Stopped mid-run: the process is killed, the run is interrupted.
	ctx, cancel := context.WithCancel(context.Background())
	started := filepath.Join(t.TempDir(), "started")
	mid := protocol.ScriptArgs{RunID: "once-2", Language: "sh", Body: "echo ran >> \"$COUNTER\"; touch \"$STARTED\"; sleep 600",
		Params: map[string]string{"COUNTER": counter, "STARTED": started}}
	done := make(chan error, 1)
	go func() { _, err := r.run(ctx, mid); done <- err }()
	waitLive(t, "script started", func() bool { _, err := os.Stat(started); return err == nil })
	cancel()
	wantCode(t, "stopped mid-run", <-done, protocol.CodeInterrupted)
	r2 := &scriptRunner{dir: filepath.Join(l.dir, scriptsDir), log: l.log, running: map[string]bool{}}
	_, err = r2.run(ctxT(t), mid)
	wantCode(t, "repeat of an interrupted run", err, protocol.CodeInterrupted)
	_, err = runScript(t, l, mid)
	wantCode(t, "repeat of an interrupted run through the gateway", err, protocol.CodeInterrupted)
	if b, _ := os.ReadFile(counter); string(b) != "ran\nran\n" {
		t.Errorf("counter %q: an interrupted run ran again", b)
	}
}

// TestScriptLockMode: an agent with a script signer runs only scripts
// signed by it, for the language they were signed for.
func TestScriptLockMode(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	l := startLive(t, liveOpts{signer: pub})
	marker := filepath.Join(t.TempDir(), "ran")
	body := "touch \"$MARKER\"; echo signiert"
	sa := protocol.ScriptArgs{RunID: "l1", Language: "sh", Body: body, Params: map[string]string{"MARKER": marker}}
	_, err := runScript(t, l, sa)
	wantCode(t, "unsigned", err, protocol.CodeScriptSigner)
	sa.Signature = scriptsign.Sign(key, "bash", body)
	_, err = runScript(t, l, sa)
	wantCode(t, "signed for another language", err, protocol.CodeScriptSigner)
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	sa.Signature = scriptsign.Sign(other, "sh", body)
	_, err = runScript(t, l, sa)
	wantCode(t, "signed by another key", err, protocol.CodeScriptSigner)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("an unsigned script ran")
	}
	sa.Signature = scriptsign.Sign(key, "sh", body)
	res, err := runScript(t, l, sa)
	if err != nil || res.Stdout != "signiert\n" {
		t.Errorf("signed script: %+v, %v", res, err)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Error("the signed script did not run")
	}
}

func TestScriptLockedLocally(t *testing.T) {
	l := startLive(t, liveOpts{disable: []string{"scripts"}})
	_, err := runScript(t, l, protocol.ScriptArgs{RunID: "x1", Language: "sh", Body: "echo x"})
	wantCode(t, "scripts locked", err, protocol.CodeDisabledLocally)
}

func TestInterpreter(t *testing.T) {
	found := func(string) (string, error) { return "/bin/x", nil }
	missing := func(string) (string, error) { return "", errors.New("not found") }
	for _, tc := range []struct {
		goos, lang string
		look       func(string) (string, error)
		want, code string
	}{
		{"linux", "bash", found, "bash", ""},
		{"linux", "python", found, "python3", ""},
		{"windows", "python", missing, "", protocol.CodeUnsupported},
		{"darwin", "pwsh", found, "pwsh -NoProfile -NonInteractive -ExecutionPolicy Bypass -File", ""},
		{"windows", "cmd", found, "cmd /c", ""},
		{"linux", "cmd", found, "", protocol.CodeUnsupported},
		{"linux", "zsh", missing, "", protocol.CodeUnsupported},
	} {
		argv, _, err := interpreter(tc.goos, tc.lang, tc.look)
		if tc.code != "" {
			wantCode(t, tc.goos+" "+tc.lang, err, tc.code)
			continue
		}
		if err != nil || strings.Join(argv, " ") != tc.want {
			t.Errorf("%s %s: %q %v", tc.goos, tc.lang, argv, err)
		}
	}
}

// BenchmarkScriptRun: one sh script through a real gateway and agent,
// journaled, per iteration.
func BenchmarkScriptRun(b *testing.B) {
	l := startLive(b, liveOpts{})
	ctx := ctxT(b)
	for i := 0; b.Loop(); i++ {
		var res protocol.ScriptResult
		err := l.hub.Do(ctx, l.deviceID, protocol.ActionScript, protocol.ScriptArgs{RunID: "b" + strconv.Itoa(i), Language: "sh", Body: "echo ok"}, &res)
		if err != nil || res.Stdout != "ok\n" {
			b.Fatal(res, err)
		}
	}
}
