package tlsconf

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/wacht-rmm/wacht/internal/server/preauth"
)

// Handshake limits used when ListenerOptions leaves them zero. The default
// number of handshakes computing at once is one per CPU: more only take
// turns on the same cores, and a latecomer served newest first then waits
// for fewer handshakes already computing.
const (
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultMaxIdle and DefaultMaxIdlePerSource cap connections waiting
	// for their ClientHello: about 10 KB each (a goroutine and a socket).
	DefaultMaxIdle          = 4096
	DefaultMaxIdlePerSource = 1024
	// DefaultSummaryInterval is how often failed handshakes are logged.
	DefaultSummaryInterval = time.Minute
)

// ListenerOptions tune NewListener.
type ListenerOptions struct {
	// MaxHandshakes bounds handshakes computing at once (key exchange and
	// signature); a handshake waiting for its peer holds no slot.
	MaxHandshakes    int
	HandshakeTimeout time.Duration // per handshake; DefaultHandshakeTimeout if 0
	// MaxIdle and MaxIdlePerSource bound connections waiting for their
	// ClientHello, in total and per source (IPv4 address, IPv6 /64); the
	// oldest waiting one is closed for a newcomer beyond a cap.
	MaxIdle, MaxIdlePerSource int
	SummaryInterval           time.Duration // DefaultSummaryInterval if 0
	Log                       *slog.Logger
}

// Listener accepts TCP connections at once and completes their TLS
// handshakes in their own goroutines, each bounded by a timeout. Accept
// returns only connections whose handshake succeeded, so http.Server never
// blocks on a slow or stalled client.
//
// What an unauthenticated peer can hold is bounded without letting idle
// sockets lock anyone out: a handshake takes one of MaxHandshakes slots only
// while the server computes (from a complete ClientHello, or any later
// handshake bytes, until it writes or waits for the peer again), so a
// reconnect storm cannot exhaust the CPU and sockets that never speak cannot
// stall real clients; waiters get a slot newest first (see slots); and
// connections still waiting for their ClientHello are capped in total and
// per source, the oldest closed first. Failed
// handshakes are logged as one summary line per interval.
type Listener struct {
	inner   net.Listener
	cfg     *tls.Config
	cpu     *slots        // handshake computation slots
	idle    *preauth.Pool // connections waiting for a ClientHello
	timeout time.Duration
	log     *slog.Logger
	tally   *preauth.Tally

	ready     chan net.Conn
	done      chan struct{}
	closeOnce sync.Once
	errMu     sync.Mutex
	err       error // the accept error that stopped the loop
}

