//go:build unix

package agent

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/swdetect"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// installer is a real installer script: it counts its runs, prints the
// secret it got in the environment and on its command line, writes the
// marker the detection rule looks for (unless NOMARK), removes it when
// run with "remove", and exits with CODE.
const installer = `#!/bin/sh
echo run >> "$MARKER.count"
echo "env token=$token arg=$2"
if [ "$1" = remove ]; then rm -f "$MARKER"; elif [ -z "$NOMARK" ]; then echo 1.0 > "$MARKER"; fi
exit ${CODE:-0}
`

type installEnv struct {
	t      *testing.T
	bs     *blobServer
	ref    BlobRef
	runner *scriptRunner
	d      *Downloader
	marker string
}

func newInstallEnv(t *testing.T) *installEnv {
	bs, ref := newBlobServer(t, []byte(installer))
	dir := t.TempDir()
	return &installEnv{t: t, bs: bs, ref: ref, d: bs.downloader(t), marker: filepath.Join(dir, "installed"),
		runner: &scriptRunner{dir: filepath.Join(dir, scriptsDir), log: slog.New(slog.DiscardHandler), running: map[string]bool{}}}
}

// args installs the script as the package, with params for its behavior.
func (e *installEnv) args(runID string, params map[string]string) protocol.PackageArgs {
	p := map[string]string{"MARKER": e.marker}
	for k, v := range params {
		p[k] = v
	}
	return protocol.PackageArgs{RunID: runID, PackageID: 1, Name: "Testagent", Version: "1.0", Kind: core.PkgUpload,
		File:      &protocol.PackageFile{SHA256: e.ref.SHA256, Size: e.ref.Size, Name: "install.sh", Ticket: e.ref.Ticket},
		Command:   []string{"/bin/sh", "{{file}}", "install", "TOKEN={{token}}"},
		Params:    p,
		Secrets:   map[string]string{"token": "streng-geheim"},
		Detection: core.Detection{Kind: core.DetectFile, Path: e.marker}}
}

func (e *installEnv) run(pa protocol.PackageArgs, uninstall bool) (protocol.PackageResult, error) {
	e.t.Helper()
	if err := pa.Validate(); err != nil {
		e.t.Fatal(err)
	}
	return e.runner.runPackage(e.t.Context(), e.d, pa, uninstall)
}

// runs is how often the installer ran.
func (e *installEnv) runs() int {
	b, _ := os.ReadFile(e.marker + ".count")
	return bytes.Count(b, []byte("run"))
}

// TestInstallUpload installs a real installer script through the real
// blob route, sees it detected, masks the secret, and removes it again;
// a repeated run ID answers the recorded result without running twice.
func TestInstallUpload(t *testing.T) {
	e := newInstallEnv(t)
	pa := e.args("inst-1", nil)
	res, err := e.run(pa, false)
	if err != nil || res.Meaning != core.ExitOK || res.State != swdetect.StateInstalled || res.RebootNeeded || res.Code != "" {
		t.Fatalf("install: %+v, %v", res, err)
	}
	if want := "env token=•••• arg=TOKEN=••••\n"; res.Stdout != want || strings.Contains(res.Stdout, "streng") {
		t.Errorf("stdout %q, want %q", res.Stdout, want)
	}
	again, err := e.run(pa, false)
	if err != nil || !again.Duplicate || again.Meaning != core.ExitOK || e.runs() != 1 {
		t.Fatalf("repeated run ID: %+v, %v, installer ran %d times", again, err, e.runs())
	}
	un := e.args("uninst-1", nil)
	un.Command = []string{"/bin/sh", "{{file}}", "remove"}
	if res, err := e.run(un, true); err != nil || res.Meaning != core.ExitOK || res.State != swdetect.StateAbsent {
		t.Fatalf("uninstall: %+v, %v", res, err)
	}
	// An uninstaller that leaves the package is not OK.
	os.WriteFile(e.marker, []byte("1.0"), 0o600)
	un.RunID, un.Command = "uninst-2", []string{"/bin/true"}
	if res, err := e.run(un, true); err != nil || res.Meaning != core.ExitFailed || !strings.Contains(res.Message.EN, "still finds") {
		t.Fatalf("uninstall that left the package: %+v, %v", res, err)
	}
}

