//go:build unix

package agent

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
)

// serveFile makes fs serve data on the server's real blob route and
// returns its reference, with a ticket for fs's device.
func serveFile(t *testing.T, fs *fakeServer, data []byte) BlobRef {
	t.Helper()
	st, err := blobs.Open(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	sum, size, err := st.Put(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	tickets := blobs.NewTickets(key)
	h := blobs.Handler(st, tickets, blobLookup{device: fs.deviceID, files: map[string]bool{sum: true}}, slog.New(slog.DiscardHandler))
	fs.blobs.Store(&h)
	return BlobRef{SHA256: sum, Size: size, Ticket: tickets.Issue(fs.deviceID, sum, time.Now().Add(time.Hour))}
}

// swEnv is a desired software state test: the installer script of
// install_unix_test.go served by the fake server, and its marker file.
type swEnv struct {
	t      *testing.T
	dir    string
	fs     *fakeServer
	ref    BlobRef
	marker string
}

func newSwEnv(t *testing.T, script string, tweak func(*Config)) *swEnv {
	dir, fs := enrolledDir(t, tweak)
	return &swEnv{t: t, dir: dir, fs: fs, ref: serveFile(t, fs, []byte(script)), marker: filepath.Join(t.TempDir(), "installed")}
}

const swCheck = "software-5"

// entry is the package in state, its installer run with params.
func (e *swEnv) entry(state string, params map[string]string) protocol.Software {
	p := map[string]string{"MARKER": e.marker}
	for k, v := range params {
		p[k] = v
	}
	op := "install"
	if state == core.SoftwareAbsent {
		op = "remove"
	}
	return protocol.Software{Check: swCheck, State: state, Package: protocol.PackageArgs{PackageID: 5, Name: "Testagent", Version: "1.0", Kind: core.PkgUpload,
		File:      &protocol.PackageFile{SHA256: e.ref.SHA256, Size: e.ref.Size, Name: "install.sh", Ticket: e.ref.Ticket},
		Command:   []string{"/bin/sh", "{{file}}", op},
		Params:    p,
		Detection: core.Detection{Kind: core.DetectFile, Path: e.marker}}}
}

// runs is how often the installer ran.
func (e *swEnv) runs() int {
	b, _ := os.ReadFile(e.marker + ".count")
	return bytes.Count(b, []byte("run"))
}

// results are the entry's results, in arrival order, each once.
func (e *swEnv) results() []core.Result {
	var out []core.Result
	seen := map[string]bool{}
	for _, r := range e.fs.results() {
		if r.Check == swCheck && !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	return out
}

// wait waits for the entry's n-th result and returns it.
func (e *swEnv) wait(n int) core.Result {
	e.t.Helper()
	waitLive(e.t, "result "+strconv.Itoa(n)+" of "+swCheck, func() bool { return len(e.results()) >= n })
	return e.results()[n-1]
}

// idle waits until the entry's check has ended: a check asked for while
// one runs is answered by the running one.
func (e *swEnv) idle(ta *testAgent) {
	e.t.Helper()
	waitLive(e.t, swCheck+" idle", func() bool {
		ta.software.mu.Lock()
		defer ta.software.mu.Unlock()
		return !ta.software.running[swCheck]
	})
}

func wantResult(t *testing.T, r core.Result, status core.Status, en, de string) {
	t.Helper()
	if r.Status != status || !strings.Contains(r.Message.EN, en) || !strings.Contains(r.Message.DE, de) || r.Key != "" {
		t.Errorf("result %v %q / %q, want %v with %q / %q", r.Status, r.Message.EN, r.Message.DE, status, en, de)
	}
}

// TestSoftwarePresentDriftAbsent: a policy that wants the package
// installs it through the real blob route and reports ok; the package
// removed by hand turns the result red at the next check and is
// installed again; a policy that wants it absent removes it; an entry
// gone from the policy is no longer enforced (nothing is removed).
func TestSoftwarePresentDriftAbsent(t *testing.T) {
	e := newSwEnv(t, installer, nil)
	storePolicy(t, e.dir, protocol.Policy{Revision: "p1", Software: []protocol.Software{e.entry(core.SoftwarePresent, nil)}})
	ta := runIn(t, e.dir, e.fs)

	wantResult(t, e.wait(1), core.StatusFailure, "Testagent is not installed; installing it now (run t-sw-software-5-", "Testagent ist nicht installiert; wird jetzt installiert")
	wantResult(t, e.wait(2), core.StatusOK, "Testagent installed", "Testagent installiert")
	if e.runs() != 1 {
		t.Fatalf("the installer ran %d times", e.runs())
	}

	os.Remove(e.marker)
	e.idle(ta)
	runChecks(t, ta, "c1") // a check now: the drift is found at once
	wantResult(t, e.wait(3), core.StatusFailure, "Testagent is not installed; installing it now", "wird jetzt installiert")
	wantResult(t, e.wait(4), core.StatusOK, "Testagent installed", "Testagent installiert")
	if _, err := os.Stat(e.marker); err != nil || e.runs() != 2 {
		t.Fatalf("not installed again: %v, %d runs", err, e.runs())
	}

	e.fs.commands <- policyEnvelope(t, e.fs, protocol.Policy{Revision: "p2", Software: []protocol.Software{e.entry(core.SoftwareAbsent, nil)}})
	wantResult(t, e.wait(5), core.StatusFailure, "Testagent is installed but must be absent; removing it now", "Testagent ist installiert, soll aber fehlen; wird jetzt entfernt")
	wantResult(t, e.wait(6), core.StatusOK, "Testagent absent as required", "Testagent fehlt wie verlangt")
	if _, err := os.Stat(e.marker); err == nil || e.runs() != 3 {
		t.Fatalf("not removed: %d runs", e.runs())
	}

	e.fs.commands <- policyEnvelope(t, e.fs, protocol.Policy{Revision: "p3"})
	runChecks(t, ta, "c2") // the policy is applied once the command is answered
	os.WriteFile(e.marker, []byte("1.0"), 0o600)
	runChecks(t, ta, "c3")
	ta.stop(t)
	if _, err := os.Stat(e.marker); err != nil || e.runs() != 3 || len(e.results()) != 6 {
		t.Errorf("an entry gone from the policy was enforced: %v, %d runs, %d results", err, e.runs(), len(e.results()))
	}
	if b, _ := os.ReadFile(softwarePath(e.dir)); strings.Contains(string(b), swCheck) {
		t.Errorf("software.json keeps the removed entry: %s", b)
	}
}

// TestSoftwareBackoff: a failed install waits 15 minutes, then 30; the
// waits survive a restart; exit code "retry" (another installation
// running) waits 10 minutes without growing the back-off; a changed entry
// starts afresh; an installer that exits 0 but leaves nothing the
// detection rule finds has failed. The back-off runs on a fake clock.
func TestSoftwareBackoff(t *testing.T) {
	e := newSwEnv(t, installer, nil)
	clock := &fakeClock{} // rotate_test.go's
	clock.ns.Store(time.Date(2026, 1, 5, 10, 0, 0, 0, time.Local).UnixNano())
	withClock := func(o *Options) { o.Now = clock.now }
	storePolicy(t, e.dir, protocol.Policy{Revision: "b1", Software: []protocol.Software{e.entry(core.SoftwarePresent, map[string]string{"CODE": "1", "NOMARK": "1"})}})
	ta := runIn(t, e.dir, e.fs, withClock)

	e.wait(1) // installing
	wantResult(t, e.wait(2), core.StatusFailure, "Testagent is not installed: The installer exited with code 1. Next attempt at 10:15.",
		"Testagent ist nicht installiert: Das Installationsprogramm endete mit Code 1. Nächster Versuch um 10:15.")
	e.idle(ta)
	runChecks(t, ta, "c1") // checked again before the wait ended: nothing runs
	wantResult(t, e.wait(3), core.StatusFailure, "Next attempt at 10:15.", "Nächster Versuch um 10:15.")
	if e.runs() != 1 {
		t.Fatalf("ran %d times within the back-off", e.runs())
	}

	e.idle(ta)
	clock.add(15 * time.Minute) // the back-off ends: the next check attempts
	runChecks(t, ta, "c2")
	e.wait(4) // installing
	wantResult(t, e.wait(5), core.StatusFailure, "exited with code 1. Next attempt at 10:45.", "Nächster Versuch um 10:45.")
	ta.stop(t)

	ta = runIn(t, e.dir, e.fs, withClock) // restarted: the back-off stays
	wantResult(t, e.wait(6), core.StatusFailure, "exited with code 1. Next attempt at 10:45.", "Nächster Versuch um 10:45.")
	if e.runs() != 2 {
		t.Fatalf("ran %d times, want 2", e.runs())
	}

	// A changed entry starts afresh; 11 means "retry".
	busy := e.entry(core.SoftwarePresent, map[string]string{"CODE": "11", "NOMARK": "1"})
	busy.Package.ExitCodes = map[int]string{0: core.ExitOK, 11: core.ExitRetry}
	e.fs.commands <- policyEnvelope(t, e.fs, protocol.Policy{Revision: "b2", Software: []protocol.Software{busy}})
	e.wait(7)
	wantResult(t, e.wait(8), core.StatusFailure, "Another installation is running (exit code 11); try again later. Next attempt at 10:25.",
		"Eine andere Installation läuft (Exitcode 11); später erneut versuchen. Nächster Versuch um 10:25.")
	if r := ta.software.get(busy); r.Failures != 0 {
		t.Errorf("retry grew the back-off: %+v", r)
	}

	// Exit 0, nothing found: failed, not ok.
	quiet := e.entry(core.SoftwarePresent, map[string]string{"NOMARK": "1"})
	e.fs.commands <- policyEnvelope(t, e.fs, protocol.Policy{Revision: "b3", Software: []protocol.Software{quiet}})
	e.wait(9)
	wantResult(t, e.wait(10), core.StatusFailure, "exited with 0, but the detection rule (file "+e.marker+") finds nothing. Next attempt at 10:30.", "findet nichts")
	ta.stop(t)
	if e.runs() != 4 {
		t.Errorf("ran %d times, want 4", e.runs())
	}
}

// TestSoftwareRestartNeeded: an install whose exit code means "restart
// needed" is reported as a warning, and stays one at the next check while
// the host has not booted since.
func TestSoftwareRestartNeeded(t *testing.T) {
	e := newSwEnv(t, installer, nil)
	sw := e.entry(core.SoftwarePresent, map[string]string{"CODE": "10"})
	sw.Package.ExitCodes = map[int]string{0: core.ExitOK, 10: core.ExitReboot}
	storePolicy(t, e.dir, protocol.Policy{Revision: "r1", Software: []protocol.Software{sw}})
	ta := runIn(t, e.dir, e.fs)
	e.wait(1) // installing
	wantResult(t, e.wait(2), core.StatusWarning, "Testagent installed; a restart is needed to finish it", "ein Neustart ist nötig")
	e.idle(ta)
	runChecks(t, ta, "c1")
	wantResult(t, e.wait(3), core.StatusWarning, "Testagent installed; a restart is needed", "Neustart")
	ta.stop(t)
	if e.runs() != 1 {
		t.Errorf("the installer ran %d times", e.runs())
	}
}

// slowInstaller waits for $RELEASE before it installs.
const slowInstaller = `#!/bin/sh
echo run >> "$MARKER.count"
echo $$ > "$MARKER.pid"
[ -e "$RELEASE" ] || sleep 600
echo 1.0 > "$MARKER"
`

// TestSoftwareKilledMidInstall: an agent killed (SIGKILL) while it
// installs does not run that attempt again; the next agent reports it as
// interrupted and waits out the back-off.
func TestSoftwareKilledMidInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an agent process")
	}
	e := newSwEnv(t, slowInstaller, nil)
	release := filepath.Join(t.TempDir(), "release")
	storePolicy(t, e.dir, protocol.Policy{Revision: "k1", Software: []protocol.Software{e.entry(core.SoftwarePresent, map[string]string{"RELEASE": release})}})
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperAgentProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WACHT_TEST_AGENT_DIR="+e.dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := func() int {
		b, _ := os.ReadFile(e.marker + ".pid")
		p, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return p
	}
	waitLive(t, "installer running", func() bool { return pid() > 0 })
	cmd.Process.Kill()
	cmd.Wait()
	syscall.Kill(-pid(), syscall.SIGKILL) // as a reboot would
	if err := os.WriteFile(release, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	ta := runIn(t, e.dir, e.fs)
	// The killed agent's "installing" result may come first, from its
	// spool.
	var r core.Result
	waitLive(t, "the interrupted attempt reported", func() bool {
		rs := e.results()
		if len(rs) == 0 {
			return false
		}
		r = rs[len(rs)-1]
		return !strings.Contains(r.Message.EN, "installing it now")
	})
	wantResult(t, r, core.StatusFailure, "Testagent is not installed: The attempt t-sw-software-5-", "Der Versuch t-sw-software-5-")
	if !strings.Contains(r.Message.EN, "was interrupted") || !strings.Contains(r.Message.EN, "Next attempt at") {
		t.Errorf("after the restart: %q", r.Message.EN)
	}
	ta.stop(t)
	if e.runs() != 1 {
		t.Errorf("the interrupted attempt ran %d times", e.runs())
	}
}

// TestSoftwareRefused: lock mode and the local software lock refuse the
// desired state (it runs code of the server's choice), reported as an
// error with the reason; a rule this OS cannot evaluate is an error too,
// never ok. Nothing runs.
func TestSoftwareRefused(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	e := newSwEnv(t, installer, func(c *Config) { c.ScriptSigner = pub })
	storePolicy(t, e.dir, protocol.Policy{Revision: "l1", Software: []protocol.Software{e.entry(core.SoftwarePresent, nil)}})
	ta := runIn(t, e.dir, e.fs)
	wantResult(t, e.wait(1), core.StatusError, "The desired state of Testagent is not enforced: Refused: this device is in lock mode", "Sperrmodus")
	ta.stop(t)

	cfg, _ := LoadConfig(e.dir)
	cfg.ScriptSigner, cfg.Disable = nil, []string{protocol.LockSoftware}
	if err := SaveConfig(e.dir, cfg); err != nil {
		t.Fatal(err)
	}
	ta = runIn(t, e.dir, e.fs)
	wantResult(t, e.wait(2), core.StatusError, `"package_install" is disabled on this device (local lock "software")`, "gesperrt")
	ta.stop(t)

	// A file's version is Windows-only: a minimum version cannot be
	// checked here.
	os.WriteFile(e.marker, []byte("1.0"), 0o600)
	cfg.Disable = nil
	if err := SaveConfig(e.dir, cfg); err != nil {
		t.Fatal(err)
	}
	min := e.entry(core.SoftwarePresent, nil)
	min.MinVersion = "2.0"
	storePolicy(t, e.dir, protocol.Policy{Revision: "l2", Software: []protocol.Software{min}})
	ta = runIn(t, e.dir, e.fs)
	wantResult(t, e.wait(3), core.StatusError, "Cannot tell whether Testagent is installed (unsupported)", "lässt sich nicht feststellen")
	ta.stop(t)
	if e.runs() != 0 {
		t.Errorf("the installer ran %d times", e.runs())
	}
}
