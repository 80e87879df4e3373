// Package svcmgr reads and controls the operating system's services: the
// Windows service control manager, systemd over D-Bus, SysV init scripts
// where systemd does not run (containers, old distributions), and launchd
// on macOS. The services check and the agent's service actions both use
// it. Parsing is portable and tested on captured outputs; OS access sits
// in per-OS files.
package svcmgr

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Service is one service as a manager reports it.
type Service struct {
	Name        string
	Display     string // Windows display name; empty elsewhere
	Description string
	// StartType is protocol.StartAutomatic, StartManual, StartDisabled or
	// the manager's own word (systemd "static", Windows "boot").
	StartType string
	// Auto: set to start automatically and expected to keep running
	// (Windows "Automatic" without triggers, systemd "enabled", an S link
	// in a SysV runlevel, a launchd KeepAlive job).
	Auto bool
	// Running: doing what it should. For a systemd oneshot unit that means
	// "not failed"; for an automatic service whose start condition is
	// unmet, it counts as running too.
	Running bool
	// State is the manager's own word for the state ("stopped", "failed",
	// "inactive/dead"), shown to technicians.
	State string
	// Err says why the manager could not read the service (the call and
	// its reason); the fields above but Name are then unknown.
	Err string
}

// Manager is one OS service manager. Operations on a service that does
// not exist fail with ErrNotFound, operations the manager cannot do with
// errors.ErrUnsupported, a stop that does not finish within StopTimeout
// with ErrTimeout.
type Manager interface {
	// Kind names the manager: scm, systemd, sysv or launchd.
	Kind() string
	// List returns every service the manager knows.
	List(ctx context.Context) ([]Service, error)
	// Get reads one service.
	Get(ctx context.Context, name string) (Service, error)
	// Start starts a service and returns once the manager reports the
	// start done (or failed).
	Start(ctx context.Context, name string) error
	// Stop stops a service and returns once it stopped.
	Stop(ctx context.Context, name string) error
	// SetStartType sets protocol.StartAutomatic, StartManual or
	// StartDisabled.
	SetStartType(ctx context.Context, name, startType string) error
	// Close releases the manager's connection.
	Close() error
}

// Errors of a Manager's operations.
var (
	ErrNotFound = errors.New("no such service")
	ErrTimeout  = errors.New("timed out")
)

// StopTimeout is how long a stop may take before it is reported as failed.
const StopTimeout = 60 * time.Second

// Restart stops and starts a service, in one step where the manager has
// one (launchd's kickstart -k).
func Restart(ctx context.Context, m Manager, name string) error {
	if r, ok := m.(interface {
		Restart(ctx context.Context, name string) error
	}); ok {
		return r.Restart(ctx, name)
	}
	if err := m.Stop(ctx, name); err != nil {
		return err
	}
	return m.Start(ctx, name)
}

// CallError is a failed OS call or program, worded in English and German
// (a check.Localized error, so the services check says which call failed).
type CallError struct {
	Call string
	Err  error
}

func (e *CallError) Error() string { return e.Call + " failed: " + e.Err.Error() }

// Unwrap returns the call's own error.
func (e *CallError) Unwrap() error { return e.Err }

// Localized returns the message in both languages.
func (e *CallError) Localized() core.Text {
	return core.Text{EN: e.Error(), DE: e.Call + " fehlgeschlagen: " + e.Err.Error()}
}

func callErr(call string, err error) error {
	if err == nil {
		return nil
	}
	return &CallError{Call: call, Err: err}
}

// checkName refuses names that could leave a folder or read as an option.
func checkName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\\\x00") || strings.HasPrefix(name, "-") {
		return fmt.Errorf("%w: invalid service name %q", ErrNotFound, name)
	}
	return nil
}

// checkStartType refuses start types other than the three settable ones.
func checkStartType(t string) error {
	switch t {
	case protocol.StartAutomatic, protocol.StartManual, protocol.StartDisabled:
		return nil
	}
	return fmt.Errorf("unknown start type %q (automatic, manual or disabled)", t)
}

// stopTimeout words a stop that did not finish in time.
func stopTimeout(name string, limit time.Duration) error {
	return fmt.Errorf("%s did not stop within %s: %w", name, limit, ErrTimeout)
}
