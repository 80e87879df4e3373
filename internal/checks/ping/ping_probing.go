//go:build linux || darwin || windows || freebsd || netbsd || openbsd || dragonfly

package ping

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"

	probing "github.com/prometheus-community/pro-bing"
)

// osPinger sends real ICMP echo requests through pro-bing; with is
// replaced in tests to see the fallback between socket kinds.
type osPinger struct {
	with func(ctx context.Context, ip net.IP, o options, privileged bool) (stats, error)
}

func (p osPinger) Ping(ctx context.Context, ip net.IP, o options) (stats, error) {
	with := p.with
	if with == nil {
		with = pingWith
	}
	var errs []error
	for _, privileged := range socketModes(o.Mode) {
		st, err := with(ctx, ip, o, privileged)
		if err == nil {
			return st, nil
		}
		if !errors.Is(err, os.ErrPermission) && !errors.Is(err, errProtoUnavailable) {
			return stats{}, err
		}
		errs = append(errs, err)
	}
	if o.Mode == ModeAuto {
		return stats{}, fmt.Errorf("%w (%v)", ErrNoSocket, errors.Join(errs...))
	}
	return stats{}, fmt.Errorf("opening %s ICMP socket: %w", o.Mode, errors.Join(errs...))
}

func pingWith(ctx context.Context, ip net.IP, o options, privileged bool) (stats, error) {
	p := probing.New(ip.String())
	p.SetIPAddr(&net.IPAddr{IP: ip})
	p.SetPrivileged(privileged)
	p.Count, p.Interval, p.Timeout = o.Count, o.Interval, o.Timeout
	if err := p.RunWithContext(ctx); err != nil {
		return stats{}, classify(err)
	}
	s := p.Statistics()
	return stats{Sent: s.PacketsSent, Recv: s.PacketsRecv, Min: s.MinRtt, Avg: s.AvgRtt, Max: s.MaxRtt, Privileged: privileged}, nil
}
