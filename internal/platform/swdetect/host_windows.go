package swdetect

import (
	"context"
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

const uninstallKey = `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`

// uninstallEntries reads the machine's uninstall entries in the 64-bit
// and the 32-bit registry view (WOW6432Node).
func (host) uninstallEntries(context.Context) ([]UninstallEntry, error) {
	var out []UninstallEntry
	for _, v := range []struct {
		name   string
		access uint32
	}{{"64", registry.WOW64_64KEY}, {"32", registry.WOW64_32KEY}} {
		es, err := readUninstall(v.access, v.name)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	return out, nil
}

func readUninstall(access uint32, view string) ([]UninstallEntry, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, uninstallKey, registry.READ|access)
	if errors.Is(err, registry.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening HKLM\\%s (%s-bit): %w", uninstallKey, view, err)
	}
	defer k.Close()
	names, err := k.ReadSubKeyNames(-1)
	if err != nil {
		return nil, fmt.Errorf("listing HKLM\\%s (%s-bit): %w", uninstallKey, view, err)
	}
	out := make([]UninstallEntry, 0, len(names))
	for _, n := range names {
		sk, err := registry.OpenKey(k, n, registry.QUERY_VALUE|access)
		if err != nil {
			continue // removed meanwhile, or not readable: not an installed product
		}
		e := UninstallEntry{Key: n, View: view}
		e.DisplayName, _, _ = sk.GetStringValue("DisplayName")
		e.DisplayVersion, _, _ = sk.GetStringValue("DisplayVersion")
		sk.Close()
		out = append(out, e)
	}
	return out, nil
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
