package swdetect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/platform/svcmgr"
)

// host is this machine; its OS-specific methods are in host_<os>.go.
type host struct{}

// statFile returns errAbsent for a file that does not exist.
func statFile(p string) error {
	_, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return errAbsent
	}
	return err
}

// serviceExists asks the OS's service manager (svcmgr).
func (host) serviceExists(ctx context.Context, name string) error {
	m, err := svcmgr.New(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	_, err = m.Get(ctx, name)
	if errors.Is(err, svcmgr.ErrNotFound) {
		return errAbsent
	}
	return err
}

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
