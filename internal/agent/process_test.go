package agent

import (
	"os"
	"os/exec"
	"runtime"
	"testing"
)

// TestStateAlive: the state file's PID counts as the agent only while the
// process with that PID has the recorded image name and start time.
func TestStateAlive(t *testing.T) {
	image, started, err := processIdentity(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	me := State{Running: true, PID: os.Getpid(), Image: image, StartedMS: started}
	if !me.Alive() {
		t.Errorf("%+v: this very process not recognised", me)
	}
	for name, s := range map[string]State{
		"stopped":         {Running: false, PID: os.Getpid(), Image: image, StartedMS: started},
		"other image":     {Running: true, PID: os.Getpid(), Image: "wacht-agent-other", StartedMS: started},
		"started earlier": {Running: true, PID: os.Getpid(), Image: image, StartedMS: started - 60_000},
		"started later":   {Running: true, PID: os.Getpid(), Image: image, StartedMS: started + 60_000},
	} {
		if s.Alive() {
			t.Errorf("%s: %+v counted as the agent", name, s)
		}
	}

	bin := "true"
	if runtime.GOOS == "windows" {
		bin = "hostname"
	}
	p := exec.Command(bin)
	if err := p.Run(); err != nil {
		t.Skip("cannot run a short process:", err)
	}
	if gone := (State{Running: true, PID: p.Process.Pid}); gone.Alive() {
		t.Errorf("exited process %d counted as the agent", p.Process.Pid)
	}
}
