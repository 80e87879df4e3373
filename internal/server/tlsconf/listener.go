package tlsconf

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
)

// Handshake limits used when ListenerOptions leaves them zero.
const (
	DefaultMaxHandshakes    = 64
	DefaultHandshakeTimeout = 10 * time.Second
)

// ListenerOptions tune NewListener.
type ListenerOptions struct {
	MaxHandshakes    int           // concurrent handshakes; DefaultMaxHandshakes if 0
	HandshakeTimeout time.Duration // per handshake; DefaultHandshakeTimeout if 0
	Log              *slog.Logger
}

// Listener accepts TCP connections and completes their TLS handshakes in
// their own goroutines, at most MaxHandshakes at a time, each bounded by a
// timeout. Accept returns only connections whose handshake succeeded, so
// http.Server never blocks on a slow or stalled client, and a storm of
// reconnecting agents queues in the kernel backlog instead of exhausting CPU
// and goroutines.
type Listener struct {
	inner   net.Listener
	cfg     *tls.Config
	sem     chan struct{}
	timeout time.Duration
	log     *slog.Logger

	ready     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	errMu     sync.Mutex
	err       error // the accept error that stopped the loop
}

// NewListener wraps inner; it starts accepting immediately.
func NewListener(inner net.Listener, cfg *tls.Config, o ListenerOptions) *Listener {
	if o.MaxHandshakes <= 0 {
		o.MaxHandshakes = DefaultMaxHandshakes
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	l := &Listener{
		inner:   inner,
		cfg:     cfg,
		sem:     make(chan struct{}, o.MaxHandshakes),
		timeout: o.HandshakeTimeout,
		log:     o.Log,
		ready:   make(chan net.Conn),
		done:    make(chan struct{}),
	}
	go l.acceptLoop()
	return l
}

func (l *Listener) acceptLoop() {
	var delay time.Duration
	for {
		// Take a slot before accepting: while all slots are busy, new
		// connections wait in the backlog.
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return
		}
		c, err := l.inner.Accept()
		if err != nil {
			<-l.sem
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				l.log.Warn("accept failed; retrying", "err", err, "delay", delay)
				select {
				case <-time.After(delay):
					continue
				case <-l.done:
					return
				}
			}
			l.errMu.Lock()
			l.err = err
			l.errMu.Unlock()
			l.Close()
			return
		}
		delay = 0
		go l.handshake(c)
	}
}

func (l *Listener) handshake(raw net.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	tc := tls.Server(raw, l.cfg)
	err := tc.HandshakeContext(ctx)
	cancel()
	<-l.sem
	if err != nil {
		l.log.Debug("TLS handshake failed", "remote", raw.RemoteAddr().String(), "err", err)
		raw.Close()
		return
	}
	if tc.ConnectionState().NegotiatedProtocol == acme.ALPNProto {
		// An ACME tls-alpn-01 validation ends with the handshake.
		tc.Close()
		return
	}
	select {
	case l.ready <- tc:
	case <-l.done:
		tc.Close()
	}
}

// Accept returns the next connection with a completed handshake.
func (l *Listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		l.errMu.Lock()
		defer l.errMu.Unlock()
		if l.err != nil {
			return nil, l.err
		}
		return nil, net.ErrClosed
	}
}

// Close stops accepting. It is idempotent so that closing the listener early
// during shutdown and http.Server.Shutdown closing it again do not error.
func (l *Listener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.inner.Close()
	})
	return err
}

// Addr is the address of the underlying listener.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }
