package agent

import "github.com/wacht-rmm/wacht/internal/protocol"

// goodbyeReason tells the server why the agent stops. Telling a machine
// shutdown or reboot apart from a service stop needs OS-specific probing
// (systemd jobs, Windows SERVICE_CONTROL_PRESHUTDOWN, launchd); until that
// exists every clean stop is a service stop, which the server treats like
// a shutdown: shown, and an alert only if the device stays away too long.
func goodbyeReason() string { return protocol.GoodbyeServiceStop }
