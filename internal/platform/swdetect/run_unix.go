//go:build linux || darwin

package swdetect

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/wacht-rmm/wacht/internal/check"
)

// run starts an allowed program and returns its standard output; exit
// status 1 is returned as *exec.ExitError with the output for the caller
// to read (dpkg-query and rpm say "not installed" that way).
func run(ctx context.Context, name string, args ...string) (string, error) {
	cmd, err := check.Command(ctx, name, args...)
	if err != nil {
		return "", err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out) + stderr.String(), fmt.Errorf("%w: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), err
}
