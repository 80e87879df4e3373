package agent

import (
	"context"
	"os/exec"
	"time"
)

// systemDown asks systemd whether a reboot or power-off is under way.
func systemDown() string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "systemctl", "list-jobs", "--no-legend", "--no-pager").Output()
	if err != nil {
		return ""
	}
	return parseSystemdJobs(out)
}
