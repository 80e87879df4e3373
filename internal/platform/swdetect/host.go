package swdetect

import (
	"context"
	"errors"
	"io/fs"
	"os"

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
