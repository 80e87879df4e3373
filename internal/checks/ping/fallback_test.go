//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package ping

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
)

// TestSocketFallback: without CAP_NET_RAW the raw socket is refused and the
// unprivileged one is used; when both are refused the error says what to do.
func TestSocketFallback(t *testing.T) {
	var tried []bool
	perm := func(ok bool) func(context.Context, net.IP, options, bool) (stats, error) {
		return func(_ context.Context, _ net.IP, _ options, privileged bool) (stats, error) {
			tried = append(tried, privileged)
			if privileged || !ok {
				return stats{}, classify(&net.OpError{Op: "listen", Err: syscall.EPERM})
			}
			return stats{Sent: 1, Recv: 1}, nil
		}
	}
	p := osPinger{with: perm(true)}
	st, err := p.Ping(context.Background(), net.IPv4(127, 0, 0, 1), options{Mode: ModeAuto})
	if err != nil || st.Recv != 1 || len(tried) != 2 || !tried[0] || tried[1] {
		t.Fatalf("fallback: %+v %v, tried %v", st, err, tried)
	}
	tried = nil
	p = osPinger{with: perm(false)}
	_, err = p.Ping(context.Background(), net.IPv4(127, 0, 0, 1), options{Mode: ModeAuto})
	if !errors.Is(err, ErrNoSocket) || len(tried) != 2 {
		t.Fatalf("no socket: %v, tried %v", err, tried)
	}
	tried = nil
	_, err = p.Ping(context.Background(), net.IPv4(127, 0, 0, 1), options{Mode: ModePrivileged})
	if err == nil || errors.Is(err, ErrNoSocket) || len(tried) != 1 {
		t.Fatalf("privileged only: %v, tried %v", err, tried)
	}
	// Other errors are not retried with another socket kind.
	tried = nil
	p = osPinger{with: func(context.Context, net.IP, options, bool) (stats, error) {
		tried = append(tried, true)
		return stats{}, errors.New("network is unreachable")
	}}
	if _, err := p.Ping(context.Background(), net.IPv4(127, 0, 0, 1), options{Mode: ModeAuto}); err == nil || len(tried) != 1 {
		t.Fatalf("other error: %v, tried %v", err, tried)
	}
}
