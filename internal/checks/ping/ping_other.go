//go:build !(linux || darwin || windows || freebsd || netbsd || openbsd || dragonfly)

package ping

import (
	"context"
	"errors"
	"net"
)

// osPinger reports that ICMP is not supported on this platform.
type osPinger struct{}

func (osPinger) Ping(context.Context, net.IP, options) (stats, error) {
	return stats{}, errors.ErrUnsupported
}
