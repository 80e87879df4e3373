package protocol

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// The package actions (issue 17): install or remove one software package
// (core.Package) and tell by its detection rule whether that worked.

// Package actions (PackageArgs → PackageResult).
const (
	ActionInstall   = "package_install"
	ActionUninstall = "package_uninstall"
)

// CodeAuthenticode refuses an installer that must carry a valid
// Authenticode signature and does not (PackageArgs.RequireAuthenticode).
const CodeAuthenticode = "authenticode"

// Placeholders in a package's command: FilePlaceholder is the verified
// installer's path; {{NAME}} is parameter NAME's value.
const FilePlaceholder = "{{file}}"

// Package limits.
const (
	DefaultPackageTimeout = 30 * time.Minute
	MaxPackageCommand     = 64 // arguments
	MaxPackageArg         = 8 << 10
	// MaxPackageOutput bounds the tail of stdout and of stderr a result
	// keeps: an installer's last words say why it failed.
	MaxPackageOutput = 16 << 10
)

// PackageFile is an uploaded installer: its SHA-256 (hex), size, file name
// (its extension tells msiexec's files) and the download ticket the server
// issued for this device. The agent fetches it from the blob route
// (/api/agent/blobs/<sha256>) and verifies it before anything runs.
type PackageFile struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	Name   string `json:"name"`
	Ticket string `json:"ticket"`
}

// PackageArgs are the arguments of both package actions. Kind is
// core.PkgUpload, with File; core.PkgCommand, with Command and no file
// (it configures what the OS has); or a package manager's kind with
// ManagerID, for which the agent builds the manager's non-interactive
// command itself (Command stays empty). Command is an argument array,
// never a shell string; for an upload on Windows an empty Command runs an
// .msi file with msiexec. RequireAuthenticode (uploads only) makes a
// Windows agent refuse a file without a valid Authenticode signature
// before anything runs; other systems answer unsupported.
//
// Params and Secrets reach the installer as environment variables named
// like the parameter, as for scripts. A {{NAME}} placeholder in Command
// puts the value on the command line too: that is the only way most
// installers take a registration token (msiexec properties), so the
// definition opts in by writing the placeholder; a secret there is
// readable by local administrators while the installer runs, and is
// masked in the output the agent reports.
type PackageArgs struct {
	RunID          string            `json:"run_id"`
	PackageID      int64             `json:"package_id"`
	Name           string            `json:"name"`
	Version        string            `json:"version"`
	Kind           string            `json:"kind"`
	ManagerID      string            `json:"manager_id,omitempty"`
	File           *PackageFile      `json:"file,omitempty"`
	Command        []string          `json:"command,omitempty"`
	Params         map[string]string `json:"params,omitempty"`
	Secrets        map[string]string `json:"secrets,omitempty"`
	ExitCodes      map[int]string    `json:"exit_codes,omitempty"` // empty: core.DefaultExitCodes
	TimeoutSeconds int               `json:"timeout_seconds,omitempty"`
	Detection      core.Detection    `json:"detection"`
	// RequireAuthenticode: see above.
	RequireAuthenticode bool `json:"require_authenticode,omitempty"`
}

// PackageResult is a package action's result. Meaning is a core.Exit…
// value: the exit code's meaning, turned to failed when the detection rule
// does not confirm it (an "installed" package it cannot find), with Code
// and Message saying why. State and Version are what the rule found after
// the run (swdetect states). ExitCode is -1 when the installer did not run
// or did not exit by itself (TimedOut). Stdout and Stderr are tails of at
// most MaxPackageOutput bytes, secrets masked. Duplicate marks the
// recorded result of a run ID the agent had finished before.
type PackageResult struct {
	ExitCode     int       `json:"exit_code"`
	Meaning      string    `json:"meaning"`
	RebootNeeded bool      `json:"reboot_needed,omitempty"`
	Stdout       string    `json:"stdout,omitempty"`
	Stderr       string    `json:"stderr,omitempty"`
	Truncated    bool      `json:"truncated,omitempty"`
	TimedOut     bool      `json:"timed_out,omitempty"`
	State        string    `json:"state,omitempty"`
	Version      string    `json:"version,omitempty"`
	Code         string    `json:"code,omitempty"`
	Message      core.Text `json:"message,omitzero"`
	DurationMS   int64     `json:"duration_ms"`
	Duplicate    bool      `json:"duplicate,omitempty"`
}