// TestInstallExitCodes: a reboot code needs a reboot, a retry code is
// retried later (not failed), an unknown code fails, and exit 0 without
// the package found is a failure, never OK. Unix exit statuses end at
// 255, so the real processes use the definition's own codes (as a
// vendor's installer documents them); TestPackageResultMSI maps the
// Windows Installer's.
func TestInstallExitCodes(t *testing.T) {
	e := newInstallEnv(t)
	codes := map[int]string{0: core.ExitOK, 10: core.ExitReboot, 11: core.ExitRetry}
	with := func(id string, params map[string]string) protocol.PackageArgs {
		pa := e.args(id, params)
		pa.ExitCodes = codes
		return pa
	}
	res, err := e.run(with("c-10", map[string]string{"CODE": "10"}), false)
	if err != nil || res.Meaning != core.ExitReboot || !res.RebootNeeded || res.ExitCode != 10 || res.State != swdetect.StateInstalled {
		t.Errorf("reboot: %+v, %v", res, err)
	}
	os.Remove(e.marker)
	res, err = e.run(with("c-11", map[string]string{"CODE": "11", "NOMARK": "1"}), false)
	if err != nil || res.Meaning != core.ExitRetry || res.Code != protocol.CodeBusy || res.Message.DE == "" {
		t.Errorf("retry: %+v, %v", res, err)
	}
	res, err = e.run(with("c-7", map[string]string{"CODE": "7"}), false)
	if err != nil || res.Meaning != core.ExitFailed || res.ExitCode != 7 {
		t.Errorf("exit 7: %+v, %v", res, err)
	}
	os.Remove(e.marker)
	res, err = e.run(with("c-0", map[string]string{"NOMARK": "1"}), false)
	if err != nil || res.Meaning != core.ExitFailed || res.State != swdetect.StateAbsent ||
		!strings.Contains(res.Message.EN, "exited with 0, but the detection rule (file "+e.marker+") finds nothing") {
		t.Errorf("exit 0, not detected: %+v, %v", res, err)
	}
}

// TestPackageResultMSI maps the Windows Installer's codes a package
// starts with: 3010 and 1641 installed with a reboot needed, 1618 retry.
func TestPackageResultMSI(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "installed")
	os.WriteFile(marker, []byte("1"), 0o600)
	pa := protocol.PackageArgs{Detection: core.Detection{Kind: core.DetectFile, Path: marker}}
	for code, want := range map[int]string{0: core.ExitOK, 3010: core.ExitReboot, 1641: core.ExitReboot, 1618: core.ExitRetry, 1603: core.ExitFailed} {
		res := packageResult(t.Context(), pa, false, protocol.ScriptResult{ExitCode: code}, nil)
		if res.Meaning != want || res.RebootNeeded != (want == core.ExitReboot) {
			t.Errorf("exit %d: %+v, want %s", code, res, want)
		}
	}
}

// TestInstallTampered: a download that does not match the signed SHA-256
// is refused and nothing runs, and the run ID stays free for a retry.
func TestInstallTampered(t *testing.T) {
	e := newInstallEnv(t)
	e.d.Attempts = 2
	e.bs.hook = func(_ int, w http.ResponseWriter, r *http.Request) bool {
		bad := strings.Replace(installer, "exit", "touch /tmp/x; exit", 1)[:len(installer)]
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(bad))
		return true
	}
	pa := e.args("t-1", nil)
	_, err := e.run(pa, false)
	wantCode(t, "tampered", err, protocol.CodeHashMismatch)
	if e.runs() != 0 {
		t.Fatal("the tampered installer ran")
	}
	e.bs.hook = nil
	if res, err := e.run(pa, false); err != nil || res.Meaning != core.ExitOK || e.runs() != 1 {
		t.Fatalf("retry with the right file: %+v, %v", res, err)
	}
}

