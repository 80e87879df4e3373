package agent

import (
	"errors"

	"golang.org/x/sys/unix"
)

// renameNoReplace moves from to to atomically unless to exists
// (fs.ErrExist).
func renameNoReplace(from, to string) error {
	err := unix.RenamexNp(from, to, unix.RENAME_EXCL)
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EINVAL) {
		return renameIfAbsent(from, to)
	}
	return err
}
