package agent

import (
	"bufio"
	"bytes"
	"strings"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// goodbyeReason tells the server why the agent stops: the machine shuts
// down, reboots, or only the service stops. Where the OS cannot tell
// (systemDown returns ""), every clean stop is a service stop, which the
// server treats like a shutdown: shown, and an alert only if the device
// stays away too long.
func goodbyeReason() string {
	if r := systemDown(); r != "" {
		return r
	}
	return protocol.GoodbyeServiceStop
}

// parseSystemdJobs reads `systemctl list-jobs --no-legend --no-pager` and
// returns GoodbyeReboot or GoodbyeShutdown if a reboot or power-off target
// is queued, else "".
func parseSystemdJobs(out []byte) string {
	reason := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		switch f[1] {
		case "reboot.target", "kexec.target", "soft-reboot.target":
			return protocol.GoodbyeReboot
		case "poweroff.target", "halt.target", "shutdown.target":
			reason = protocol.GoodbyeShutdown
		}
	}
	return reason
}
