//go:build unix

package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/scriptsign"
)

// fileCheck fails while its file is missing: a check a task can fix.
type fileCheck struct{ Path string }

func (c fileCheck) Run(_ context.Context, r check.Reporter) error {
	if _, err := os.Stat(c.Path); err != nil {
		r.Report(check.Result{Status: core.StatusFailure, Message: core.Text{EN: "missing", DE: "fehlt"}})
		return nil
	}
	r.Report(check.Result{Status: core.StatusOK, Message: core.Text{EN: "there", DE: "da"}})
	return nil
}

func init() {
	check.Register(&check.Spec{Name: "agenttest-file"}, func(params json.RawMessage) (check.Check, error) {
		var c fileCheck
		err := json.Unmarshal(params, &c)
		return c, err
	})
}

// enrolledDir is a data folder enrolled against a new fake server, with
// cfg changed by tweak (lock mode, local locks).
func enrolledDir(t *testing.T, tweak func(*Config)) (string, *fakeServer) {
	t.Helper()
	return enrollAt(t, t.TempDir(), tweak)
}

// enrollAt enrolls the data folder dir like enrolledDir.
func enrollAt(t *testing.T, dir string, tweak func(*Config)) (string, *fakeServer) {
	t.Helper()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	fs := newFakeServer(t, pub)
	if err := SaveKey(dir, key); err != nil {
		t.Fatal(err)
	}
	cfg := Config{ServerURL: fs.srv.URL, Fingerprint: protocol.Fingerprint(fs.srv.Certificate().Raw), DeviceID: fs.deviceID, ActionKey: fs.signer.Public()}
	if tweak != nil {
		tweak(&cfg)
	}
	if err := SaveConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	return dir, fs
}

// runIn runs an agent on an enrolled data folder until the test ends,
// with its options changed by tweaks.
func runIn(t *testing.T, dir string, fs *fakeServer, tweaks ...func(*Options)) *testAgent {
	t.Helper()
	opts := Options{DataDir: dir, BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		AckTimeout: 30 * time.Second, HealthyAfter: time.Hour}
	for _, tw := range tweaks {
		tw(&opts)
	}
	a, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ta := &testAgent{Agent: a, dir: dir, fs: fs, cancel: cancel, done: make(chan error, 1)}
	go func() { ta.done <- a.Run(ctx) }()
	t.Cleanup(func() { ta.stop(t) })
	return ta
}

// storePolicy makes p the policy the agent in dir runs from its start.
func storePolicy(t *testing.T, dir string, p protocol.Policy) {
	t.Helper()
	if err := savePolicy(dir, storedPolicy{Policy: p, Issued: time.Now()}); err != nil {
		t.Fatal(err)
	}
}

func shTask(name string, s core.TaskSchedule, body string, params map[string]string) protocol.Task {
	return protocol.Task{Name: name, ScriptID: 7, ScriptVersion: 3, ScriptName: name, Schedule: s,
		Script: protocol.ScriptArgs{Language: "sh", Body: body, Params: params}}
}

// taskRun is one reported task run with its result.
type taskRun struct {
	core.Result
	Run protocol.TaskRun
}

// taskRuns returns the reported runs of task name, in arrival order.
func taskRuns(fs *fakeServer, name string) []taskRun {
	var out []taskRun
	seen := map[string]bool{}
	for _, r := range fs.results() {
		if r.Check != name || r.Key != protocol.TaskResultKey {
			continue
		}
		tr, ok := protocol.ReadTaskRun(r.Data)
		// The fake server keeps a batch resent after a stop that came
		// before its ack; the real one stores it once.
		if !ok || seen[tr.RunID] {
			continue
		}
		seen[tr.RunID] = true
		out = append(out, taskRun{Result: r, Run: tr})
	}
	return out
}

