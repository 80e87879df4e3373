//go:build !linux && !darwin

package updates

import (
	"errors"
	"fmt"
	"os/exec"
)

// runAs: running a tool as another user is implemented for Linux and
// macOS only (Homebrew); Windows sources run as the agent.
func runAs(_ *exec.Cmd, name string) ([]string, error) {
	return nil, fmt.Errorf("running a tool as %q: %w", name, errors.ErrUnsupported)
}

// gentle: elsewhere a cancelled run is killed (no SIGTERM).
func gentle(*exec.Cmd) {}
