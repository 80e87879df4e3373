//go:build !unix

package logsrc

import "os"

// fileID is 0 where os.FileInfo exposes no inode (Windows, Plan 9, wasm):
// a rotation then shows only as a file shorter than the bookmark.
func fileID(os.FileInfo) uint64 { return 0 }