func lines(t *testing.T, path string) int {
	t.Helper()
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

// TestTasksRunAndReport: a pushed policy's tasks run (a new interval
// task at once, a start task at start) and each run is reported with its
// exit code, output and run ID; a failing and a timed-out task report
// failure. After a restart the interval task is not due again, the start
// task runs again.
func TestTasksRunAndReport(t *testing.T) {
	dir, fs := enrolledDir(t, nil)
	ta := runIn(t, dir, fs)
	tmp := t.TempDir()
	every := shTask("cleanup", core.TaskSchedule{Kind: core.TaskInterval, EveryMinutes: 60},
		"echo run >> \"$COUNTER\"\necho \"Aufgeräumt: $WHAT\"\necho note >&2\n", map[string]string{"COUNTER": filepath.Join(tmp, "every"), "WHAT": "Temp"})
	start := shTask("at-start", core.TaskSchedule{Kind: core.TaskAtStart}, "echo run >> \"$COUNTER\"; exit 3", map[string]string{"COUNTER": filepath.Join(tmp, "start")})
	slow := shTask("slow", core.TaskSchedule{Kind: core.TaskInterval, EveryMinutes: 60}, "sleep 600", nil)
	slow.Script.TimeoutSeconds = 1
	fixOnly := shTask("fix-only", core.TaskSchedule{Kind: core.TaskFixOnly}, "echo never >> \"$COUNTER\"", map[string]string{"COUNTER": filepath.Join(tmp, "fix")})
	fixOnly.FixCheck = "nothing"
	fs.commands <- policyEnvelope(t, fs, protocol.Policy{Revision: "t1", Tasks: []protocol.Task{every, start, slow, fixOnly}})

	waitLive(t, "three task runs reported", func() bool {
		return len(taskRuns(fs, "cleanup")) == 1 && len(taskRuns(fs, "at-start")) == 1 && len(taskRuns(fs, "slow")) == 1
	})
	c := taskRuns(fs, "cleanup")[0]
	if c.Status != core.StatusOK || c.Message.EN != "Exit code 0: Aufgeräumt: Temp" || c.Message.DE != "Exitcode 0: Aufgeräumt: Temp" ||
		c.Run.ExitCode == nil || *c.Run.ExitCode != 0 || c.Run.Stdout != "Aufgeräumt: Temp\n" || c.Run.Stderr != "note\n" ||
		c.Run.Trigger != protocol.TriggerSchedule || c.Run.ScriptID != 7 || c.Run.ScriptVersion != 3 ||
		c.Run.RunID != protocol.TaskRunID("cleanup", protocol.TriggerSchedule, c.Run.Due) {
		t.Errorf("cleanup run: %+v %+v", c.Result, c.Run)
	}
	s := taskRuns(fs, "at-start")[0]
	if s.Status != core.StatusFailure || s.Run.ExitCode == nil || *s.Run.ExitCode != 3 || s.Run.Trigger != protocol.TriggerStart {
		t.Errorf("start run: %+v %+v", s.Result, s.Run)
	}
	sl := taskRuns(fs, "slow")[0]
	if sl.Status != core.StatusFailure || !sl.Run.TimedOut || sl.Run.ExitCode != nil || sl.Run.ErrorCode != protocol.CodeTimeout ||
		!strings.Contains(sl.Message.EN, "did not finish within 1s") || !strings.Contains(sl.Message.DE, "nicht innerhalb von 1s") {
		t.Errorf("timed-out run: %+v %+v", sl.Result, sl.Run)
	}
	if lines(t, filepath.Join(tmp, "fix")) != 0 || len(taskRuns(fs, "fix-only")) != 0 {
		t.Error("a fix-only task ran without its check failing")
	}
	ta.stop(t)

	// Restarted: the start task runs for the new start, the interval task
	// is not due for an hour.
	ta = runIn(t, dir, fs)
	waitLive(t, "start task ran again", func() bool { return len(taskRuns(fs, "at-start")) == 2 })
	if runs := taskRuns(fs, "at-start"); runs[0].Run.RunID == runs[1].Run.RunID {
		t.Errorf("two starts share the run ID %s", runs[0].Run.RunID)
	}
	ta.stop(t)
	if n := lines(t, filepath.Join(tmp, "every")); n != 1 {
		t.Errorf("the interval task ran %d times across a restart", n)
	}
}

// TestHelperAgentProcess is the agent process TestTaskKilledMidRun kills.
func TestHelperAgentProcess(t *testing.T) {
	dir := os.Getenv("WACHT_TEST_AGENT_DIR")
	if dir == "" {
		t.Skip("helper process of TestTaskKilledMidRun")
	}
	a, err := New(Options{DataDir: dir, BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	a.Run(context.Background()) // until killed
}

// TestTaskKilledMidRun: an agent process killed (SIGKILL) while a task
// runs does not run that occurrence again; the next agent reports it as
// interrupted. A task with RunAgain runs it again.
func TestTaskKilledMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an agent process")
	}
	dir, fs := enrolledDir(t, nil)
	tmp := t.TempDir()
	release := filepath.Join(tmp, "release")
	body := "echo run >> \"$COUNTER\"\necho $$ > \"$PIDFILE\"\n[ -e \"$RELEASE\" ] || sleep 600\necho fertig\n"
	param := func(name string) map[string]string {
		return map[string]string{"COUNTER": filepath.Join(tmp, name+".count"), "PIDFILE": filepath.Join(tmp, name+".pid"), "RELEASE": release}
	}
	once := shTask("once", core.TaskSchedule{Kind: core.TaskDaily, At: "00:00"}, body, param("once"))
	again := shTask("again", core.TaskSchedule{Kind: core.TaskAtStart}, body, param("again"))
	again.RunAgain = true
	storePolicy(t, dir, protocol.Policy{Revision: "k1", Tasks: []protocol.Task{once, again}})
	// The daily task's 00:00 was missed: anchor it a day back, as if the
	// agent had run yesterday.
	recs := map[string]*taskRecord{"once": {Hash: taskHash(once.Schedule), Last: time.Now().Add(-25 * time.Hour)}}
	b, _ := json.Marshal(recs)
	if err := os.WriteFile(tasksPath(dir), b, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAgentProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WACHT_TEST_AGENT_DIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := func(name string) int {
		b, _ := os.ReadFile(filepath.Join(tmp, name+".pid"))
		p, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return p
	}
	waitLive(t, "both tasks running", func() bool { return pid("once") > 0 && pid("again") > 0 })
	cmd.Process.Kill()
	cmd.Wait()
	// SIGKILL leaves the scripts' process groups; end them as a reboot would.
	for _, n := range []string{"once", "again"} {
		syscall.Kill(-pid(n), syscall.SIGKILL)
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	ta := runIn(t, dir, fs)
	waitLive(t, "both runs reported", func() bool {
		return len(taskRuns(fs, "once")) == 1 && len(taskRuns(fs, "again")) >= 1
	})
	o := taskRuns(fs, "once")[0]
	if o.Status != core.StatusError || o.Run.ErrorCode != protocol.CodeInterrupted || o.Run.ExitCode != nil ||
		!strings.Contains(o.Message.EN, "interrupted") || !strings.Contains(o.Message.DE, "unterbrochen") {
		t.Errorf("killed run: %+v %+v", o.Result, o.Run)
	}
	a := taskRuns(fs, "again")[0]
	if a.Status != core.StatusOK || a.Run.Stdout != "fertig\n" {
		t.Errorf("run again: %+v %+v", a.Result, a.Run)
	}
	ta.stop(t)
	if n := lines(t, filepath.Join(tmp, "once.count")); n != 1 {
		t.Errorf("the killed occurrence ran %d times", n)
	}
	// again: the killed run, its repeat, and this start's own run.
	waitLive(t, "again's runs counted", func() bool { return lines(t, filepath.Join(tmp, "again.count")) >= 2 })
	if len(fs.results()) == 0 || len(taskRuns(fs, "once")) != 1 {
		t.Errorf("once reported %d times", len(taskRuns(fs, "once")))
	}
}

// TestTaskFixesFailingCheck: a failing check starts its fix task at
// once; the check runs again after the fix and its new status goes with
// the task's run; fixes stop at the task's daily cap.
func TestTaskFixesFailingCheck(t *testing.T) {
	dir, fs := enrolledDir(t, nil)
	tmp := t.TempDir()
	flag, counter := filepath.Join(tmp, "flag"), filepath.Join(tmp, "count")
	params, _ := json.Marshal(fileCheck{Path: flag})
	// The first fix does not help, the second does.
	fix := shTask("restart-spooler", core.TaskSchedule{Kind: core.TaskFixOnly},
		"echo run >> \"$COUNTER\"\nif [ $(wc -l < \"$COUNTER\") -ge 2 ]; then touch \"$FLAG\"; echo repariert; else echo versucht; exit 1; fi\n",
		map[string]string{"COUNTER": counter, "FLAG": flag})
	fix.FixCheck, fix.MaxPerDay = "spooler", 2
	storePolicy(t, dir, protocol.Policy{Revision: "f1",
		Checks: []core.PolicyCheck{{Name: "spooler", Type: "agenttest-file", Params: params, Schedule: core.Schedule{Class: core.Schedule24x7, EveryMinutes: 60}}},
		Tasks:  []protocol.Task{fix}})
	ta := runIn(t, dir, fs)

	waitLive(t, "first fix reported", func() bool { return len(taskRuns(fs, "restart-spooler")) == 1 })
	f := taskRuns(fs, "restart-spooler")[0]
	if f.Status != core.StatusFailure || f.Run.Trigger != protocol.TriggerFix || f.Run.FixCheck != "spooler" || f.Run.FixStatus != core.StatusFailure {
		t.Errorf("first fix: %+v %+v", f.Result, f.Run)
	}
	if got := runChecks(t, ta, "c1"); got != `{"checks":1}` {
		t.Fatalf("run-checks: %s", got)
	}
	waitLive(t, "second fix reported", func() bool { return len(taskRuns(fs, "restart-spooler")) == 2 })
	f = taskRuns(fs, "restart-spooler")[1]
	if f.Status != core.StatusOK || f.Run.FixStatus != core.StatusOK || f.Run.Stdout != "repariert\n" {
		t.Errorf("second fix: %+v %+v", f.Result, f.Run)
	}
	// The check's ok result follows the fix's run, so the outage closes
	// with the fix recorded.
	waitLive(t, "check ok after the fix", func() bool {
		rs := fs.results()
		for i, r := range rs {
			if r.Check == "spooler" && r.Key == "" && r.Status == core.StatusOK {
				return i > 0 && rs[i-1].ID == f.ID
			}
		}
		return false
	})

	// Failing again: the day's two fixes are used up.
	os.Remove(flag)
	if got := runChecks(t, ta, "c2"); got != `{"checks":1}` {
		t.Fatalf("run-checks: %s", got)
	}
	ta.tasks.mu.Lock()
	running, fixes := len(ta.tasks.running), ta.tasks.recs["restart-spooler"].Fixes
	ta.tasks.mu.Unlock()
	if running != 0 || fixes != 2 {
		t.Errorf("after the cap: %d tasks running, %d fixes counted", running, fixes)
	}
	ta.stop(t)
	if n := lines(t, counter); n != 2 {
		t.Errorf("the fix ran %d times, want 2 (its daily cap)", n)
	}
}

func scriptCheckEntry(t *testing.T, name string, sa protocol.ScriptArgs) core.PolicyCheck {
	t.Helper()
	params, err := json.Marshal(protocol.ScriptCheckParams{ScriptID: 9, ScriptVersion: 1, Script: sa})
	if err != nil {
		t.Fatal(err)
	}
	return core.PolicyCheck{Name: name, Type: protocol.CheckScript, Params: params, Schedule: core.Schedule{Class: core.Schedule24x7, EveryMinutes: 60}}
}

// checkResult returns the latest result of check name.
func checkResult(fs *fakeServer, name string) (core.Result, bool) {
	rs := fs.results()
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].Check == name && rs[i].Key != protocol.TaskResultKey {
			return rs[i], true
		}
	}
	return core.Result{}, false
}

// TestScriptChecks: script checks run as real processes map exit codes
// 0/1/2/3 to ok, warning, failure and error, take the message and value
// from the first line, and report a timeout as an error; none of their
// runs is journaled.
func TestScriptChecks(t *testing.T) {
	dir, fs := enrolledDir(t, nil)
	sh := func(body string) protocol.ScriptArgs { return protocol.ScriptArgs{Language: "sh", Body: body} }
	slow := sh("echo begonnen; sleep 600")
	slow.TimeoutSeconds = 1
	storePolicy(t, dir, protocol.Policy{Revision: "s1", Checks: []core.PolicyCheck{
		scriptCheckEntry(t, "s-ok", sh("echo 'Spooler läuft |jobs=3;items'")),
		scriptCheckEntry(t, "s-warn", sh("echo 'Queue long | queue=87.5%;80;90'; exit 1")),
		scriptCheckEntry(t, "s-fail", sh("echo 'Spooler stopped'; exit 2")),
		scriptCheckEntry(t, "s-unknown", sh("echo 'UNKNOWN: no data'; exit 3")),
		scriptCheckEntry(t, "s-slow", slow),
	}})
	ta := runIn(t, dir, fs)
	want := map[string]struct {
		status core.Status
		msg    string
		value  float64
		unit   string
	}{
		"s-ok":      {core.StatusOK, "Spooler läuft", 3, "items"},
		"s-warn":    {core.StatusWarning, "Queue long", 87.5, "%"},
		"s-fail":    {core.StatusFailure, "Spooler stopped", -1, ""},
		"s-unknown": {core.StatusError, "The script ended with exit code 3 (expected 0 ok, 1 warning, 2 failure): UNKNOWN: no data", -1, ""},
		"s-slow":    {core.StatusError, "The script did not finish within 1s and was stopped.", -1, ""},
	}
	waitLive(t, "every script check reported", func() bool {
		for name := range want {
			if _, ok := checkResult(fs, name); !ok {
				return false
			}
		}
		return true
	})
	for name, w := range want {
		r, _ := checkResult(fs, name)
		gotValue := -1.0
		if r.Value != nil {
			gotValue = *r.Value
		}
		if r.Status != w.status || r.Message.EN != w.msg || gotValue != w.value || r.Unit != w.unit {
			t.Errorf("%s: %v %q %v %q, want %+v", name, r.Status, r.Message.EN, gotValue, r.Unit, w)
		}
	}
	ta.stop(t)
	if des, _ := os.ReadDir(filepath.Join(dir, scriptsDir, scriptRunsDir)); len(des) != 0 {
		t.Errorf("script checks journaled %d runs", len(des))
	}
}

// TestTasksLockMode: with a script signer, an unsigned task and script
// check are refused and reported as such; signed ones run. With scripts
// locked locally nothing runs, and that is reported too.
func TestTasksLockMode(t *testing.T) {
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	dir, fs := enrolledDir(t, func(c *Config) { c.ScriptSigner = pub })
	tmp := t.TempDir()
	body := "touch \"$MARKER\"; echo signiert"
	unsigned := shTask("unsigned", core.TaskSchedule{Kind: core.TaskAtStart}, body, map[string]string{"MARKER": filepath.Join(tmp, "unsigned")})
	signed := shTask("signed", core.TaskSchedule{Kind: core.TaskAtStart}, body, map[string]string{"MARKER": filepath.Join(tmp, "signed")})
	signed.Script.Signature = scriptsign.Sign(key, "sh", body)
	checkBody := "echo geprüft"
	signedCheck := protocol.ScriptArgs{Language: "sh", Body: checkBody, Signature: scriptsign.Sign(key, "sh", checkBody)}
	storePolicy(t, dir, protocol.Policy{Revision: "l1", Tasks: []protocol.Task{unsigned, signed},
		Checks: []core.PolicyCheck{
			scriptCheckEntry(t, "check-unsigned", protocol.ScriptArgs{Language: "sh", Body: checkBody}),
			scriptCheckEntry(t, "check-signed", signedCheck),
		}})
	ta := runIn(t, dir, fs)
	waitLive(t, "lock mode results", func() bool {
		_, a := checkResult(fs, "check-unsigned")
		_, b := checkResult(fs, "check-signed")
		return a && b && len(taskRuns(fs, "unsigned")) == 1 && len(taskRuns(fs, "signed")) == 1
	})
	u := taskRuns(fs, "unsigned")[0]
	if u.Status != core.StatusError || u.Run.ErrorCode != protocol.CodeScriptSigner || !strings.Contains(u.Message.EN, "lock mode") || !strings.Contains(u.Message.DE, "Sperrmodus") {
		t.Errorf("unsigned task: %+v %+v", u.Result, u.Run)
	}
	if s := taskRuns(fs, "signed")[0]; s.Status != core.StatusOK || s.Run.Stdout != "signiert\n" {
		t.Errorf("signed task: %+v %+v", s.Result, s.Run)
	}
	if r, _ := checkResult(fs, "check-unsigned"); r.Status != core.StatusError || !strings.Contains(r.Message.EN, "lock mode") {
		t.Errorf("unsigned script check: %+v", r)
	}
	if r, _ := checkResult(fs, "check-signed"); r.Status != core.StatusOK || r.Message.EN != "geprüft" {
		t.Errorf("signed script check: %+v", r)
	}
	ta.stop(t)
	if _, err := os.Stat(filepath.Join(tmp, "unsigned")); err == nil {
		t.Error("the unsigned task ran")
	}

	// Scripts locked locally: the signed task is refused as well.
	cfg, _ := LoadConfig(dir)
	cfg.Disable = []string{protocol.LockScripts}
	if err := SaveConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(tmp, "signed"))
	ta = runIn(t, dir, fs)
	runChecks(t, ta, "c1") // the checks' hour has not passed
	waitLive(t, "locked run and check reported", func() bool {
		r, _ := checkResult(fs, "check-signed")
		return len(taskRuns(fs, "signed")) == 2 && r.Status == core.StatusError
	})
	if r, _ := checkResult(fs, "check-signed"); !strings.Contains(r.Message.EN, "disabled on this device") || !strings.Contains(r.Message.DE, "gesperrt") {
		t.Errorf("locally locked script check: %+v", r)
	}
	if s := taskRuns(fs, "signed")[1]; s.Status != core.StatusError || s.Run.ErrorCode != protocol.CodeDisabledLocally || !strings.Contains(s.Message.DE, "gesperrt") {
		t.Errorf("locally locked task: %+v %+v", s.Result, s.Run)
	}
	ta.stop(t)
	if _, err := os.Stat(filepath.Join(tmp, "signed")); err == nil {
		t.Error("a task ran though scripts are locked locally")
	}
}

