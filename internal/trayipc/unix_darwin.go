package trayipc

import "golang.org/x/sys/unix"

// DefaultAddress is where the agent listens for trays.
func DefaultAddress() string { return "/var/run/wacht-agent/tray.sock" }

// peerCred reads LOCAL_PEERCRED (the effective uid at connect()) and
// LOCAL_PEERPID; the PID is left 0 where the OS does not say.
func peerCred(fd int) (uid uint32, pid int, err error) {
	xu, err := unix.GetsockoptXucred(fd, unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return 0, 0, err
	}
	pid, err = unix.GetsockoptInt(fd, unix.SOL_LOCAL, unix.LOCAL_PEERPID)
	if err != nil {
		pid = 0
	}
	return xu.Uid, pid, nil
}
