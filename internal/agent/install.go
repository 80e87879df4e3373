package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/swdetect"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Software packages (issue 17): the install and uninstall actions fetch an
// uploaded installer (Downloader: SHA-256 verified before anything runs)
// or build a package manager's command, run it as the script runner runs
// a script (journaled once per run ID, process tree killed at the
// timeout, output bounded and masked), map its exit code, and then ask the
// package's detection rule whether the package really is (or is no
// longer) there: an installer that exits 0 but leaves nothing the rule
// finds has failed.

// downloadsDir is the folder of verified package files under the agent's
// data folder.
const downloadsDir = "downloads"

func init() {
	for name, uninstall := range map[string]bool{protocol.ActionInstall: false, protocol.ActionUninstall: true} {
		// Code: no package carries a signature by the script signer yet, so
		// lock mode refuses packages.
		RegisterAction(name, Action{Lock: protocol.LockSoftware, Code: true, Do: func(_ context.Context, a *Agent, args json.RawMessage) (any, error) {
			var pa protocol.PackageArgs
			if err := json.Unmarshal(args, &pa); err != nil {
				return nil, Errorf(protocol.CodeBadArgs, "Malformed package arguments: %v.", "Fehlerhafte Paketargumente: %v.", err)
			}
			if err := pa.Validate(); err != nil {
				return nil, Errorf(protocol.CodeBadArgs, "Bad package arguments: %v.", "Ungültige Paketargumente: %v.", err)
			}
			d := a.downloader()
			defer CleanDownloads(d.Dir, time.Now(), a.log)
			// Like a script, the run belongs to the agent, not to the
			// session that asked for it.
			return a.scripts().runPackage(a.root, d, pa, uninstall)
		}})
	}
}

// downloader fetches package files from the agent's server into
// <data>/downloads.
func (a *Agent) downloader() *Downloader {
	return &Downloader{Client: a.client, BaseURL: a.cfg.ServerURL, Dir: filepath.Join(a.opts.DataDir, downloadsDir), Backoff: a.opts.downloadBackoff}
}

// runPackage installs or removes pa's package once per run ID.
func (r *scriptRunner) runPackage(ctx context.Context, d *Downloader, pa protocol.PackageArgs, uninstall bool) (protocol.PackageResult, error) {
	// The download is deleted once the run is over, kept only for a
	// retry: of the same run ID after a failure before the installer
	// started, or of a busy installer (CleanDownloads removes it if none
	// comes).
	keep := true
	if pa.File != nil {
		defer func() {
			if !keep {
				d.discard(pa.File.SHA256)
			}
		}()
	}
	spec, dir, err := r.preparePackage(ctx, d, pa, uninstall)
	if dir != "" {
		defer os.RemoveAll(dir)
	}
	var ae *protocol.ActionError
	if errors.As(err, &ae) && ae.Code == protocol.CodeAuthenticode {
		keep = false // the same file would be refused again
	}
	if err != nil {
		return protocol.PackageResult{}, err // nothing ran: not journaled
	}
	if spec.user != nil {
		defer spec.user.sys.close()
	}
	action := protocol.ActionInstall
	if uninstall {
		action = protocol.ActionUninstall
	}
	if rec, err := r.claim(pa.RunID); rec != nil || err != nil {
		var res protocol.PackageResult
		if err == nil {
			err = recorded(pa.RunID, action, rec, &res)
			res.Duplicate = true
		}
		keep = err == nil && res.Meaning == core.ExitRetry
		return res, err
	}
	out, err := runProcess(ctx, spec)
	if ctx.Err() != nil {
		keep = false
		r.mu.Lock()
		delete(r.running, pa.RunID) // stays "started": interrupted
		r.mu.Unlock()
		return protocol.PackageResult{}, Errorf(protocol.CodeInterrupted, "The agent stopped while the run %s ran.", "Der Agent wurde beendet, während der Lauf %s lief.", pa.RunID)
	}
	res := packageResult(ctx, pa, uninstall, out, err)
	r.finish(pa.RunID, action, res)
	keep = res.Meaning == core.ExitRetry
	return res, nil
}

