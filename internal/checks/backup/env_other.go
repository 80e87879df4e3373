//go:build !darwin && !windows

package backup

import "time"

// acrocmdPaths: the Acronis agent for Linux links acrocmd into /usr/sbin
// and keeps it under /usr/lib/Acronis/CommandLineTool.
var acrocmdPaths = []string{"/usr/sbin/acrocmd", "/usr/lib/Acronis/CommandLineTool/acrocmd"}

// osEnv on Linux and other Unix systems: restic, borg, Acronis and the
// generic rule. They are read only when configured, so that a machine
// without parameters keeps the backup check out of its default set.
func osEnv() env {
	return env{now: time.Now, readers: portableReaders()}
}
