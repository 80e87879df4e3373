//go:build windows

package disk

import (
	"strings"

	"golang.org/x/sys/windows"
)

const goos = "windows"

// driveType asks Windows what kind of drive holds mount ("C:" or a folder).
func driveType(mount string) string {
	root := mount
	if !strings.HasSuffix(root, `\`) {
		root += `\`
	}
	p, err := windows.UTF16PtrFromString(root)
	if err != nil {
		return ""
	}
	switch windows.GetDriveType(p) {
	case windows.DRIVE_FIXED:
		return "fixed"
	case windows.DRIVE_REMOVABLE:
		return "removable"
	case windows.DRIVE_REMOTE:
		return "remote"
	case windows.DRIVE_CDROM:
		return "cdrom"
	case windows.DRIVE_RAMDISK:
		return "ramdisk"
	}
	return ""
}
