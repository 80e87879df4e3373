package swdetect

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/wacht-rmm/wacht/internal/platform/uninstallreg"
)

// uninstallEntries reads the machine's uninstall entries (HKLM, both
// views): software deployed to the machine, not one user's installs.
func (host) uninstallEntries(ctx context.Context) ([]UninstallEntry, error) {
	return uninstallreg.Machine(ctx)
}

// fileVersion returns the file's version resource (FileVersion of
// VS_FIXEDFILEINFO), "" for a file without one.
func (host) fileVersion(_ context.Context, p string) (string, error) {
	if err := statFile(p); err != nil {
		return "", err
	}
	size, err := windows.GetFileVersionInfoSize(p, nil)
	if errors.Is(err, windows.ERROR_RESOURCE_TYPE_NOT_FOUND) || errors.Is(err, windows.ERROR_RESOURCE_DATA_NOT_FOUND) || size == 0 {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("GetFileVersionInfoSize: %w", err)
	}
	buf := make([]byte, size)
	if err := windows.GetFileVersionInfo(p, 0, size, unsafe.Pointer(&buf[0])); err != nil {
		return "", fmt.Errorf("GetFileVersionInfo: %w", err)
	}
	var fixed *windows.VS_FIXEDFILEINFO
	var n uint32
	if err := windows.VerQueryValue(unsafe.Pointer(&buf[0]), `\`, unsafe.Pointer(&fixed), &n); err != nil {
		return "", fmt.Errorf("VerQueryValue: %w", err)
	}
	if n == 0 || fixed == nil {
		return "", nil
	}
	return fmt.Sprintf("%d.%d.%d.%d", fixed.FileVersionMS>>16, fixed.FileVersionMS&0xffff,
		fixed.FileVersionLS>>16, fixed.FileVersionLS&0xffff), nil
}

func (host) osPackage(context.Context, string) (string, error) { return "", errors.ErrUnsupported }

func (host) bundleVersion(context.Context, string) (string, error) { return "", errors.ErrUnsupported }
