//go:build windows

package disk

import (
	"slices"
	"strings"

	"golang.org/x/sys/windows"

	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/core"
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

// lostVolumes finds the fixed drives Windows has that the volume list left
// out: gopsutil drops a drive whose GetVolumeInformation fails without a
// word, so the check asks again for the reason.
func lostVolumes(found []partition) []Unread {
	mask, err := windows.GetLogicalDrives()
	if err != nil {
		return []Unread{{Err: msg.Call("GetLogicalDrives", err)}}
	}
	var out []Unread
	for i := range 26 {
		m := string(rune('A'+i)) + ":"
		if mask&(1<<i) == 0 || driveType(m) != "fixed" ||
			slices.ContainsFunc(found, func(p partition) bool { return sameMount(goos, p.Mount, m) }) {
			continue
		}
		root, _ := windows.UTF16PtrFromString(m + `\`)
		err := msg.Call("GetVolumeInformation", windows.GetVolumeInformation(root, nil, 0, nil, nil, nil, nil, 0))
		if err == nil {
			err = &msg.OSError{Text: core.Text{EN: "the volume list left it out", DE: "die Datenträgerliste hat ihn ausgelassen"}}
		}
		out = append(out, Unread{Mount: m, Err: err})
	}
	return out
}