// TestInstallInterrupted: a run the agent started but never finished (it
// stopped mid-install) is answered as interrupted, not run again.
func TestInstallInterrupted(t *testing.T) {
	e := newInstallEnv(t)
	if _, err := e.runner.claim("i-1"); err != nil {
		t.Fatal(err)
	}
	restarted := &scriptRunner{dir: e.runner.dir, log: e.runner.log, running: map[string]bool{}}
	_, err := restarted.runPackage(t.Context(), e.d, e.args("i-1", nil), false)
	wantCode(t, "after a restart", err, protocol.CodeInterrupted)
	if e.runs() != 0 {
		t.Fatal("the interrupted run ran again")
	}
}

// TestInstallRunIDOfAnotherAction: a run ID the journal holds for a
// script (or an install) does not run as another action.
func TestInstallRunIDOfAnotherAction(t *testing.T) {
	e := newInstallEnv(t)
	if _, err := e.runner.claim("o-1"); err != nil {
		t.Fatal(err)
	}
	e.runner.finish("o-1", "", protocol.ScriptResult{ExitCode: 0})
	_, err := e.run(e.args("o-1", nil), false)
	wantCode(t, "script's run ID", err, protocol.CodeBadArgs)
	if _, err := e.run(e.args("o-2", nil), false); err != nil {
		t.Fatal(err)
	}
	_, err = e.run(e.args("o-2", nil), true)
	wantCode(t, "install's run ID as uninstall", err, protocol.CodeBadArgs)
	if e.runs() != 1 {
		t.Fatalf("the installer ran %d times, want once", e.runs())
	}
}

// TestInstallTimeout: an installer that hangs is ended with its children
// and reported failed with the timeout.
func TestInstallTimeout(t *testing.T) {
	e := newInstallEnv(t)
	pa := e.args("h-1", nil)
	pa.Command = []string{"/bin/sh", "-c", "sleep 600 & wait"}
	pa.TimeoutSeconds = 1
	res, err := e.run(pa, false)
	if err != nil || !res.TimedOut || res.Meaning != core.ExitFailed || res.Code != protocol.CodeTimeout {
		t.Fatalf("hanging installer: %+v, %v", res, err)
	}
}

// TestInstallLockedLocally: a device whose local configuration disables
// software refuses both actions through the signed path.
func TestInstallLockedLocally(t *testing.T) {
	l := startLive(t, liveOpts{disable: []string{protocol.LockSoftware}})
	e := newInstallEnv(t)
	for _, action := range []string{protocol.ActionInstall, protocol.ActionUninstall} {
		err := l.hub.Do(ctxT(t), l.deviceID, action, e.args("l-1", nil), &json.RawMessage{})
		wantCode(t, action, err, protocol.CodeDisabledLocally)
	}
	if e.runs() != 0 {
		t.Fatal("a locked device ran the installer")
	}
}

// TestInstallLockMode: a device that runs only code signed by its script
// signer refuses packages, which carry no such signature.
func TestInstallLockMode(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	l := startLive(t, liveOpts{signer: pub})
	e := newInstallEnv(t)
	err := l.hub.Do(ctxT(t), l.deviceID, protocol.ActionInstall, e.args("s-1", nil), &json.RawMessage{})
	wantCode(t, "lock mode", err, protocol.CodeScriptSigner)
	if e.runs() != 0 {
		t.Fatal("a device in lock mode ran the installer")
	}
}

