//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package ping

import (
	"errors"
	"os"
	"syscall"
)

// errProtoUnavailable marks a socket kind the kernel does not offer.
var errProtoUnavailable = errors.New("ICMP socket kind not available")

// socketModes lists the socket kinds to try: privileged raw sockets first
// when we may have them (root or CAP_NET_RAW), then unprivileged datagram
// sockets.
func socketModes(mode string) []bool {
	switch mode {
	case ModePrivileged:
		return []bool{true}
	case ModeUnprivileged:
		return []bool{false}
	}
	return []bool{true, false}
}

func classify(err error) error {
	if errors.Is(err, syscall.EPROTONOSUPPORT) || errors.Is(err, syscall.EAFNOSUPPORT) {
		return errors.Join(errProtoUnavailable, err)
	}
	if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
		return errors.Join(os.ErrPermission, err)
	}
	return err
}
