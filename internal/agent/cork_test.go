package agent

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// countingConn counts the writes that reach the network.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// A stream's data frame leaves the agent in one write to the network, not
// one per 4 KiB of the websocket library's masking buffer; control
// messages are written through at once.
func TestDataFrameLeavesInOneWrite(t *testing.T) {
	got := make(chan []byte, 4)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.SetReadLimit(protocol.MaxMessageBytes)
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			got <- b
		}
	}))
	defer srv.Close()

	var writes atomic.Int64
	client := NewHTTPClient(protocol.Fingerprint(srv.Certificate().Raw))
	tr := client.Transport.(*http.Transport)
	dial := tr.DialContext
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := dial(ctx, network, addr)
		return countingConn{Conn: nc, writes: &writes}, err
	}
	a := &Agent{client: client}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ws, cork, err := a.dialWebsocket(ctx, "wss"+strings.TrimPrefix(srv.URL, "https"))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if cork == nil {
		t.Fatal("the websocket's connection is not corkable")
	}
	c := conn{ws: ws, cork: cork}

	frame := bytes.Repeat([]byte("Grüße "), protocol.MaxStreamChunk/len("Grüße "))
	before := writes.Load()
	if err := c.WriteBinary(ctx, frame); err != nil {
		t.Fatal(err)
	}
	if n := writes.Load() - before; n != 1 {
		t.Errorf("a %d-byte data frame took %d writes, want 1", len(frame), n)
	}
	if b := <-got; !bytes.Equal(b, frame) {
		t.Errorf("server got %d bytes, want the %d sent", len(b), len(frame))
	}

	// Uncorked: a control message arrives without a data frame after it.
	if err := c.Send(ctx, protocol.TypeHeartbeat, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if !strings.Contains(string(b), protocol.TypeHeartbeat) {
			t.Errorf("server got %q, want a heartbeat", b)
		}
	case <-ctx.Done():
		t.Fatal("the heartbeat did not arrive")
	}
}
