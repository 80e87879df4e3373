package agent

import (
	"errors"

	"golang.org/x/sys/unix"
)

// renameNoReplace moves from to to atomically unless to exists
// (fs.ErrExist), so that no check-then-rename race replaces a file.
func renameNoReplace(from, to string) error {
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return renameIfAbsent(from, to) // a file system without the flag
	}
	return err
}
