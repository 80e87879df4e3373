//go:build windows

package ping

import (
	"errors"
	"os"
)

var errProtoUnavailable = errors.New("ICMP socket kind not available")

// socketModes: Windows has only raw ICMP sockets in pro-bing, which work for
// SYSTEM and administrators.
func socketModes(mode string) []bool {
	if mode == ModeUnprivileged {
		return []bool{false}
	}
	return []bool{true}
}

func classify(err error) error {
	if errors.Is(err, os.ErrPermission) {
		return errors.Join(os.ErrPermission, err)
	}
	return err
}
