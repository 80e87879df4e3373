package agent

import (
	"context"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// corkMax bounds what a corked connection holds back: a whole data frame
// (protocol.MaxStreamChunk) with its websocket and TLS overhead.
const corkMax = 64 << 10

// corkConn is the websocket's TCP connection, which can hold back writes
// while corked and send them in one write when uncorked.
//
// The websocket library masks what a client sends (RFC 6455) through a
// 4 KiB buffer that it flushes whenever it is full, so every 4 KiB of a
// stream's data frame became a TLS record and a write(2) of its own: the
// agent spent most of a download's CPU in system calls (eight per 32 KiB
// frame). The mux's writer corks the connection for one data frame, so a
// frame leaves in one write; everything else is written through.
type corkConn struct {
	net.Conn

	mu     sync.Mutex
	corked int
	buf    []byte
}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked == 0 {
		return c.Conn.Write(p)
	}
	if len(c.buf)+len(p) > corkMax {
		if err := c.flush(); err != nil {
			return 0, err
		}
		if len(p) > corkMax {
			return c.Conn.Write(p)
		}
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

// cork holds back writes until the matching uncork.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked++
	c.mu.Unlock()
}

// uncork ends a cork; the last one writes what was held back. A failed
// write leaves the TLS stream broken: the caller ends the connection.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.corked--; c.corked > 0 || len(c.buf) == 0 {
		return nil
	}
	return c.flush()
}

// flush writes what was held back within writeTimeout: the writes it
// holds back were given no deadline of their own (see conn.WriteBinary).
func (c *corkConn) flush() error {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	defer c.Conn.SetWriteDeadline(time.Time{})
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	return err
}

// dialWebsocket dials the server's websocket through the agent's client
// (its TLS pin and proxy settings) on a connection of its own, which it
// returns corkable. The cork is nil if the client's transport is not a
// *http.Transport (then writes are not corked).
func (a *Agent) dialWebsocket(ctx context.Context, u string) (*websocket.Conn, *corkConn, error) {
	tr, ok := a.client.Transport.(*http.Transport)
	if !ok {
		ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: a.client})
		return ws, nil, err
	}
	// A transport of its own: the websocket takes a fresh connection (not
	// an idle one of the bulk requests) that the dial below wraps.
	tr = tr.Clone()
	defer tr.CloseIdleConnections()
	var last atomic.Pointer[corkConn]
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := &corkConn{Conn: nc}
		last.Store(c)
		return c, nil
	}
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		return nil, nil, err
	}
	return ws, last.Load(), nil
}
