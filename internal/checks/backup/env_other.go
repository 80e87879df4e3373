//go:build !darwin && !windows

package backup

import "time"

// osEnv on Linux and other Unix systems: restic, borg and the generic
// rule, all of which need parameters, so nothing is auto-detected.
func osEnv() env {
	return env{now: time.Now, readers: portableReaders()}
}