// preparePackage is everything before the installer starts: the verified
// file in a private folder (dir, to remove afterwards), the command, the
// account. An error here means nothing ran.
func (r *scriptRunner) preparePackage(ctx context.Context, d *Downloader, pa protocol.PackageArgs, uninstall bool) (spec runSpec, dir string, err error) {
	spec = runSpec{runID: pa.RunID, params: pa.Params, secrets: pa.Secrets, timeout: timeoutOf(pa)}
	if pa.RequireAuthenticode && !authenticodeSupported {
		return spec, "", Errorf(protocol.CodeUnsupported, "Authenticode signatures exist on Windows only; %s was not installed.",
			"Authenticode-Signaturen gibt es nur unter Windows; %s wurde nicht installiert.", pa.Name)
	}
	if pa.Kind == core.PkgCommand {
		spec.argv = expandCommand(pa.Command, pa, "")
		return spec, "", nil
	}
	if pa.Kind != core.PkgUpload {
		var env map[string]string
		if spec.argv, env, err = managerCommand(runtime.GOOS, pa.Kind, pa.ManagerID, uninstall); err != nil {
			return spec, "", err
		}
		spec.params = merge(pa.Params, env)
		if pa.Kind == core.PkgBrew { // brew refuses to run as root
			spec.user, err = r.consoleUser()
		}
		return spec, "", err
	}
	release := d.hold(pa.File.SHA256)
	defer release()
	cached, err := d.Fetch(ctx, BlobRef{SHA256: pa.File.SHA256, Size: pa.File.Size, Ticket: pa.File.Ticket})
	if err != nil {
		return spec, "", err
	}
	if err := os.MkdirAll(filepath.Join(r.dir, scriptTmpDir), 0o700); err != nil {
		return spec, "", fmt.Errorf("creating the scripts' temporary folder: %w", err)
	}
	if dir, err = os.MkdirTemp(filepath.Join(r.dir, scriptTmpDir), "pkg-"); err != nil {
		return spec, "", fmt.Errorf("creating a temporary folder: %w", err)
	}
	spec.dir = dir
	file := filepath.Join(dir, pa.File.Name)
	if err := copyVerified(cached, file, pa.File); err != nil {
		return spec, dir, err
	}
	if pa.RequireAuthenticode {
		// The copy is what runs: its signature is the one that counts.
		if err := checkAuthenticode(file); err != nil {
			return spec, dir, err
		}
	}
	spec.argv, err = uploadCommand(runtime.GOOS, pa, file, uninstall)
	return spec, dir, err
}

