package agent

import (
	"fmt"
	"strings"

	"github.com/shirou/gopsutil/v4/process"
)

// startSlackMS is how far two readings of one process's start time may
// differ: the OS keeps it exactly, gopsutil derives it from boot time and
// clock ticks on Linux.
const startSlackMS = 1000

// processIdentity reads what tells one process apart from a later one that
// got the same PID: its image name and its start time (Unix milliseconds),
// as the OS records them.
func processIdentity(pid int) (image string, startedMS int64, err error) {
	p, err := process.NewProcess(int32(pid))
	if err != nil {
		return "", 0, fmt.Errorf("process %d: %w", pid, err)
	}
	if image, err = p.Name(); err != nil {
		return "", 0, fmt.Errorf("image name of process %d: %w", pid, err)
	}
	if startedMS, err = p.CreateTime(); err != nil {
		return "", 0, fmt.Errorf("start time of process %d: %w", pid, err)
	}
	return image, startedMS, nil
}

// Alive reports whether the agent process the state file describes still
// runs: a process with its PID exists and has the recorded image name and
// start time. PIDs are reused (on Windows within seconds), so a live PID
// alone proves nothing. A state file written without the identity (an
// older agent) is checked by PID only.
func (s State) Alive() bool {
	if !s.Running || s.PID <= 0 {
		return false
	}
	image, started, err := processIdentity(s.PID)
	if err != nil {
		return false
	}
	if s.Image != "" && !strings.EqualFold(image, s.Image) {
		return false
	}
	if s.StartedMS != 0 && (started < s.StartedMS-startSlackMS || started > s.StartedMS+startSlackMS) {
		return false
	}
	return true
}