// NewListener wraps inner; it starts accepting immediately.
func NewListener(inner net.Listener, cfg *tls.Config, o ListenerOptions) *Listener {
	if o.MaxHandshakes <= 0 {
		o.MaxHandshakes = max(1, runtime.GOMAXPROCS(0))
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if o.MaxIdle <= 0 {
		o.MaxIdle = DefaultMaxIdle
	}
	if o.MaxIdlePerSource <= 0 {
		o.MaxIdlePerSource = DefaultMaxIdlePerSource
	}
	if o.SummaryInterval <= 0 {
		o.SummaryInterval = DefaultSummaryInterval
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	l := &Listener{
		inner:   inner,
		cpu:     newSlots(o.MaxHandshakes),
		idle:    preauth.NewPool(o.MaxIdle, o.MaxIdlePerSource),
		timeout: o.HandshakeTimeout,
		log:     o.Log,
		tally:   preauth.NewTally(o.Log, "TLS connections failed before the handshake completed", o.SummaryInterval),
		ready:   make(chan net.Conn),
		done:    make(chan struct{}),
	}
	l.cfg = cfg.Clone()
	next := cfg.GetConfigForClient
	l.cfg.GetConfigForClient = func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		if c, ok := hi.Conn.(*handshakeConn); ok {
			if err := c.helloReceived(); err != nil {
				return nil, err
			}
		}
		if next != nil {
			return next(hi)
		}
		return nil, nil
	}
	go l.acceptLoop()
	return l
}

func (l *Listener) acceptLoop() {
	var delay time.Duration
	for {
		c, err := l.inner.Accept()
		if err != nil {
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
	ctx, cancel := context.WithTimeout(context.Background(), 3*l.timeout)
	defer cancel()
	hc := &handshakeConn{Conn: raw, l: l, ctx: ctx, peerWait: l.timeout,
		source: preauth.Source(raw.RemoteAddr().String())}
	tc := tls.Server(hc, l.cfg)
	err := tc.HandshakeContext(ctx)
	hc.release()
	hc.done = true // from here on a plain connection; published by the channel send below
	if err == nil {
		err = raw.SetReadDeadline(time.Time{})
	}
	if err != nil {
		switch {
		case hc.dropped.Load():
			// Counted when dropped.
		case !hc.hello:
			l.tally.Add("no_client_hello")
		case ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
			l.tally.Add("handshake_timeout")
		default:
			l.tally.Add("handshake_failed")
		}
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

// Close stops accepting and logs the last summary. It is idempotent so
// that closing the listener early during shutdown and http.Server.Shutdown
// closing it again do not error.
func (l *Listener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.inner.Close()
		l.tally.Close()
	})
	return err
}

// Addr is the address of the underlying listener.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// handshakeConn is a raw connection during its TLS handshake: it keeps the
// connection in the listener's idle pool while it waits for the
// ClientHello, and holds a computation slot only while the handshake works
// on bytes received. Its fields belong to the handshake goroutine, except
// dropped, and done, which is set before the connection is handed to Accept
// and never changes after.
type handshakeConn struct {
	net.Conn
	l      *Listener
	ctx    context.Context // the handshake's
	source netip.Prefix
	hello  bool // the ClientHello arrived
	// peerWait is what is left of the time the handshake may wait for
	// its peer.
	peerWait time.Duration
	slot     bool        // holds a computation slot
	done     bool        // the handshake is over
	dropped  atomic.Bool // closed to make room for newer idle connections
}

func (c *handshakeConn) Read(p []byte) (int, error) {
	if c.done {
		return c.Conn.Read(p)
	}
	c.release() // waiting for the peer now
	start := time.Now()
	if err := c.Conn.SetReadDeadline(start.Add(c.peerWait)); err != nil {
		return 0, err
	}
	var n int
	var err error
	if c.hello {
		n, err = c.Conn.Read(p)
	} else {
		e, _ := c.l.idle.Add(c.source, c.drop)
		n, err = c.Conn.Read(p)
		c.l.idle.Remove(e)
	}
	c.peerWait -= time.Since(start)
	if c.hello && n > 0 {
		// More handshake bytes to work on.
		if aerr := c.acquire(); aerr != nil && err == nil {
			err = aerr
		}
	}
	return n, err
}

func (c *handshakeConn) Write(p []byte) (int, error) {
	if !c.done {
		c.release() // the computation that produced p is over
	}
	return c.Conn.Write(p)
}

// drop closes a connection that waited longest for its ClientHello.
func (c *handshakeConn) drop() {
	c.dropped.Store(true)
	c.l.tally.Add("idle_dropped")
	c.Conn.Close()
}

// helloReceived is called by crypto/tls with the parsed ClientHello, before
// the server's key exchange and signature.
func (c *handshakeConn) helloReceived() error {
	c.hello = true
	return c.acquire()
}

// acquire waits for a computation slot, or the end of the handshake.
func (c *handshakeConn) acquire() error {
	if c.slot {
		return nil
	}
	if err := c.l.cpu.acquire(c.ctx, c.l.done); err != nil {
		return err
	}
	c.slot = true
	return nil
}

func (c *handshakeConn) release() {
	if c.slot {
		c.l.cpu.release()
		c.slot = false
	}
}
