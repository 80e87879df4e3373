//go:build unix

package logsrc

import (
	"os"
	"syscall"
)

// fileID returns the inode number, which survives renames and so tells a
// rotated file from its successor.
func fileID(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
