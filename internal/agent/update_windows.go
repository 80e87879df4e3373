package agent

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/windows"
)

// syncDir: NTFS journals renames; Windows cannot fsync a folder.
func syncDir(string) error { return nil }

// replaceExe puts from in place of exe. A running executable cannot be
// replaced but can be renamed: exe goes to <exe>.old (removed at the next
// start), then from to exe (MoveFileEx). If the second rename fails the
// first is undone.
func replaceExe(from, exe string) error {
	os.Remove(exe + suffixOld)
	if err := os.Rename(exe, exe+suffixOld); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Rename(from, exe); err != nil {
		if rerr := os.Rename(exe+suffixOld, exe); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	return nil
}

// detach starts cmd without a console, in its own process group and, if
// breakaway, outside the service's job object.
func detach(cmd *exec.Cmd, breakaway bool) error {
	flags := uint32(windows.DETACHED_PROCESS | windows.CREATE_NEW_PROCESS_GROUP)
	if breakaway {
		flags |= windows.CREATE_BREAKAWAY_FROM_JOB
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: flags, HideWindow: true}
	return nil
}

// watchdogCommand runs the watchdog detached and outside the service's
// job, so that the SCM's stop of the agent does not end it.
func watchdogCommand(prev string, args []string, _ bool) (*exec.Cmd, error) {
	cmd := exec.Command(prev, args...)
	return cmd, detach(cmd, true)
}

// signalStop ends process pid: Windows has no SIGTERM for a process
// without a console.
func signalStop(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return err
	}
	return p.Kill()
}
