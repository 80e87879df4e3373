//go:build windows

package agent

import "golang.org/x/sys/windows"

// canAskToEnd: a Windows service or background process has no window to
// ask to close; it is ended with TerminateProcess.
const canAskToEnd = false

func askToEnd(int32) error { return nil }

func forceEnd(pid int32) error {
	h, err := windows.OpenProcess(windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		return err
	}
	defer windows.CloseHandle(h)
	return windows.TerminateProcess(h, 1)
}
