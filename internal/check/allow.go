package check

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Allowlist is what the agent's local configuration (agent.json, written
// at install and never changed by the server) allows checks to start and
// to read on top of the built-in defaults. An entry is an absolute path; it
// allows that file and everything under it when it is a folder.
type Allowlist struct {
	Executables []string `json:"executables,omitempty"`
	Paths       []string `json:"paths,omitempty"`
}

// Validate refuses entries that are not absolute paths.
func (a Allowlist) Validate() error {
	for _, l := range []struct {
		name    string
		entries []string
	}{{"executables", a.Executables}, {"paths", a.Paths}} {
		for _, e := range l.entries {
			if !filepath.IsAbs(e) {
				return fmt.Errorf("allow.%s: %q is not an absolute path", l.name, e)
			}
		}
	}
	return nil
}

var (
	allowMu  sync.RWMutex
	local    Allowlist
	builtins []string // executables the checks start by default
)

// SetAllowlist sets the local allowlist and returns the one before; the
// agent calls it once at start from its configuration.
func SetAllowlist(a Allowlist) (previous Allowlist) {
	allowMu.Lock()
	defer allowMu.Unlock()
	previous, local = local, a
	return previous
}

// AllowBuiltin adds programs that a check starts by default (the known
// install paths of the tools it reads, or a folder of them such as
// /etc/init.d) to the allowlist. Checks call it from init() with the same
// lists they search; parameters never reach it. Paths that are not
// absolute on this OS (another OS's) are left out.
func AllowBuiltin(paths ...string) {
	allowMu.Lock()
	defer allowMu.Unlock()
	for _, p := range paths {
		if filepath.IsAbs(p) {
			builtins = append(builtins, filepath.Clean(p))
		}
	}
}

// Builtin returns the built-in executables, for documentation and
// `wacht-agent allowlist`.
func Builtin() []string {
	allowMu.RLock()
	defer allowMu.RUnlock()
	out := slices.Clone(builtins)
	slices.Sort(out)
	return slices.Compact(out)
}

// NotAllowedError is returned by Command and Readable for what the local
// allowlist does not allow.
type NotAllowedError struct {
	Kind Kind // Executable or ReadPath
	Path string
}

func (e *NotAllowedError) Error() string { return e.Text().EN }

// Localized is Text, so that a refusal is a Localized error.
func (e *NotAllowedError) Localized() core.Text { return e.Text() }

// Text explains the refusal and how to allow it, in English and German.
func (e *NotAllowedError) Text() core.Text {
	if e.Kind == Executable {
		return core.Text{
			EN: fmt.Sprintf("the agent's local configuration does not allow starting %s; to allow it, add it to \"allow\": {\"executables\": [...]} in agent.json on this device and restart the agent", e.Path),
			DE: fmt.Sprintf("die lokale Konfiguration des Agenten erlaubt nicht, %s zu starten; um es zu erlauben, tragen Sie es in agent.json auf diesem Gerät unter \"allow\": {\"executables\": [...]} ein und starten Sie den Agenten neu", e.Path),
		}
	}
	return core.Text{
		EN: fmt.Sprintf("the agent's local configuration does not allow reading %s; to allow it, add it to \"allow\": {\"paths\": [...]} in agent.json on this device and restart the agent", e.Path),
		DE: fmt.Sprintf("die lokale Konfiguration des Agenten erlaubt nicht, %s zu lesen; um es zu erlauben, tragen Sie es in agent.json auf diesem Gerät unter \"allow\": {\"paths\": [...]} ein und starten Sie den Agenten neu", e.Path),
	}
}

// ErrorText is err's message in English and German: the words of the first
// Localized error in err's chain (a refusal, a failed OS call), else err's
// message in both.
func ErrorText(err error) core.Text {
	if le := Localized(nil); errors.As(err, &le) {
		return le.Localized()
	}
	return core.Text{EN: err.Error(), DE: err.Error()}
}

// Command returns the command that starts name with args (an argument
// array, never a shell) when the allowlist allows the program: a bare name
// is looked up in PATH first, and the absolute path found must be a
// built-in executable or one the local configuration allows. Every program
// a check starts goes through here.
func Command(ctx context.Context, name string, args ...string) (*exec.Cmd, error) {
	path := name
	if !strings.ContainsAny(name, `/\`) {
		p, err := exec.LookPath(name)
		if err != nil {
			return nil, err
		}
		path = p
	}
	if !filepath.IsAbs(path) {
		return nil, &NotAllowedError{Kind: Executable, Path: name}
	}
	path = filepath.Clean(path)
	allowMu.RLock()
	ok := allowedBy(path, builtins) || allowedBy(path, local.Executables)
	allowMu.RUnlock()
	if !ok {
		return nil, &NotAllowedError{Kind: Executable, Path: path}
	}
	return exec.CommandContext(ctx, path, args...), nil
}

// Readable checks a file or folder that a parameter names against the
// local allowlist (built-in defaults need no check). The path and, when it
// exists, its target after symbolic links must both be allowed, so a link
// placed in an allowed folder cannot lead elsewhere.
func Readable(path string) error {
	if !filepath.IsAbs(path) {
		return &NotAllowedError{Kind: ReadPath, Path: path}
	}
	clean := filepath.Clean(path)
	allowMu.RLock()
	paths := local.Paths
	allowMu.RUnlock()
	if !allowedBy(clean, paths) {
		return &NotAllowedError{Kind: ReadPath, Path: clean}
	}
	if real, err := filepath.EvalSymlinks(clean); err == nil && !allowedBy(real, paths) {
		return &NotAllowedError{Kind: ReadPath, Path: real}
	}
	return nil
}

// allowedBy reports whether path is one of entries or under one of them.
// Windows compares without regard to case.
func allowedBy(path string, entries []string) bool {
	fold := runtime.GOOS == "windows"
	eq := func(a, b string) bool {
		if fold {
			return strings.EqualFold(a, b)
		}
		return a == b
	}
	for _, e := range entries {
		e = filepath.Clean(e)
		if eq(path, e) {
			return true
		}
		if len(path) <= len(e) {
			continue
		}
		prefix := e
		if !strings.HasSuffix(prefix, string(filepath.Separator)) {
			prefix += string(filepath.Separator)
		}
		if len(path) > len(prefix) && eq(path[:len(prefix)], prefix) {
			return true
		}
	}
	return false
}
