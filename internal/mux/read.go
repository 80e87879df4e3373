package mux

import (
	"context"
	"io"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// readMessage reads one websocket message like (*websocket.Conn).Read, but
// reads a binary message (a stream's data frame) into buf, which the
// caller passes again for the next one: Data copies what it keeps, and
// Read's io.ReadAll, which starts small and grows, cost a bulk transfer a
// fifth of its CPU in allocations, copies and garbage collection. The
// returned binary message is valid until the next call with the same buf.
func readMessage(c *websocket.Conn, buf []byte) (websocket.MessageType, []byte, error) {
	// No context of its own: the Reader's timer bounds the wait.
	typ, r, err := c.Reader(context.Background())
	if err != nil {
		return 0, nil, err
	}
	if typ != websocket.MessageBinary {
		b, err := io.ReadAll(r)
		return typ, b, err
	}
	b := buf[:0]
	if cap(b) < protocol.StreamHeader+protocol.MaxStreamChunk {
		b = make([]byte, 0, protocol.StreamHeader+protocol.MaxStreamChunk)
	}
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // larger than a data frame: Data refuses it
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return typ, b, nil
		}
		if err != nil {
			return typ, nil, err
		}
	}
}

// Reader reads a connection's messages (readMessage), each within an idle
// time, and closes the connection when one does not arrive in time. A
// context deadline per message would cost a context, a timer and the
// websocket's cancel hook for every data frame, thousands per second in a
// bulk transfer; Reader resets one timer instead.
type Reader struct {
	c       *websocket.Conn
	timer   *time.Timer
	expired atomic.Bool
}

// NewReader returns a Reader of c. Stop it when done with c.
func NewReader(c *websocket.Conn) *Reader {
	r := &Reader{c: c}
	r.timer = time.AfterFunc(time.Hour, func() {
		r.expired.Store(true)
		c.CloseNow()
	})
	r.timer.Stop()
	return r
}

// Read reads the next message, closing the connection if none arrives
// within idle; binary messages are read into buf as by readMessage.
func (r *Reader) Read(idle time.Duration, buf []byte) (websocket.MessageType, []byte, error) {
	r.timer.Reset(idle)
	typ, b, err := readMessage(r.c, buf)
	r.timer.Stop()
	return typ, b, err
}

// Expired reports whether a Read's idle time ran out (and the connection
// was closed for it).
func (r *Reader) Expired() bool { return r.expired.Load() }

// Stop stops the idle timer.
func (r *Reader) Stop() { r.timer.Stop() }
