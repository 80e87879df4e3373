package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// actionEcho answers with its arguments: the cheapest action, for the
// round-trip benchmark.
const actionEcho = "test-echo"

func init() {
	RegisterAction(actionEcho, Action{Do: func(_ context.Context, _ *Agent, args json.RawMessage) (any, error) {
		return args, nil
	}})
}

// live is a real agent with a session on a real gateway on loopback.
type live struct {
	*testAgent
	hub      *gateway.Hub
	deviceID int64
	signer   *actionkey.Signer
}

type liveOpts struct {
	disable  []string
	pinOther bool              // the agent pins another action key than the gateway's
	signAgo  time.Duration     // the gateway's signer runs this far behind
	allow    []string          // executables the agent's local allowlist allows
	signer   ed25519.PublicKey // lock mode: the script signer's key
}

// startLive enrolls an agent with a real gateway (SQLite store) through
// the real enrollment route and runs it.
func startLive(t testing.TB, o liveOpts) *live {
	t.Helper()
	st := storetest.NewSQLite(t)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	signer := actionkey.NewSigner(key, func() time.Time { return time.Now().Add(-o.signAgo) })
	gw := gateway.New(gateway.Options{Store: st, ActionKey: signer})
	srv := httptest.NewTLSServer(gw)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		gw.Hub().Shutdown(ctx)
		srv.Close()
	})
	ctx := context.Background()
	_, site, err := st.EnsureClientSite(ctx, "Müller GmbH", "Hannover")
	if err != nil {
		t.Fatal(err)
	}
	secret := auth.NewSecret("wet_")
	if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), SiteID: site.ID}); err != nil {
		t.Fatal(err)
	}
	tok := protocol.Token{URL: srv.URL, Fingerprint: protocol.Fingerprint(srv.Certificate().Raw), Secret: secret}
	dir := t.TempDir()
	er, err := Enroll(ctx, tok.String(), "", dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if o.disable != nil {
		if err := SetDisabled(dir, o.disable); err != nil {
			t.Fatal(err)
		}
	}
	if o.allow != nil {
		cfg, _ := LoadConfig(dir)
		cfg.Allow.Executables = o.allow
		if err := SaveConfig(dir, cfg); err != nil {
			t.Fatal(err)
		}
	}
	if o.signer != nil {
		if err := SetScriptSigner(dir, o.signer); err != nil {
			t.Fatal(err)
		}
	}
	if o.pinOther {
		cfg, _ := LoadConfig(dir)
		other, _, _ := ed25519.GenerateKey(rand.Reader)
		cfg.ActionKey = other
		if err := SaveConfig(dir, cfg); err != nil {
			t.Fatal(err)
		}
	}
	a, err := New(Options{DataDir: dir, Inventory: fixedInventory, Checks: []NamedCheck{{"fake", &fakeCheck{n: 1}}}, Interval: time.Hour,
		BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond, AckTimeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithCancel(ctx)
	ta := &testAgent{Agent: a, dir: dir, cancel: cancel, done: make(chan error, 1)}
	go func() { ta.done <- a.Run(actx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ta.done:
		case <-time.After(30 * time.Second):
			t.Error("agent did not stop")
		}
	})
	l := &live{testAgent: ta, hub: gw.Hub(), deviceID: er.DeviceID, signer: signer}
	waitLive(t, "agent connected", func() bool { return l.hub.Connected(l.deviceID) })
	return l
}

// waitLive polls cond; a hang guard, not a timing assertion.
func waitLive(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(60 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var ae *protocol.ActionError
	if !errors.As(err, &ae) || ae.Code != code || ae.Message.EN == "" || ae.Message.DE == "" {
		t.Errorf("%s: %v, want an action error %s with English and German text", what, err, code)
	}
}

func TestExecThroughGateway(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("sh")
	}
	l := startLive(t, liveOpts{})
	ctx := ctxT(t)
	var res protocol.ExecResult
	err := l.hub.Do(ctx, l.deviceID, protocol.ActionExec, protocol.ExecArgs{Shell: "sh", Command: `printf 'Grüße @ \ |'; echo oops >&2; exit 3`}, &res)
	if err != nil || res.ExitCode != 3 || res.Stdout != `Grüße @ \ |` || res.Stderr != "oops\n" || res.Truncated {
		t.Errorf("exec = %+v, %v", res, err)
	}
	res = protocol.ExecResult{}
	err = l.hub.Do(ctx, l.deviceID, protocol.ActionExec, protocol.ExecArgs{Shell: "sh", Command: `head -c 3000000 /dev/zero | tr '\0' y`}, &res)
	if err != nil || len(res.Stdout) != protocol.MaxExecOutput || !res.Truncated || res.ExitCode != 0 {
		t.Errorf("3 MB of output: %d bytes, truncated %v, exit %d, %v", len(res.Stdout), res.Truncated, res.ExitCode, err)
	}
	res = protocol.ExecResult{}
	err = l.hub.Do(ctx, l.deviceID, protocol.ActionExec, protocol.ExecArgs{Shell: "sh", Command: `sleep 600 & sleep 600`, TimeoutSeconds: 1}, &res)
	if err != nil || !res.TimedOut || res.ExitCode != -1 {
		t.Errorf("timeout: %+v, %v", res, err)
	}
	err = l.hub.Do(ctx, l.deviceID, protocol.ActionExec, protocol.ExecArgs{Shell: "bash -c id", Command: "id"}, &res)
	wantCode(t, "unknown shell", err, protocol.CodeBadArgs)
	err = l.hub.Do(ctx, l.deviceID, "format-disk", nil, nil)
	wantCode(t, "unknown action", err, protocol.CodeUnknownAction)
	var n protocol.RunChecksStarted
	before := time.Now().Add(-time.Millisecond)
	if err := l.hub.Do(ctx, l.deviceID, protocol.CommandRunChecks, nil, &n); err != nil || n.Checks != 1 || n.At.Before(before) || n.At.After(time.Now()) {
		t.Errorf("run-checks = %+v (want 1 check started at the agent's now), %v", n, err)
	}
}

func TestShellArgv(t *testing.T) {
	for _, tc := range []struct{ goos, shell, want string }{
		{"linux", "", "sh|-c|x"},
		{"windows", "", "powershell|-NoProfile|-NonInteractive|-Command|" + powershellUTF8 + "x"},
		{"windows", "cmd", "cmd|/c|chcp 65001>nul & x"},
		{"linux", "pwsh", "pwsh|-NoProfile|-NonInteractive|-Command|x"},
		{"darwin", "zsh", "zsh|-c|x"},
	} {
		argv, err := shellArgv(tc.goos, tc.shell, "x")
		if err != nil || strings.Join(argv, "|") != tc.want {
			t.Errorf("%s %q: %q %v", tc.goos, tc.shell, argv, err)
		}
	}
}

// TestLocalLockRefuses: capabilities disabled in agent.json are refused
// with disabled_locally, and the server learns the lock list.
func TestLocalLockRefuses(t *testing.T) {
	l := startLive(t, liveOpts{disable: []string{"files", "exec", "terminal"}})
	ctx := ctxT(t)
	err := l.hub.Do(ctx, l.deviceID, protocol.ActionExec, protocol.ExecArgs{Command: "touch " + filepath.Join(l.dir, "ran")}, nil)
	wantCode(t, "exec", err, protocol.CodeDisabledLocally)
	if _, err := os.Stat(filepath.Join(l.dir, "ran")); err == nil {
		t.Error("the locked command ran")
	}
	_, err = l.hub.OpenStream(ctx, l.deviceID, protocol.StreamFileDownload, protocol.FileDownloadArgs{Path: filepath.Join(l.dir, ConfigFile)})
	wantCode(t, "file-download", err, protocol.CodeDisabledLocally)
	_, err = l.hub.OpenStream(ctx, l.deviceID, protocol.StreamTerminal, protocol.TerminalArgs{})
	wantCode(t, "terminal", err, protocol.CodeDisabledLocally)
	_, err = l.hub.OpenStream(ctx, l.deviceID, protocol.StreamFileUpload, protocol.FileUploadArgs{Path: filepath.Join(l.dir, "neu"), Size: 0, SHA256: sum(nil)})
	wantCode(t, "file-upload", err, protocol.CodeDisabledLocally)
	wantCode(t, "files-delete", l.hub.Do(ctx, l.deviceID, protocol.ActionFilesDel, protocol.FilesPathArgs{Path: filepath.Join(l.dir, ConfigFile)}, nil), protocol.CodeDisabledLocally)
	if _, err := os.Stat(filepath.Join(l.dir, ConfigFile)); err != nil {
		t.Error("the locked delete ran")
	}
	if locks, ok := l.hub.Disabled(l.deviceID); !ok || strings.Join(locks, ",") != "exec,files,terminal" {
		t.Errorf("server sees locks %v (connected %v)", locks, ok)
	}
	// What is not locked still runs.
	if err := l.hub.Do(ctx, l.deviceID, protocol.CommandRunChecks, nil, nil); err != nil {
		t.Errorf("run-checks: %v", err)
	}
	if err := SetDisabled(l.dir, []string{"everything"}); err == nil {
		t.Error("an unknown lock name was accepted")
	}
}

// TestLockModeRefusesCodeOfTheServersChoice: an agent with a script
// signer refuses every action that would let a compromised server choose
// what runs (a command, a shell, writing, moving or deleting files), and
// still serves the ones that only read.
func TestLockModeRefusesCodeOfTheServersChoice(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	l := startLive(t, liveOpts{signer: pub})
	ctx := ctxT(t)
	err := l.hub.Do(ctx, l.deviceID, protocol.ActionExec, protocol.ExecArgs{Command: "touch " + filepath.Join(l.dir, "ran")}, nil)
	wantCode(t, "exec", err, protocol.CodeScriptSigner)
	_, err = l.hub.OpenStream(ctx, l.deviceID, protocol.StreamTerminal, protocol.TerminalArgs{})
	wantCode(t, "terminal", err, protocol.CodeScriptSigner)
	_, err = l.hub.OpenStream(ctx, l.deviceID, protocol.StreamFileUpload, protocol.FileUploadArgs{Path: filepath.Join(l.dir, "neu"), Size: 0, SHA256: sum(nil)})
	wantCode(t, "file-upload", err, protocol.CodeScriptSigner)
	wantCode(t, "files-mkdir", l.hub.Do(ctx, l.deviceID, protocol.ActionFilesMkdir, protocol.FilesPathArgs{Path: filepath.Join(l.dir, "d")}, nil), protocol.CodeScriptSigner)
	wantCode(t, "files-delete", l.hub.Do(ctx, l.deviceID, protocol.ActionFilesDel, protocol.FilesPathArgs{Path: filepath.Join(l.dir, ConfigFile)}, nil), protocol.CodeScriptSigner)
	for _, p := range []string{"ran", "neu", "d"} {
		if _, err := os.Stat(filepath.Join(l.dir, p)); err == nil {
			t.Errorf("%s exists: a refused action ran", p)
		}
	}
	if _, err := os.Stat(filepath.Join(l.dir, ConfigFile)); err != nil {
		t.Error("the refused delete ran")
	}
	// Reading still works.
	s, err := l.hub.OpenStream(ctx, l.deviceID, protocol.StreamFileDownload, protocol.FileDownloadArgs{Path: filepath.Join(l.dir, ConfigFile)})
	if err != nil {
		t.Fatalf("file download in lock mode: %v", err)
	}
	s.Close()
}

// TestActionsNotSignedByThePinnedKeyRefused: a server (or a database row)
// signing with another key than the one the agent pinned, or with a stale
// clock, runs nothing; the agent says why.
func TestActionsNotSignedByThePinnedKeyRefused(t *testing.T) {
	l := startLive(t, liveOpts{pinOther: true})
	ctx := ctxT(t)
	err := l.hub.Do(ctx, l.deviceID, protocol.CommandRunChecks, nil, nil)
	wantCode(t, "other key", err, protocol.CodeBadSignature)
	_, err = l.hub.OpenStream(ctx, l.deviceID, protocol.StreamFileDownload, protocol.FileDownloadArgs{Path: os.DevNull})
	wantCode(t, "other key stream", err, protocol.CodeBadSignature)

	old := startLive(t, liveOpts{signAgo: time.Hour})
	err = old.hub.Do(ctx, old.deviceID, protocol.CommandRunChecks, nil, nil)
	wantCode(t, "expired", err, protocol.CodeExpired)
}

func TestFileDownloadStream(t *testing.T) {
	l := startLive(t, liveOpts{})
	ctx := ctxT(t)
	want := make([]byte, 3<<20+12345)
	rand.Read(want)
	path := filepath.Join(t.TempDir(), "Größe mit Leerzeichen.bin")
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := l.hub.OpenStream(ctx, l.deviceID, protocol.StreamFileDownload, protocol.FileDownloadArgs{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	var info protocol.FileInfo
	if err := json.Unmarshal(s.Meta, &info); err != nil || info.Size != int64(len(want)) || info.Name != filepath.Base(path) {
		t.Errorf("meta %s: %v", s.Meta, err)
	}
	got, err := io.ReadAll(s)
	if err != nil || sha256.Sum256(got) != sha256.Sum256(want) {
		t.Errorf("downloaded %d bytes of %d, %v", len(got), len(want), err)
	}
	_, err = l.hub.OpenStream(ctx, l.deviceID, protocol.StreamFileDownload, protocol.FileDownloadArgs{Path: path + ".fehlt"})
	wantCode(t, "missing file", err, protocol.CodeNotFound)
	wantCode(t, "stream type as action", l.hub.Do(ctx, l.deviceID, protocol.StreamFileDownload, protocol.FileDownloadArgs{Path: path}, nil), protocol.CodeUnknownAction)
	waitLive(t, "stream handler ended", func() bool { return l.streams.Load() == 0 })
}

// TestHotStreamKeepsControlFlowing: while a stream sends as fast as it can
// and the server reads it, actions still get through.
func TestHotStreamKeepsControlFlowing(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/dev/zero")
	}
	l := startLive(t, liveOpts{})
	ctx := ctxT(t)
	s, err := l.hub.OpenStream(ctx, l.deviceID, protocol.StreamFileDownload, protocol.FileDownloadArgs{Path: "/dev/zero"})
	if err != nil {
		t.Fatal(err)
	}
	var read atomic.Int64
	go func() {
		n, _ := io.Copy(io.Discard, s)
		read.Add(n)
	}()
	for i := range 20 {
		if err := l.hub.Do(ctx, l.deviceID, actionEcho, i, nil); err != nil {
			t.Fatalf("action %d during a hot stream: %v", i, err)
		}
	}
	s.Close()
	waitLive(t, "agent ended the stream", func() bool { return l.streams.Load() == 0 })
}

func BenchmarkActionRoundTrip(b *testing.B) {
	l := startLive(b, liveOpts{})
	ctx := ctxT(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := l.hub.Do(ctx, l.deviceID, actionEcho, i, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStreamThroughput(b *testing.B) {
	if runtime.GOOS != "linux" {
		b.Skip("/dev/zero")
	}
	l := startLive(b, liveOpts{})
	ctx := ctxT(b)
	s, err := l.hub.OpenStream(ctx, l.deviceID, protocol.StreamFileDownload, protocol.FileDownloadArgs{Path: "/dev/zero"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const chunk = 1 << 20
	b.SetBytes(chunk)
	b.ResetTimer()
	for b.Loop() {
		if _, err := io.CopyN(io.Discard, s, chunk); err != nil {
			b.Fatal(err)
		}
	}
}
