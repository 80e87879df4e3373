package protocol

import (
	"fmt"
	"regexp"
	"slices"
	"time"
)

// The script action (issue 16): the agent writes a script's body to a
// private temporary file and runs it with its language's interpreter.

// ActionScript runs a script (ScriptArgs → ScriptResult).
const ActionScript = "script"

// Script languages.
const (
	LangBash       = "bash"
	LangSh         = "sh"
	LangZsh        = "zsh"
	LangPython     = "python"
	LangPwsh       = "pwsh"       // PowerShell 7
	LangPowerShell = "powershell" // Windows PowerShell 5.1
	LangCmd        = "cmd"
)

// Languages lists every script language.
var Languages = []string{LangBash, LangSh, LangZsh, LangPython, LangPwsh, LangPowerShell, LangCmd}

// Reply codes of the script action, beside those in action.go.
const (
	// CodeInterrupted: the run ID was started before but the agent stopped
	// before it finished (killed, rebooted); it is not run again.
	CodeInterrupted = "interrupted"
	// CodeRunning: the run ID is running now.
	CodeRunning = "running"
	// CodeScriptSigner: the device runs only scripts signed by its script
	// signer (lock mode) and this one is not.
	CodeScriptSigner = "script_signer"
	// CodeNoUser: the script is to run as the logged-on user and no user
	// is logged on (or the agent cannot get the user's identity); it never
	// runs as SYSTEM or root instead.
	CodeNoUser = "no_user"
)

// Accounts a script runs as (ScriptArgs.RunAs).
const (
	RunAsSystem = "system" // SYSTEM on Windows, root elsewhere; the default
	RunAsUser   = "user"   // the user logged on at the console or graphical session
)

// Script limits.
const (
	MaxScriptBody        = 1 << 20
	MaxScriptOutput      = 1 << 20 // bytes kept of stdout and of stderr each
	DefaultScriptTimeout = 5 * time.Minute
	MaxScriptTimeout     = 24 * time.Hour
	MaxScriptParams      = 64
	MaxScriptParamValue  = 64 << 10
	ScriptMask           = "••••" // replaces a secret's value in output
	// ScriptTruncated is appended to an output stream the agent cut short.
	ScriptTruncated = "\n[… output truncated by Wacht]\n"
)

// ScriptArgs are the script action's arguments. Params and Secrets reach
// the script as environment variables named like the parameter (never on
// the command line, where other local users could read them); Secrets'
// values are replaced by ScriptMask in the output. Signature is the base64
// ed25519 signature of Language and Body by the script signer
// (scriptsign), required by agents in lock mode. RunAs is RunAsSystem
// (also when empty) or RunAsUser.
type ScriptArgs struct {
	RunID          string            `json:"run_id"`
	Language       string            `json:"language"`
	Body           string            `json:"body"`
	Params         map[string]string `json:"params,omitempty"`
	Secrets        map[string]string `json:"secrets,omitempty"`
	TimeoutSeconds int               `json:"timeout_seconds,omitempty"`
	Signature      string            `json:"signature,omitempty"`
	RunAs          string            `json:"run_as,omitempty"`
}

// ScriptResult is the script action's result. ExitCode is -1 when the
// script did not exit by itself (TimedOut). Duplicate marks the recorded
// result of a run ID the agent had finished before: it did not run again.
type ScriptResult struct {
	ExitCode   int    `json:"exit_code"`
	Stdout     string `json:"stdout"`
	Stderr     string `json:"stderr"`
	Truncated  bool   `json:"truncated"`
	TimedOut   bool   `json:"timed_out,omitempty"`
	DurationMS int64  `json:"duration_ms"`
	Duplicate  bool   `json:"duplicate,omitempty"`
}

var (
	runIDRe     = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
	paramNameRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)
)

// ValidParamName reports whether name can be a script parameter: it
// becomes an environment variable's name.
func ValidParamName(name string) bool { return paramNameRe.MatchString(name) }

// Validate checks the arguments' shape (not whether the language exists
// on this device).
func (a ScriptArgs) Validate() error {
	switch {
	case !runIDRe.MatchString(a.RunID):
		return fmt.Errorf("run_id %q is not 1–64 letters, digits and dashes", a.RunID)
	case !slices.Contains(Languages, a.Language):
		return fmt.Errorf("unknown language %q (known: %v)", a.Language, Languages)
	case a.Body == "" || len(a.Body) > MaxScriptBody:
		return fmt.Errorf("the body must have 1 to %d bytes", MaxScriptBody)
	case a.TimeoutSeconds < 0 || time.Duration(a.TimeoutSeconds)*time.Second > MaxScriptTimeout:
		return fmt.Errorf("timeout_seconds %d is outside 0..%d", a.TimeoutSeconds, int(MaxScriptTimeout/time.Second))
	case a.RunAs != "" && a.RunAs != RunAsSystem && a.RunAs != RunAsUser:
		return fmt.Errorf("run_as %q is not %s or %s", a.RunAs, RunAsSystem, RunAsUser)
	case len(a.Params)+len(a.Secrets) > MaxScriptParams:
		return fmt.Errorf("more than %d parameters", MaxScriptParams)
	}
	for _, m := range []map[string]string{a.Params, a.Secrets} {
		for k, v := range m {
			if !ValidParamName(k) {
				return fmt.Errorf("parameter name %q is not a letter or _ followed by letters, digits and _", k)
			}
			if len(v) > MaxScriptParamValue || slices.Contains([]byte(v), 0) {
				return fmt.Errorf("parameter %s: value too long or with a NUL byte", k)
			}
		}
	}
	for k := range a.Secrets {
		if _, dup := a.Params[k]; dup {
			return fmt.Errorf("parameter %s is both plain and secret", k)
		}
	}
	return nil
}