// TestInstallCommand runs a command package: no file is downloaded, the
// placeholders are filled in each argument on its own, and the detection
// rule decides as for every package.
func TestInstallCommand(t *testing.T) {
	e := newInstallEnv(t)
	pa := protocol.PackageArgs{RunID: "cmd-1", Name: "Settings", Version: "1", Kind: core.PkgCommand,
		Command: []string{"/bin/sh", "-c", `echo "$1" > "$2"; echo "$3" run >> "$2.count"`, "sh", "{{version}}", "{{marker}}", "{{token}}"},
		Params:  map[string]string{"version": "2.0; rm -rf /", "marker": e.marker}, Secrets: map[string]string{"token": "streng-geheim"},
		Detection: core.Detection{Kind: core.DetectFile, Path: e.marker}}
	res, err := e.run(pa, false)
	if err != nil || res.Meaning != core.ExitOK || res.State != swdetect.StateInstalled {
		t.Fatalf("command: %+v, %v", res, err)
	}
	if b, _ := os.ReadFile(e.marker); string(b) != "2.0; rm -rf /\n" || e.runs() != 1 {
		t.Errorf("marker %q, %d runs", b, e.runs())
	}
	if n := len(e.bs.requests()); n != 0 {
		t.Errorf("a command package made %d downloads", n)
	}
	un := pa
	un.RunID, un.Command = "cmd-2", []string{"/bin/rm", "{{marker}}"}
	if res, err := e.run(un, true); err != nil || res.Meaning != core.ExitOK || res.State != swdetect.StateAbsent {
		t.Fatalf("uninstall: %+v, %v", res, err)
	}
}

// TestInstallAuthenticodeUnsupported: outside Windows a package that
// requires an Authenticode signature is unsupported, nothing is
// downloaded or run, and the run ID stays free.
func TestInstallAuthenticodeUnsupported(t *testing.T) {
	e := newInstallEnv(t)
	pa := e.args("ac-1", nil)
	pa.RequireAuthenticode = true
	_, err := e.run(pa, false)
	wantCode(t, "authenticode on "+runtime.GOOS, err, protocol.CodeUnsupported)
	if e.runs() != 0 || len(e.bs.requests()) != 0 {
		t.Fatalf("ran %d times, %d downloads", e.runs(), len(e.bs.requests()))
	}
	if rec, err := e.runner.claim("ac-1"); rec != nil || err != nil {
		t.Errorf("the run ID was journaled: %+v, %v", rec, err)
	}
}

// TestInstallDiscardsDownload: a finished run deletes its download; the
// file of an installer that found another installation running is kept
// for the retry, which then needs no download.
func TestInstallDiscardsDownload(t *testing.T) {
	e := newInstallEnv(t)
	cached := filepath.Join(e.d.Dir, e.ref.SHA256)
	pa := e.args("d-1", map[string]string{"CODE": "11", "NOMARK": "1"})
	pa.ExitCodes = map[int]string{0: core.ExitOK, 11: core.ExitRetry}
	if res, err := e.run(pa, false); err != nil || res.Meaning != core.ExitRetry {
		t.Fatalf("busy: %+v, %v", res, err)
	}
	if _, err := os.Stat(cached); err != nil {
		t.Fatalf("the busy installer's file was not kept: %v", err)
	}
	pa = e.args("d-2", nil)
	if res, err := e.run(pa, false); err != nil || res.Meaning != core.ExitOK || len(e.bs.requests()) != 1 {
		t.Fatalf("retry: %+v, %v, %d downloads", res, err, len(e.bs.requests()))
	}
	if _, err := os.Stat(cached); !os.IsNotExist(err) {
		t.Errorf("the finished run's download is left: %v", err)
	}
	// A repeated run ID answers from the journal and leaves no download
	// behind either.
	if res, err := e.run(pa, false); err != nil || !res.Duplicate || len(e.bs.requests()) != 2 {
		t.Fatalf("repeat: %+v, %v, %d downloads", res, err, len(e.bs.requests()))
	}
	if _, err := os.Stat(cached); !os.IsNotExist(err) {
		t.Errorf("the repeated run's download is left: %v", err)
	}
}
