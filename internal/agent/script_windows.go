//go:build windows

package agent

import (
	"fmt"
	"os/exec"

	"golang.org/x/sys/windows"
)

// procTree holds a script's processes in a job object, so that the
// timeout ends the whole tree: Windows has no process groups to kill, and
// killing cmd.exe or powershell.exe alone leaves its children running.
// (A child started in the moment between the start and the assignment
// escapes; Go offers no suspended start to close that gap.)
type procTree struct{ job windows.Handle }

// newProcTree creates the job and makes cmd's cancellation terminate it.
func newProcTree(cmd *exec.Cmd) (*procTree, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return nil, fmt.Errorf("creating a job object: %w", err)
	}
	cmd.Cancel = func() error { return windows.TerminateJobObject(job, 1) }
	return &procTree{job: job}, nil
}

// started puts the started process into the job; its children follow.
func (t *procTree) started(cmd *exec.Cmd) error {
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE, false, uint32(cmd.Process.Pid))
	if err != nil {
		return fmt.Errorf("opening the script's process: %w", err)
	}
	defer windows.CloseHandle(h)
	if err := windows.AssignProcessToJobObject(t.job, h); err != nil {
		return fmt.Errorf("adding the script to its job object: %w", err)
	}
	return nil
}

func (t *procTree) close() { windows.CloseHandle(t.job) }

// oemCodePage is the code page cmd.exe reads batch files in.
func oemCodePage() uint32 {
	cp, _, _ := getOEMCP.Call()
	return uint32(cp)
}
