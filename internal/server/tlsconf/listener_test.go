package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/logtest"
	"github.com/wacht-rmm/wacht/internal/server/preauth"
)

// listen starts a Listener on loopback that accepts and serves echo
// connections, and returns it and its log; tweak may change its TLS
// configuration.
func listen(t *testing.T, o ListenerOptions, tweak func(*tls.Config)) (*Listener, *logtest.Buffer) {
	t.Helper()
	cfg, _, err := Setup(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if tweak != nil {
		tweak(cfg)
	}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var logs *logtest.Buffer
	o.Log, logs = logtest.Logger()
	ln := NewListener(inner, cfg, o)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln, logs
}

// realClient completes a handshake and an echo within a bound so generous
// that only a stalled listener exceeds it.
func realClient(t *testing.T, addr string) {
	t.Helper()
	if err := echo(addr); err != nil {
		t.Fatalf("real client: %v", err)
	}
}

func echo(addr string) error {
	d := &net.Dialer{Timeout: 10 * time.Second, Deadline: time.Now().Add(10 * time.Second)}
	c, err := tls.DialWithDialer(d, "tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("hi")); err != nil {
		return err
	}
	buf := make([]byte, 2)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hi" {
		return fmt.Errorf("echo %q, %v", buf, err)
	}
	return nil
}

// stalledAfterHello starts a TLS client that sends its ClientHello and then
// never reads the server's answer nor finishes.
func stalledAfterHello(t *testing.T, addr string) {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	w := &writeOnly{Conn: raw, closed: make(chan struct{})}
	t.Cleanup(func() { close(w.closed); raw.Close() })
	go tls.Client(w, &tls.Config{InsecureSkipVerify: true}).Handshake()
}

// writeOnly is a connection whose reads block until the test ends.
type writeOnly struct {
	net.Conn
	closed chan struct{}
}

func (w *writeOnly) Read([]byte) (int, error) {
	<-w.closed
	return 0, net.ErrClosed
}

// TestListenerIdleSocketsHoldNoSlot: with a single handshake slot, sockets
// that never send a ClientHello, send only part of one, or stop after it do
// not keep a real client out (H1: the slot was taken before Accept and held
// up to the handshake timeout).
func TestListenerIdleSocketsHoldNoSlot(t *testing.T) {
	ln, _ := listen(t, ListenerOptions{MaxHandshakes: 1, HandshakeTimeout: time.Minute}, nil)
	addr := ln.Addr().String()
	for i := range 60 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if i%2 == 1 {
			// A record header announcing a 512-byte ClientHello, then nothing.
			c.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01})
		}
	}
	for range 5 {
		stalledAfterHello(t, addr)
	}
	time.Sleep(200 * time.Millisecond) // let the listener take them all in
	for range 3 {
		realClient(t, addr)
	}
}

// TestListenerDropsOldestIdle: beyond the per-source cap the connection
// that waited longest for its ClientHello is closed, not the newcomer, and
// the drops are logged as one summary line.
func TestListenerDropsOldestIdle(t *testing.T) {
	ln, logs := listen(t, ListenerOptions{MaxIdle: 100, MaxIdlePerSource: 3, HandshakeTimeout: time.Minute}, nil)
	addr := ln.Addr().String()
	var conns []net.Conn
	for range 4 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		time.Sleep(100 * time.Millisecond) // keep their order
		if len(conns) == 3 {
			time.Sleep(preauth.MinWait) // only those waiting that long are dropped
		}
	}
	conns[0].SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := conns[0].Read(make([]byte, 1)); errors.Is(err, os.ErrDeadlineExceeded) || err == nil {
		t.Fatalf("oldest idle connection: %v, want it closed by the server", err)
	}
	for _, c := range conns[1:] {
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("newer idle connection: %v, want it still open", err)
		}
	}
	realClient(t, addr) // drops one more idle connection, and is served
	if strings.Contains(logs.String(), "failed") {
		t.Fatalf("logged before the interval ended:\n%s", logs)
	}
	ln.Close()
	if got := logs.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "idle_dropped=2") {
		t.Fatalf("log %q, want one summary line with idle_dropped=2", got)
	}
}

// TestListenerSlotWaitIsNotTimedOut: the handshake timeout counts the wait
// for the peer, not for a computation slot, so agents queued in a
// reconnect storm are served rather than timed out.
func TestListenerSlotWaitIsNotTimedOut(t *testing.T) {
	var first atomic.Bool
	ln, _ := listen(t, ListenerOptions{MaxHandshakes: 1, HandshakeTimeout: time.Second}, func(cfg *tls.Config) {
		cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			if first.CompareAndSwap(false, true) {
				time.Sleep(2 * time.Second) // holds the only slot
			}
			return nil, nil
		}
	})
	addr := ln.Addr().String()
	firstErr := make(chan error, 1)
	go func() { firstErr <- echo(addr) }()
	time.Sleep(100 * time.Millisecond)
	realClient(t, addr) // waits about 2 s for the slot, twice its timeout
	if err := <-firstErr; err != nil {
		t.Fatalf("first client: %v", err)
	}
}