// TestTaskDoesNotBlockChecks: while a task runs, checks run and are
// delivered, and the same task does not start a second time.
func TestTaskDoesNotBlockChecks(t *testing.T) {
	dir, fs := enrolledDir(t, nil)
	tmp := t.TempDir()
	release, started := filepath.Join(tmp, "release"), filepath.Join(tmp, "started")
	long := shTask("long", core.TaskSchedule{Kind: core.TaskInterval, EveryMinutes: 60},
		"echo run >> \"$STARTED\"\nwhile [ ! -e \"$RELEASE\" ]; do sleep 0.05; done\n", map[string]string{"RELEASE": release, "STARTED": started})
	p := echoPolicy("b1", map[string]float64{"alpha": 1})
	p.Tasks = []protocol.Task{long}
	storePolicy(t, dir, p)
	ta := runIn(t, dir, fs)
	waitLive(t, "task started", func() bool { return lines(t, started) == 1 })
	for i := range 3 {
		if got := runChecks(t, ta, "c"+strconv.Itoa(i)); got != `{"checks":1}` {
			t.Fatalf("run-checks while a task runs: %s", got)
		}
	}
	waitLive(t, "check results delivered while the task runs", func() bool { return seen(fs, "alpha", 1) && len(taskRuns(fs, "long")) == 0 })
	ta.tasks.mu.Lock()
	running := ta.tasks.running["long"]
	ta.tasks.mu.Unlock()
	if !running || ta.tasks.begin("long", taskOccurrence{Trigger: protocol.TriggerSchedule, Due: time.Now()}) {
		t.Error("a second run of a running task could begin")
	}
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	waitLive(t, "task reported", func() bool { return len(taskRuns(fs, "long")) == 1 })
	ta.stop(t)
	if n := lines(t, started); n != 1 {
		t.Errorf("the task ran %d times", n)
	}
}
