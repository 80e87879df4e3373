//go:build unix

package agent

import "syscall"

// canAskToEnd: Unix processes can be asked to end (SIGTERM) before being
// forced.
const canAskToEnd = true

func askToEnd(pid int32) error { return ignoreGone(syscall.Kill(int(pid), syscall.SIGTERM)) }

func forceEnd(pid int32) error { return ignoreGone(syscall.Kill(int(pid), syscall.SIGKILL)) }

func ignoreGone(err error) error {
	if err == syscall.ESRCH {
		return nil
	}
	return err
}
