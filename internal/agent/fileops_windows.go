package agent

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

func isLocked(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_LOCK_VIOLATION)
}

func isDiskFull(err error) bool {
	return errors.Is(err, windows.ERROR_DISK_FULL) || errors.Is(err, windows.ERROR_HANDLE_DISK_FULL)
}

// renameNoReplace moves from to to unless to exists: MoveFileEx without
// MOVEFILE_REPLACE_EXISTING refuses (ERROR_ALREADY_EXISTS, fs.ErrExist).
func renameNoReplace(from, to string) error {
	f, err := windows.UTF16PtrFromString(from)
	if err != nil {
		return err
	}
	t, err := windows.UTF16PtrFromString(to)
	if err != nil {
		return err
	}
	return windows.MoveFileEx(f, t, windows.MOVEFILE_COPY_ALLOWED|windows.MOVEFILE_WRITE_THROUGH)
}

// listDrives lists the drive letters in use.
func listDrives() (protocol.FilesList, error) {
	mask, err := windows.GetLogicalDrives()
	if err != nil {
		return protocol.FilesList{}, fmt.Errorf("listing the drives: %w", err)
	}
	list := protocol.FilesList{Entries: []protocol.FileEntry{}}
	for i := range 26 {
		if mask&(1<<i) != 0 {
			list.Entries = append(list.Entries, protocol.FileEntry{Name: string(rune('A'+i)) + `:\`, Type: "drive"})
		}
	}
	return list, nil
}
