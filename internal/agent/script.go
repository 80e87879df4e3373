package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Scripts (issue 16): the body goes to a private temporary file that the
// language's interpreter runs, with the parameters in the environment.
// Each run ID runs at most once on this device, also across restarts: the
// journal in <data>/scripts/runs records a run before its process starts
// and its result after it ends, so that a repeated request gets the
// recorded result, or "interrupted" when the agent stopped mid-run.

// Folders under the agent's data folder.
const (
	scriptsDir    = "scripts"
	scriptRunsDir = "runs" // the journal, one file per run ID
	scriptTmpDir  = "tmp"  // the bodies of running scripts
	// scriptJournalAge is how long a run ID is remembered: well beyond a
	// job's expiry (24 h by default, at most 7 days).
	scriptJournalAge = 14 * 24 * time.Hour
)

func init() {
	RegisterAction(protocol.ActionScript, Action{Lock: protocol.LockScripts, Do: func(_ context.Context, a *Agent, args json.RawMessage) (any, error) {
		var sa protocol.ScriptArgs
		if err := json.Unmarshal(args, &sa); err != nil {
			return nil, Errorf(protocol.CodeBadArgs, "Malformed script arguments: %v.", "Fehlerhafte Skriptargumente: %v.", err)
		}
		if err := sa.Validate(); err != nil {
			return nil, Errorf(protocol.CodeBadArgs, "Bad script arguments: %v.", "Ungültige Skriptargumente: %v.", err)
		}
		if err := a.signerAllows(sa); err != nil {
			return nil, err
		}
		// The run belongs to the agent, not to the connection that asked
		// for it: a dropped session neither kills it nor loses its result.
		return a.scripts().run(a.root, sa)
	}})
}

// scriptRunner journals and runs scripts for one agent.
type scriptRunner struct {
	dir string // <data>/scripts
	log *slog.Logger

	mu      sync.Mutex
	running map[string]bool
	tool    osTool // finds the logged-on user; nil: the OS's tools
}

func (a *Agent) scripts() *scriptRunner {
	a.scriptOnce.Do(func() {
		a.scriptRun = &scriptRunner{dir: filepath.Join(a.opts.DataDir, scriptsDir), log: a.log, running: map[string]bool{}}
	})
	return a.scriptRun
}

