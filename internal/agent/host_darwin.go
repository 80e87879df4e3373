//go:build darwin

package agent

import (
	"context"
	"os/exec"
	"time"
)

// hasDesktop: every Mac has one; servers are rare enough to be set by hand.
func hasDesktop() bool { return true }

// hasBattery asks pmset, which lists an "InternalBattery" on notebooks.
func hasBattery() bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "/usr/bin/pmset", "-g", "batt").Output()
	if err != nil {
		return false
	}
	return pmsetHasBattery(string(out))
}
