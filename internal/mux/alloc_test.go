package mux

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// direct hands frames to the other Mux without a copy, as a session's
// reader does with its reused buffer.
type direct struct{ pipe }

func (d *direct) WriteBinary(_ context.Context, b []byte) error { return d.to.Load().Data(b) }

// A bulk transfer allocates nothing per frame, also while the garbage
// collector runs (it empties a sync.Pool): outgoing frames' buffers are
// recycled, the receive array is reused.
func TestBulkTransferReusesBuffers(t *testing.T) {
	var pa, pb direct
	ma, mb := New(&pa), New(&pb)
	pa.to.Store(mb)
	pb.to.Store(ma)
	defer ma.Close()
	defer mb.Close()
	a, _ := ma.Open(1, DefaultWindow, DefaultWindow)
	b, _ := mb.Open(1, DefaultWindow, DefaultWindow)
	chunk := make([]byte, protocol.MaxStreamChunk)
	got := make([]byte, protocol.MaxStreamChunk)
	var bytes atomic.Int64
	allocs := testing.AllocsPerRun(200, func() {
		runtime.GC()
		if _, err := a.Write(chunk); err != nil {
			t.Fatal(err)
		}
		n, err := io.ReadFull(b, got)
		if err != nil {
			t.Fatal(err)
		}
		bytes.Add(int64(n))
	})
	// Left: every four frames, the window grant's context.
	if allocs > 1 && !raceEnabled {
		t.Errorf("%.1f allocations per 32 KiB frame", allocs)
	}
	if b.Buffered() != 0 || len(b.ring) > DefaultWindow {
		t.Errorf("receive buffer: %d buffered, ring of %d", b.Buffered(), len(b.ring))
	}
}

// readMessage reads binary messages into the caller's buffer, also one
// larger than a data frame, and text messages whole.
func TestReadMessage(t *testing.T) {
	big := strings.Repeat("x", protocol.StreamHeader+protocol.MaxStreamChunk+100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		ctx := context.Background()
		c.Write(ctx, websocket.MessageBinary, []byte("eins"))
		c.Write(ctx, websocket.MessageBinary, []byte(big))
		c.Write(ctx, websocket.MessageText, []byte(`{"type":"heartbeat"}`))
		c.Close(websocket.StatusNormalClosure, "")
	}))
	defer srv.Close()
	c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	buf := make([]byte, 0, protocol.StreamHeader+protocol.MaxStreamChunk)
	typ, b, err := readMessage(c, buf)
	if err != nil || typ != websocket.MessageBinary || string(b) != "eins" || &b[0] != &buf[:1][0] {
		t.Fatalf("first: %v %q %v (reused buffer: %v)", typ, b, err, len(b) > 0 && &b[0] == &buf[:1][0])
	}
	typ, b, err = readMessage(c, b)
	if err != nil || typ != websocket.MessageBinary || string(b) != big {
		t.Fatalf("large: %v %d bytes %v", typ, len(b), err)
	}
	typ, b, err = readMessage(c, b)
	if err != nil || typ != websocket.MessageText || string(b) != `{"type":"heartbeat"}` {
		t.Fatalf("text: %v %q %v", typ, b, err)
	}
}

// A Reader reads each message within its idle time without allocating
// (the read context it replaced cost several allocations per data frame),
// and closes the connection when a message does not arrive in time.
func TestReaderIdle(t *testing.T) {
	const frames = 300
	silent := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		frame := make([]byte, protocol.MaxStreamChunk)
		for range frames {
			if c.Write(context.Background(), websocket.MessageBinary, frame) != nil {
				return
			}
		}
		<-silent // sends nothing more: the reader's idle time runs out
	}))
	defer srv.Close()
	defer close(silent)
	c, _, err := websocket.Dial(context.Background(), "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	r := NewReader(c)
	defer r.Stop()
	buf := make([]byte, 0, protocol.StreamHeader+protocol.MaxStreamChunk)
	read := func() {
		typ, b, err := r.Read(time.Minute, buf)
		if err != nil || typ != websocket.MessageBinary || len(b) != protocol.MaxStreamChunk {
			t.Fatalf("read: %v %d bytes %v", typ, len(b), err)
		}
	}
	read()
	if allocs := testing.AllocsPerRun(frames-10, read); allocs >= 1 && !raceEnabled {
		t.Errorf("%.1f allocations per message read", allocs)
	}
	for range 8 {
		read()
	}
	if r.Expired() {
		t.Fatal("expired while messages arrived")
	}
	if _, _, err := r.Read(50*time.Millisecond, buf); err == nil || !r.Expired() {
		t.Fatalf("a silent peer: %v, expired %v", err, r.Expired())
	}
	// The connection is closed: the next read fails at once.
	if _, _, err := r.Read(time.Minute, buf); err == nil {
		t.Fatal("read after the idle time ran out succeeded")
	}
}
