package trayipc

import "golang.org/x/sys/unix"

// DefaultAddress is where the agent listens for trays.
func DefaultAddress() string { return "/run/wacht-agent/tray.sock" }

// peerCred reads SO_PEERCRED: the credentials of the process that
// connected, fixed at connect().
func peerCred(fd int) (uid uint32, pid int, err error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return 0, 0, err
	}
	return cred.Uid, int(cred.Pid), nil
}