// copyVerified copies the downloaded file to the path the installer runs
// from, hashing what it writes: the file that runs is the one verified.
func copyVerified(from, to string, f *protocol.PackageFile) error {
	src, err := os.Open(from)
	if err != nil {
		return fileErr(from, err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o700)
	if err != nil {
		return fileErr(to, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(dst, h), src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fileErr(to, err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); n != f.Size || sum != strings.ToLower(f.SHA256) {
		return Errorf(protocol.CodeHashMismatch, "The package file changed on this device (%d bytes, SHA-256 %s); it was not run.",
			"Die Paketdatei wurde auf diesem Gerät verändert (%d Bytes, SHA-256 %s); sie wurde nicht ausgeführt.", n, sum)
	}
	return nil
}

// uploadCommand is the installer's argument array: the definition's, with
// the placeholders filled in, or msiexec for an .msi file on Windows.
func uploadCommand(goos string, pa protocol.PackageArgs, file string, uninstall bool) ([]string, error) {
	if len(pa.Command) == 0 {
		if goos != "windows" {
			return nil, Errorf(protocol.CodeUnsupported, "An .msi file installs on Windows only.", "Eine .msi-Datei lässt sich nur unter Windows installieren.")
		}
		op := "/i"
		if uninstall {
			op = "/x"
		}
		return []string{"msiexec", op, file, "/qn", "/norestart"}, nil
	}
	return expandCommand(pa.Command, pa, file), nil
}

// expandCommand fills the placeholders of cmd, each argument on its own:
// the parameters' and secrets' values, and {{file}} with file (an
// upload's installer).
func expandCommand(cmd []string, pa protocol.PackageArgs, file string) []string {
	values := merge(pa.Params, pa.Secrets)
	if file != "" {
		values["file"] = file
	}
	argv := make([]string, len(cmd))
	for i, arg := range cmd {
		argv[i] = protocol.Expand(arg, values)
	}
	return argv
}

// managerCommand is the package manager's non-interactive command that
// installs or removes id, and the environment it needs beside.
func managerCommand(goos, kind, id string, uninstall bool) ([]string, map[string]string, error) {
	if want := core.PackageKinds[kind]; want != goos {
		return nil, nil, Errorf(protocol.CodeUnsupported, "%s packages install on %s only.", "%s-Pakete lassen sich nur unter %s installieren.", kind, want)
	}
	pick := func(install, remove []string) []string {
		if uninstall {
			return remove
		}
		return install
	}
	switch kind {
	case core.PkgApt:
		return pick([]string{"apt-get", "install", "-y", "-q", "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold", id},
				[]string{"apt-get", "remove", "-y", "-q", id}),
			map[string]string{"DEBIAN_FRONTEND": "noninteractive"}, nil
	case core.PkgDnf:
		return pick([]string{"dnf", "install", "-y", "-q", id}, []string{"dnf", "remove", "-y", "-q", id}), nil, nil
	case core.PkgZypper:
		return pick([]string{"zypper", "--non-interactive", "install", "--auto-agree-with-licenses", id},
			[]string{"zypper", "--non-interactive", "remove", id}), nil, nil
	case core.PkgWinget:
		// --source winget: as SYSTEM the msstore source is missing.
		common := []string{"--id", id, "--exact", "--source", "winget", "--silent", "--accept-source-agreements", "--disable-interactivity"}
		return pick(append([]string{"winget", "install", "--accept-package-agreements"}, common...),
			append([]string{"winget", "uninstall"}, common...)), nil, nil
	case core.PkgChoco:
		return pick([]string{"choco", "install", id, "-y", "--no-progress"}, []string{"choco", "uninstall", id, "-y", "--no-progress"}), nil, nil
	case core.PkgBrew:
		return pick([]string{"brew", "install", id}, []string{"brew", "uninstall", id}),
			map[string]string{"HOMEBREW_NO_AUTO_UPDATE": "1", "NONINTERACTIVE": "1"}, nil
	}
	return nil, nil, Errorf(protocol.CodeBadArgs, "Unknown package kind %q.", "Unbekannte Paketart %q.", kind)
}

// packageResult maps the installer's exit and the detection rule's
// finding to the result. runErr is a failure to start the installer.
func packageResult(ctx context.Context, pa protocol.PackageArgs, uninstall bool, out protocol.ScriptResult, runErr error) protocol.PackageResult {
	res := protocol.PackageResult{ExitCode: out.ExitCode, Stdout: tail(out.Stdout), Stderr: tail(out.Stderr),
		Truncated: out.Truncated || len(out.Stdout) > protocol.MaxPackageOutput || len(out.Stderr) > protocol.MaxPackageOutput,
		TimedOut:  out.TimedOut, DurationMS: out.DurationMS}
	codes := pa.ExitCodes
	if len(codes) == 0 {
		codes = core.DefaultExitCodes()
	}
	res.Meaning = codes[out.ExitCode]
	fail := func(code, en, de string, args ...any) {
		res.Meaning, res.Code = core.ExitFailed, code
		res.Message = core.Text{EN: fmt.Sprintf(en, args...), DE: fmt.Sprintf(de, args...)}
	}
	switch {
	case runErr != nil:
		res.ExitCode = -1
		fail(protocol.CodeFailed, "The installer could not run: %s.", "Das Installationsprogramm konnte nicht laufen: %s.", mask(runErr.Error(), pa.Secrets, false))
		return res
	case out.TimedOut:
		fail(protocol.CodeTimeout, "The installer did not finish in %d seconds; it was ended.", "Das Installationsprogramm wurde nicht in %d Sekunden fertig und wurde beendet.", int(timeoutOf(pa)/time.Second))
		return res
	case res.Meaning == core.ExitRetry:
		res.Code = protocol.CodeBusy
		res.Message = core.Text{EN: fmt.Sprintf("Another installation is running (exit code %d); try again later.", out.ExitCode),
			DE: fmt.Sprintf("Eine andere Installation läuft (Exitcode %d); später erneut versuchen.", out.ExitCode)}
		return res
	case res.Meaning != core.ExitOK && res.Meaning != core.ExitReboot:
		fail(protocol.CodeFailed, "The installer exited with code %d.", "Das Installationsprogramm endete mit Code %d.", out.ExitCode)
		return res
	}
	res.RebootNeeded = res.Meaning == core.ExitReboot
	det := swdetect.Detect(ctx, pa.Detection)
	res.State, res.Version = det.State, det.Version
	rule := describeRule(pa.Detection)
	switch {
	case det.Err != nil:
		fail(protocol.CodeFailed, "The installer exited with %d, but checking %s failed: %v.", "Das Installationsprogramm endete mit %d, aber die Prüfung von %s schlug fehl: %v.", out.ExitCode, rule, det.Err)
	case uninstall && det.State != swdetect.StateAbsent:
		fail(protocol.CodeFailed, "The uninstaller exited with %d, but %s still finds the package (%s %s).", "Das Deinstallationsprogramm endete mit %d, aber %s findet das Paket noch (%s %s).", out.ExitCode, rule, det.State, det.Version)
	case !uninstall && det.State == swdetect.StateOlder:
		fail(protocol.CodeFailed, "The installer exited with %d, but %s finds version %s, older than %s.", "Das Installationsprogramm endete mit %d, aber %s findet Version %s, älter als %s.", out.ExitCode, rule, det.Version, pa.Detection.MinVersion)
	case !uninstall && det.State != swdetect.StateInstalled:
		fail(protocol.CodeFailed, "The installer exited with %d, but %s finds nothing.", "Das Installationsprogramm endete mit %d, aber %s findet nichts.", out.ExitCode, rule)
	}
	return res
}

func timeoutOf(pa protocol.PackageArgs) time.Duration {
	if pa.TimeoutSeconds > 0 {
		return time.Duration(pa.TimeoutSeconds) * time.Second
	}
	return protocol.DefaultPackageTimeout
}

// describeRule names a detection rule in a message.
func describeRule(d core.Detection) string {
	what := map[string]string{core.DetectRegistry: d.DisplayName + d.ProductCode, core.DetectFile: d.Path,
		core.DetectAppBundle: d.Path, core.DetectService: d.Name, core.DetectOSPackage: d.Name}[d.Kind]
	return fmt.Sprintf("the detection rule (%s %s)", d.Kind, what)
}

// tail is the last protocol.MaxPackageOutput bytes of s, cut at a
// character's start.
func tail(s string) string {
	if len(s) <= protocol.MaxPackageOutput {
		return s
	}
	s = s[len(s)-protocol.MaxPackageOutput:]
	for len(s) > 0 && !utf8.RuneStart(s[0]) {
		s = s[1:]
	}
	return "[… output cut by Wacht]\n" + s
}

// merge is a new map with a's entries and b's.
func merge(a, b map[string]string) map[string]string {
	m := make(map[string]string, len(a)+len(b))
	maps.Copy(m, a)
	maps.Copy(m, b)
	return m
}
