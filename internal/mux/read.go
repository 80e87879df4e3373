package mux

import (
	"context"
	"io"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// ReadMessage reads one websocket message like (*websocket.Conn).Read, but
// reads a binary message (a stream's data frame) into buf, which the
// caller passes again for the next one: Data copies what it keeps, and
// Read's io.ReadAll, which starts small and grows, cost a bulk transfer a
// fifth of its CPU in allocations, copies and garbage collection. The
// returned binary message is valid until the next call with the same buf.
func ReadMessage(ctx context.Context, c *websocket.Conn, buf []byte) (websocket.MessageType, []byte, error) {
	typ, r, err := c.Reader(ctx)
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
