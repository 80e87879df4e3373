//go:build !darwin && !windows

package backup

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
)

// acrocmdPaths: the Acronis agent for Linux links acrocmd into /usr/sbin
// and keeps it under /usr/lib/Acronis/CommandLineTool.
var acrocmdPaths = []string{"/usr/sbin/acrocmd", "/usr/lib/Acronis/CommandLineTool/acrocmd"}

// osTools are the other programs the check starts here.
var osTools = []string{"/usr/bin/systemctl", "/bin/systemctl"}

// acronisService asks systemd for the agent's unit; `systemctl is-active`
// prints the state and exits non-zero for anything but "active".
func acronisService(ctx context.Context) (string, error) {
	var out bytes.Buffer
	cmd, err := check.Command(ctx, "systemctl", "is-active", "acronis_mms.service")
	if err != nil {
		return "", err
	}
	cmd.Stdout = &out
	err = cmd.Run()
	st := strings.TrimSpace(out.String())
	var exit *exec.ExitError
	switch {
	case st == "active":
		return "running", nil
	case st != "" && (err == nil || errors.As(err, &exit)):
		return st, nil
	}
	return "", err
}

// osEnv on Linux and other Unix systems: restic, borg, Acronis and the
// generic rule. They are read only when configured, so that a machine
// without parameters keeps the backup check out of its default set.
func osEnv() env {
	return env{now: time.Now, readers: portableReaders()}
}
