//go:build !linux && !darwin && !windows

package agent

import (
	"errors"
	"os/exec"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// loggedOnUser: this OS has no supported way to find the logged-on user.
func loggedOnUser(osTool) (*scriptUser, error) {
	return nil, Errorf(protocol.CodeUnsupported, "Running a script as the logged-on user is not supported on this OS.",
		"Ein Skript als angemeldeter Benutzer auszuführen wird auf diesem Betriebssystem nicht unterstützt.")
}

func userRunDir(string, *scriptUser) (string, error) { return "", errors.ErrUnsupported }

type sysUser struct{}

func (sysUser) apply(*exec.Cmd) {}

func (sysUser) close() {}
