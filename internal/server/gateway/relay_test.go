package gateway

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// recWriter is a connection that records what a mux sends; with fail, its
// window grants fail as on a broken connection.
type recWriter struct {
	fail   bool
	mu     sync.Mutex
	data   bytes.Buffer
	closes []protocol.StreamClose
}

func (w *recWriter) WriteBinary(_ context.Context, b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.data.Write(b[protocol.StreamHeader:])
	return nil
}

func (w *recWriter) Send(_ context.Context, typ string, data any) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case typ == protocol.TypeStreamClose:
		w.closes = append(w.closes, data.(protocol.StreamClose))
	case w.fail:
		return errors.New("connection reset by peer")
	}
	return nil
}

// TestPipeCarriesHowAStreamEnds: what one leg of a relayed stream
// receives reaches the other leg intact, and so does how it ended: a
// normal end, a close with a code and message, the connection closed, or
// the connection failing under a window grant.
func TestPipeCarriesHowAStreamEnds(t *testing.T) {
	hash := core.Text{EN: "Wrong hash.", DE: "Falscher Hash."}
	for name, c := range map[string]struct {
		fail bool
		end  func(m *mux.Mux)
		want protocol.StreamClose
	}{
		"normal end":      {end: func(m *mux.Mux) { m.Closed(protocol.StreamClose{Channel: 1}) }, want: protocol.StreamClose{Channel: 1}},
		"closed with why": {end: func(m *mux.Mux) { m.Closed(protocol.StreamClose{Channel: 1, Code: "hash_mismatch", Message: hash}) }, want: protocol.StreamClose{Channel: 1, Code: "hash_mismatch", Message: hash}},
		"connection closed": {end: func(m *mux.Mux) { m.CloseWith(nodeLost) },
			want: protocol.StreamClose{Channel: 1, Code: mux.CodeConnectionLost, Message: nodeLost}},
		"connection failed": {fail: true, end: func(*mux.Mux) {},
			want: protocol.StreamClose{Channel: 1, Code: mux.CodeConnectionLost, Message: nodeLost}},
	} {
		t.Run(name, func(t *testing.T) {
			srcW, dstW := &recWriter{fail: c.fail}, &recWriter{}
			sm, dm := mux.New(srcW), mux.New(dstW)
			defer sm.Close()
			defer dm.Close()
			src, _ := sm.Open(1, mux.DefaultWindow, mux.DefaultWindow)
			dst, _ := dm.Open(1, mux.DefaultWindow, mux.DefaultWindow)
			done := make(chan struct{})
			go func() { pipe(dst, src, nodeLost, agentLost); close(done) }()
			var sent bytes.Buffer
			for i := range 5 { // past half the window: the pipe's reads grant credit
				chunk := bytes.Repeat([]byte{byte('a' + i)}, protocol.MaxStreamChunk)
				sent.Write(chunk)
				if err := sm.Data(protocol.DataFrame(1, chunk)); err != nil {
					t.Fatal(err)
				}
			}
			c.end(sm)
			<-done
			dst.Close() // waits for the last frame on the wire; a no-op once closed
			dstW.mu.Lock()
			defer dstW.mu.Unlock()
			if c.fail {
				// The grant failed after four chunks; what was read went on.
				if !bytes.HasPrefix(sent.Bytes(), dstW.data.Bytes()) || dstW.data.Len() < mux.DefaultWindow/2 {
					t.Errorf("%d bytes through, want a prefix of at least %d", dstW.data.Len(), mux.DefaultWindow/2)
				}
			} else if !bytes.Equal(dstW.data.Bytes(), sent.Bytes()) {
				t.Errorf("%d bytes through, want %d intact", dstW.data.Len(), sent.Len())
			}
			if len(dstW.closes) != 1 || dstW.closes[0] != c.want {
				t.Errorf("other leg closed with %+v, want %+v", dstW.closes, c.want)
			}
		})
	}
}