// journalEntry is one run ID's file: Done false means it was started.
// Scripts and package installs share the journal and its one namespace of
// run IDs: Action names the action that recorded Result ("" for a script,
// as entries written before installs existed).
type journalEntry struct {
	Done   bool            `json:"done"`
	Action string          `json:"action,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
}

func (r *scriptRunner) journalPath(id string) string {
	return filepath.Join(r.dir, scriptRunsDir, id+".json")
}

// claim records the run ID as started, or returns what the journal says
// about it: the recorded result, or why it does not run again.
func (r *scriptRunner) claim(id string) (*journalEntry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running[id] {
		return nil, Errorf(protocol.CodeRunning, "The run %s is still running on this device.", "Der Lauf %s läuft auf diesem Gerät noch.", id)
	}
	if err := os.MkdirAll(filepath.Join(r.dir, scriptRunsDir), 0o700); err != nil {
		return nil, fmt.Errorf("creating the script journal: %w", err)
	}
	f, err := os.OpenFile(r.journalPath(id), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		var e journalEntry
		b, rerr := os.ReadFile(r.journalPath(id))
		if rerr == nil {
			rerr = json.Unmarshal(b, &e)
		}
		if rerr == nil && e.Done {
			return &e, nil
		}
		// Started, not running, not finished: the agent stopped mid-run.
		// (An unreadable entry counts the same: never run it twice.)
		return nil, interrupted(id)
	}
	if err != nil {
		return nil, fmt.Errorf("journaling run %s: %w", id, err)
	}
	b, _ := json.Marshal(journalEntry{})
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync() // on disk before the process starts
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(r.journalPath(id))
		return nil, fmt.Errorf("journaling run %s: %w", id, err)
	}
	r.running[id] = true
	return nil, nil
}

// recorded decodes the journal's result of run id into res; a result of
// another action (a run ID reused) is refused.
func recorded(id, action string, e *journalEntry, res any) error {
	if e.Action != action || json.Unmarshal(e.Result, res) != nil {
		return Errorf(protocol.CodeBadArgs, "The run %s ran before as another action; it is not run again.",
			"Der Lauf %s lief schon als andere Aktion; er wird nicht erneut ausgeführt.", id)
	}
	return nil
}

// interrupted says that run id was started and the agent stopped before
// it finished.
func interrupted(id string) error {
	return Errorf(protocol.CodeInterrupted,
		"The run %s was interrupted: the agent stopped while it ran; it is not run again.",
		"Der Lauf %s wurde unterbrochen: der Agent wurde während der Ausführung beendet; er wird nicht erneut ausgeführt.", id)
}

// finish records a run's result; a failure to start it is recorded as
// exit code -1 with the reason as its error output, so that a repeat
// answers the same.
func (r *scriptRunner) finish(id, action string, res any) {
	rb, _ := json.Marshal(res)
	b, _ := json.Marshal(journalEntry{Done: true, Action: action, Result: rb})
	if err := writeFileAtomic(r.journalPath(id), b); err != nil {
		r.log.Error("recording a script's result", "run", id, "err", err)
	}
	r.mu.Lock()
	delete(r.running, id)
	r.mu.Unlock()
}

func (r *scriptRunner) run(ctx context.Context, sa protocol.ScriptArgs) (protocol.ScriptResult, error) {
	p, err := r.prepare(sa)
	if err != nil {
		return protocol.ScriptResult{}, err // nothing ran: not journaled
	}
	defer p.close()
	if rec, err := r.claim(sa.RunID); rec != nil || err != nil {
		var res protocol.ScriptResult
		if err == nil {
			err = recorded(sa.RunID, "", rec, &res)
			res.Duplicate = true
		}
		return res, err
	}
	res, err := r.execute(ctx, sa, p.body, p.argv, p.ext, p.user)
	if err != nil {
		res = protocol.ScriptResult{ExitCode: -1, Stderr: mask("Wacht: "+err.Error(), sa.Secrets, false)}
	}
	if ctx.Err() != nil {
		// The agent is stopping: the run stays "started", and a repeat is
		// answered as interrupted.
		r.mu.Lock()
		delete(r.running, sa.RunID)
		r.mu.Unlock()
		return res, Errorf(protocol.CodeInterrupted, "The agent stopped while the run %s ran.", "Der Agent wurde beendet, während der Lauf %s lief.", sa.RunID)
	}
	r.finish(sa.RunID, "", res)
	return res, nil
}

// runUnjournaled runs sa without the journal: for script checks, whose
// repeated runs are harmless and would fill the journal (one file per run
// for 14 days).
func (r *scriptRunner) runUnjournaled(ctx context.Context, sa protocol.ScriptArgs) (protocol.ScriptResult, error) {
	p, err := r.prepare(sa)
	if err != nil {
		return protocol.ScriptResult{}, err
	}
	defer p.close()
	return r.execute(ctx, sa, p.body, p.argv, p.ext, p.user)
}

// prepared is a script ready to start: its interpreter, the body as the
// file holds it, and the logged-on user it runs as (nil: SYSTEM or root).
type prepared struct {
	argv []string
	ext  string
	body []byte
	user *scriptUser
}

func (p prepared) close() {
	if p.user != nil {
		p.user.sys.close()
	}
}

// prepare finds what sa needs before anything runs: an error here means
// nothing ran.
func (r *scriptRunner) prepare(sa protocol.ScriptArgs) (prepared, error) {
	var p prepared
	var err error
	if p.argv, p.ext, err = interpreter(runtime.GOOS, sa.Language, exec.LookPath); err != nil {
		return p, err
	}
	p.body = []byte(sa.Body)
	if sa.Language == protocol.LangCmd {
		if p.body, err = cmdScript(sa.Body, oemCodePage()); err != nil {
			return p, err
		}
	}
	if sa.RunAs == protocol.RunAsUser {
		if p.user, err = r.consoleUser(); err != nil {
			return p, err // never as SYSTEM or root instead
		}
	}
	return p, nil
}

// consoleUser is the user logged on at the console or graphical session.
func (r *scriptRunner) consoleUser() (*scriptUser, error) {
	r.mu.Lock()
	tool := r.tool
	r.mu.Unlock()
	if tool == nil {
		tool = runTool
	}
	return loggedOnUser(tool)
}

// forgetInterrupted drops the journal's record of run id if it was
// started and never finished, so that the run may run again (a task with
// RunAgain).
func (r *scriptRunner) forgetInterrupted(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var e journalEntry
	b, err := os.ReadFile(r.journalPath(id))
	if err != nil || r.running[id] || (json.Unmarshal(b, &e) == nil && e.Done) {
		return
	}
	if err := os.Remove(r.journalPath(id)); err != nil {
		r.log.Warn("forgetting an interrupted run", "run", id, "err", err)
	}
}

// journaled says what the journal holds about run id: the finished run's
// entry, or started (true without an entry) when the agent stopped while
// it ran; neither when it never started.
func (r *scriptRunner) journaled(id string) (done *journalEntry, started bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	b, err := os.ReadFile(r.journalPath(id))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false
	}
	var e journalEntry
	if err != nil || json.Unmarshal(b, &e) != nil || !e.Done {
		return nil, true // an unreadable entry counts as started: never run twice
	}
	return &e, true
}

// interpreter is the program and arguments that run a script file of
// language on goos (the file's path is appended), and the file's
// extension; protocol.CodeUnsupported when the language is not available.
func interpreter(goos, language string, lookPath func(string) (string, error)) ([]string, string, error) {
	unsupported := func(why string) error {
		return Errorf(protocol.CodeUnsupported, "Scripts in %s cannot run on this device: %s.", "Skripte in %s können auf diesem Gerät nicht laufen: %s.", language, why)
	}
	var argv []string
	ext := ""
	switch language {
	case protocol.LangBash, protocol.LangSh, protocol.LangZsh:
		argv, ext = []string{language}, ".sh"
	case protocol.LangPython:
		argv, ext = []string{"python3"}, ".py"
		if _, err := lookPath("python3"); err != nil {
			argv[0] = "python"
		}
	case protocol.LangPwsh, protocol.LangPowerShell:
		if language == protocol.LangPowerShell && goos != "windows" {
			return nil, "", unsupported("Windows PowerShell exists only on Windows (use pwsh)")
		}
		argv, ext = []string{language, "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-File"}, ".ps1"
	case protocol.LangCmd:
		if goos != "windows" {
			return nil, "", unsupported("cmd exists only on Windows")
		}
		argv, ext = []string{"cmd", "/c"}, ".cmd"
	default:
		return nil, "", Errorf(protocol.CodeBadArgs, "Unknown script language %q.", "Unbekannte Skriptsprache %q.", language)
	}
	if _, err := lookPath(argv[0]); err != nil {
		return nil, "", unsupported(argv[0] + " is not installed")
	}
	return argv, ext, nil
}

// execute runs the script file body as SYSTEM or root, or as u when it is
// not nil.
func (r *scriptRunner) execute(ctx context.Context, sa protocol.ScriptArgs, body []byte, argv []string, ext string, u *scriptUser) (protocol.ScriptResult, error) {
	tmpRoot := filepath.Join(r.dir, scriptTmpDir)
	if err := os.MkdirAll(tmpRoot, 0o700); err != nil {
		return protocol.ScriptResult{}, fmt.Errorf("creating the scripts' temporary folder: %w", err)
	}
	var dir string
	var err error
	mode := os.FileMode(0o700)
	if u != nil {
		dir, err = userRunDir(tmpRoot, u)
		mode = 0o644 // readable by the user, writable by root only
	} else {
		dir, err = os.MkdirTemp(tmpRoot, "run-") // 0700
	}
	if err != nil {
		return protocol.ScriptResult{}, fmt.Errorf("creating a temporary folder: %w", err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "script"+ext)
	if err := os.WriteFile(path, body, mode); err != nil {
		return protocol.ScriptResult{}, fmt.Errorf("writing the script: %w", err)
	}
	if err := os.Chmod(path, mode); err != nil && runtime.GOOS != "windows" { // whatever the umask
		return protocol.ScriptResult{}, fmt.Errorf("writing the script: %w", err)
	}
	if sa.Language == protocol.LangCmd {
		// prepareShell passes cmd's command line as written; quoted, so
		// that a path with spaces stays one.
		path = `"` + path + `"`
	}
	timeout := protocol.DefaultScriptTimeout
	if sa.TimeoutSeconds > 0 {
		timeout = time.Duration(sa.TimeoutSeconds) * time.Second
	}
	return runProcess(ctx, runSpec{argv: append(argv, path), dir: dir, user: u, runID: sa.RunID,
		params: sa.Params, secrets: sa.Secrets, timeout: timeout})
}

// runSpec is a program the agent runs for a script or an installer.
type runSpec struct {
	argv    []string
	dir     string      // the working folder (the user's home instead for a user)
	user    *scriptUser // nil: SYSTEM or root
	runID   string
	params  map[string]string // into the environment
	secrets map[string]string // into the environment, masked in the output
	timeout time.Duration
}

// runProcess runs p with its parameters in the environment, its output
// bounded and masked, and its whole process tree killed at the timeout.
func runProcess(ctx context.Context, p runSpec) (protocol.ScriptResult, error) {
	argv, u := p.argv, p.user
	if u != nil {
		argv = append(slices.Clone(u.prefix), argv...)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	prepareShell(cmd, argv)
	cmd.Dir = p.dir
	base := os.Environ()
	if u != nil {
		// The user's own environment, nothing of the agent's; the user's
		// home as the working folder (the run's folder is not writable).
		u.sys.apply(cmd)
		base = slices.Clone(u.env)
		if fi, err := os.Stat(u.home); err == nil && fi.IsDir() {
			cmd.Dir = u.home
		}
	}
	// Parameters travel in the environment, never on the command line.
	env := append(base, "WACHT_RUN_ID="+p.runID)
	for _, m := range []map[string]string{p.params, p.secrets} {
		for k, v := range m {
			env = append(env, k+"="+v)
		}
	}
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	stdout, stderr := &boundedBuffer{max: protocol.MaxScriptOutput}, &boundedBuffer{max: protocol.MaxScriptOutput}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	tree, err := newProcTree(cmd)
	if err != nil {
		return protocol.ScriptResult{}, err
	}
	defer tree.close()
	start := time.Now()
	if err = cmd.Start(); err == nil {
		if terr := tree.started(cmd); terr != nil {
			cmd.Process.Kill()
			cmd.Wait()
			return protocol.ScriptResult{}, terr
		}
		err = cmd.Wait()
	}
	res := protocol.ScriptResult{
		ExitCode:   cmd.ProcessState.ExitCode(),
		Stdout:     mask(consoleText(stdout.buf.Bytes()), p.secrets, stdout.dropped > 0),
		Stderr:     mask(consoleText(stderr.buf.Bytes()), p.secrets, stderr.dropped > 0),
		Truncated:  stdout.dropped > 0 || stderr.dropped > 0,
		DurationMS: time.Since(start).Milliseconds(),
	}
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() != nil:
		res.TimedOut, res.ExitCode = true, -1
		return res, nil
	case err == nil, errors.As(err, &exitErr), errors.Is(err, exec.ErrWaitDelay):
		return res, nil
	default:
		return res, fmt.Errorf("running %s: %w", argv[0], err)
	}
}

// mask replaces every secret's value in out by protocol.ScriptMask and,
// when out was cut short, drops a tail that begins a secret; a truncated
// output ends with protocol.ScriptTruncated.
func mask(out string, secrets map[string]string, truncated bool) string {
	for _, v := range secrets {
		if v != "" {
			out = strings.ReplaceAll(out, v, protocol.ScriptMask)
		}
	}
	if !truncated {
		return out
	}
	for _, v := range secrets {
		for k := len(v) - 1; k > 0; k-- {
			if strings.HasSuffix(out, v[:k]) {
				out = out[:len(out)-k]
				break
			}
		}
	}
	return out + protocol.ScriptTruncated
}

// cleanScripts removes the bodies an earlier run of the agent left and
// forgets run IDs older than scriptJournalAge.
func cleanScripts(dataDir string, now time.Time, log *slog.Logger) {
	dir := filepath.Join(dataDir, scriptsDir)
	if err := os.RemoveAll(filepath.Join(dir, scriptTmpDir)); err != nil {
		log.Warn("removing scripts' temporary files", "err", err)
	}
	des, _ := os.ReadDir(filepath.Join(dir, scriptRunsDir))
	for _, de := range des {
		if info, err := de.Info(); err == nil && now.Sub(info.ModTime()) > scriptJournalAge {
			os.Remove(filepath.Join(dir, scriptRunsDir, de.Name()))
		}
	}
}
