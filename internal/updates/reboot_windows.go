//go:build windows

package updates

import (
	"context"
	"errors"
	"syscall"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/wacht-rmm/wacht/internal/core"
)

// RebootPending says whether this Windows machine waits for a restart, by
// the registry markers windowsReboot reads.
func RebootPending(ctx context.Context) core.RebootState {
	_ = ctx
	return windowsReboot(hklm{})
}

// hklm is regReader over HKEY_LOCAL_MACHINE (the 64-bit view).
type hklm struct{}

func notExist(err error) bool {
	return errors.Is(err, registry.ErrNotExist) || errors.Is(err, syscall.ERROR_FILE_NOT_FOUND) || errors.Is(err, syscall.ERROR_PATH_NOT_FOUND)
}

func (hklm) open(path string) (registry.Key, bool, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, path, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if notExist(err) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	return k, true, nil
}

func (h hklm) key(path string) (bool, time.Time, error) {
	k, found, err := h.open(path)
	if !found || err != nil {
		return false, time.Time{}, err
	}
	defer k.Close()
	var mod time.Time
	var ft windows.Filetime
	if err := windows.RegQueryInfoKey(windows.Handle(k), nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, &ft); err == nil {
		mod = time.Unix(0, ft.Nanoseconds())
	}
	return true, mod, nil
}

func (h hklm) multi(path, name string) ([]string, bool, error) {
	k, found, err := h.open(path)
	if !found || err != nil {
		return nil, false, err
	}
	defer k.Close()
	v, _, err := k.GetStringsValue(name)
	if notExist(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

func (h hklm) str(path, name string) (string, bool, error) {
	k, found, err := h.open(path)
	if !found || err != nil {
		return "", false, err
	}
	defer k.Close()
	v, _, err := k.GetStringValue(name)
	if notExist(err) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return v, true, nil
}