var (
	placeholderRe = regexp.MustCompile(`\{\{([^{}]*)\}\}`)
	sha256Re      = regexp.MustCompile(`^[0-9a-f]{64}$`)
	managerIDRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+@/:-]{0,199}$`)
)

// Placeholders returns the names inside {{…}} in arg ("file" for
// FilePlaceholder).
func Placeholders(arg string) []string {
	var names []string
	for _, m := range placeholderRe.FindAllStringSubmatch(arg, -1) {
		names = append(names, m[1])
	}
	return names
}

// Expand replaces each {{NAME}} in arg by values[NAME].
func Expand(arg string, values map[string]string) string {
	return placeholderRe.ReplaceAllStringFunc(arg, func(m string) string { return values[m[2:len(m)-2]] })
}

// Validate checks the arguments' shape (not whether this device can run
// them).
func (a PackageArgs) Validate() error {
	osName, known := core.PackageKinds[a.Kind]
	switch {
	case !runIDRe.MatchString(a.RunID):
		return fmt.Errorf("run_id %q is not 1–64 letters, digits and dashes", a.RunID)
	case !known:
		return fmt.Errorf("unknown package kind %q", a.Kind)
	case a.TimeoutSeconds < 0 || time.Duration(a.TimeoutSeconds)*time.Second > MaxScriptTimeout:
		return fmt.Errorf("timeout_seconds %d is outside 0..%d", a.TimeoutSeconds, int(MaxScriptTimeout/time.Second))
	case len(a.Command) > MaxPackageCommand:
		return fmt.Errorf("the command has more than %d arguments", MaxPackageCommand)
	}
	if err := a.validateSource(osName); err != nil {
		return err
	}
	if err := validDetection(a.Detection); err != nil {
		return err
	}
	for code, m := range a.ExitCodes {
		if !slices.Contains([]string{core.ExitOK, core.ExitReboot, core.ExitRetry, core.ExitFailed}, m) {
			return fmt.Errorf("exit code %d: unknown meaning %q", code, m)
		}
	}
	if err := (ScriptArgs{RunID: a.RunID, Language: LangSh, Body: "-", Params: a.Params, Secrets: a.Secrets}).Validate(); err != nil {
		return err // the same rules as a script's parameters
	}
	return a.validateCommand()
}

func (a PackageArgs) validateSource(osName string) error {
	if a.RequireAuthenticode && a.Kind != core.PkgUpload {
		return fmt.Errorf("require_authenticode: only an uploaded file has an Authenticode signature")
	}
	switch {
	case osName != "": // a package manager's package
		switch {
		case !managerIDRe.MatchString(a.ManagerID):
			return fmt.Errorf("manager_id %q is not a package name (letters, digits and . _ + @ / : -)", a.ManagerID)
		case a.File != nil || len(a.Command) > 0:
			return fmt.Errorf("a %s package has no file and no command: the agent runs %s itself", a.Kind, a.Kind)
		}
		return nil
	case a.Kind == core.PkgCommand:
		switch {
		case a.File != nil:
			return fmt.Errorf("a command package has no file")
		case a.ManagerID != "":
			return fmt.Errorf("a command package has no manager_id")
		case len(a.Command) == 0:
			return fmt.Errorf("a command package needs its command")
		}
		return nil
	}
	f := a.File
	switch {
	case f == nil:
		return fmt.Errorf("an upload package needs its file")
	case !sha256Re.MatchString(f.SHA256):
		return fmt.Errorf("file sha256 %q is not 64 lower-case hex digits", f.SHA256)
	case f.Size <= 0:
		return fmt.Errorf("file size %d is not positive", f.Size)
	case f.Ticket == "":
		return fmt.Errorf("the file has no download ticket")
	case f.Name == "" || strings.ContainsAny(f.Name, `/\:`) || f.Name == "." || f.Name == ".." || slices.Contains([]byte(f.Name), 0) || len(f.Name) > 255:
		return fmt.Errorf("file name %q is not a plain file name", f.Name)
	case len(a.Command) == 0 && !strings.EqualFold(fileExt(f.Name), ".msi"):
		return fmt.Errorf("a command is needed (only an .msi file runs without one)")
	}
	return nil
}

// validateCommand: every placeholder names the file (of an upload) or a
// parameter; no argument is empty, too long or has a NUL byte.
func (a PackageArgs) validateCommand() error {
	for i, arg := range a.Command {
		if arg == "" || len(arg) > MaxPackageArg || slices.Contains([]byte(arg), 0) {
			return fmt.Errorf("command argument %d is empty, longer than %d bytes or has a NUL byte", i, MaxPackageArg)
		}
		for _, n := range Placeholders(arg) {
			_, p := a.Params[n]
			_, s := a.Secrets[n]
			if !p && !s && (n != "file" || a.File == nil) {
				return fmt.Errorf("command argument %d: {{%s}} names no parameter", i, n)
			}
		}
	}
	return nil
}

func validDetection(d core.Detection) error {
	field, v := "name", d.Name
	switch d.Kind {
	case core.DetectRegistry:
		field, v = "display_name or product_code", d.DisplayName+d.ProductCode
	case core.DetectFile, core.DetectAppBundle:
		field, v = "path", d.Path
	case core.DetectService, core.DetectOSPackage:
	default:
		return fmt.Errorf("unknown detection kind %q", d.Kind)
	}
	if v == "" {
		return fmt.Errorf("a %s detection rule needs its %s", d.Kind, field)
	}
	return nil
}

// fileExt is name's extension, "" if none.
func fileExt(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i:]
	}
	return ""
}
