package mux

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// pipe delivers one Mux's frames to another, as the session readers do.
type pipe struct{ to atomic.Pointer[Mux] }

func (p *pipe) WriteBinary(_ context.Context, b []byte) error {
	return p.to.Load().Data(append([]byte(nil), b...))
}

func (p *pipe) Send(_ context.Context, typ string, data any) error {
	switch typ {
	case protocol.TypeStreamWindow:
		p.to.Load().Window(data.(protocol.StreamWindow))
	case protocol.TypeStreamClose:
		p.to.Load().Closed(data.(protocol.StreamClose))
	}
	return nil
}

func pair(t *testing.T, window int) (a, b *Stream, ma, mb *Mux) {
	var pa, pb pipe
	ma, mb = New(&pa), New(&pb)
	pa.to.Store(mb)
	pb.to.Store(ma)
	t.Cleanup(ma.Close)
	t.Cleanup(mb.Close)
	a, err := ma.Open(1, window, window)
	if err != nil {
		t.Fatal(err)
	}
	b, err = mb.Open(1, window, window)
	if err != nil {
		t.Fatal(err)
	}
	return a, b, ma, mb
}

func TestStreamCarriesDataThenEOF(t *testing.T) {
	a, b, _, _ := pair(t, 64<<10)
	want := bytes.Repeat([]byte("Grüße "), 100_000) // far more than the window
	go func() {
		if _, err := a.Write(want); err != nil {
			t.Error(err)
		}
		a.Close()
	}()
	got, err := io.ReadAll(b)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, want %d: %v", len(got), len(want), err)
	}
	if _, err := b.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("write after the other side closed: %v", err)
	}
}

// TestStalledReaderBoundsMemory: a writer that never stops, facing a reader
// that does not read, blocks once the window is used up; the receiver holds
// no more than the window.
func TestStalledReaderBoundsMemory(t *testing.T) {
	const window = 64 << 10
	a, b, _, mb := pair(t, window)
	var written atomic.Int64
	done := make(chan error, 1)
	go func() {
		chunk := bytes.Repeat([]byte("y\n"), 4096)
		for {
			n, err := a.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				done <- err
				return
			}
		}
	}()
	for deadline := time.Now().Add(30 * time.Second); b.Buffered() < window; {
		if time.Now().After(deadline) {
			t.Fatalf("window never filled: %d buffered", b.Buffered())
		}
		time.Sleep(time.Millisecond)
	}
	// The writer is blocked now: give it every chance to overrun.
	for range 100 {
		time.Sleep(time.Millisecond)
		if n := written.Load(); n > window || mb.Buffered() > window {
			t.Fatalf("%d bytes written, %d buffered; window %d", n, mb.Buffered(), window)
		}
	}
	// Reading releases credit and the writer goes on.
	buf := make([]byte, window)
	if _, err := io.ReadFull(b, buf); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); written.Load() <= window; {
		if time.Now().After(deadline) {
			t.Fatal("writer did not resume after the reader read")
		}
		time.Sleep(time.Millisecond)
	}
	b.CloseWithError("cancelled", core.Text{EN: "stop", DE: "Halt"})
	if err := <-done; !isClose(err, "cancelled") {
		t.Errorf("writer ended with %v, want the reader's reason", err)
	}
}

func TestConnectionLossEndsEveryStream(t *testing.T) {
	a, b, ma, _ := pair(t, 1024)
	if _, err := a.Write(make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	blocked := make(chan error, 1)
	go func() { _, err := a.Write([]byte("more")); blocked <- err }()
	readErr := make(chan error, 1)
	s2, _ := ma.Open(2, 1024, 1024)
	go func() { _, err := s2.Read(make([]byte, 1)); readErr <- err }()
	ma.Close()
	if err := <-blocked; !isClose(err, CodeConnectionLost) {
		t.Errorf("blocked writer: %v", err)
	}
	if err := <-readErr; !isClose(err, CodeConnectionLost) {
		t.Errorf("blocked reader: %v", err)
	}
	if ma.Len() != 0 {
		t.Errorf("%d streams left", ma.Len())
	}
	if _, err := ma.Open(3, 1, 1); err == nil {
		t.Error("opened a stream on a closed connection")
	}
	_ = b
}

func TestDataBeyondCreditClosesTheStream(t *testing.T) {
	_, b, _, mb := pair(t, 1024)
	if err := mb.Data(protocol.DataFrame(1, make([]byte, 1025))); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Read(make([]byte, 1)); !errors.Is(err, ErrClosed) {
		t.Errorf("read after overrun: %v", err)
	}
	if err := mb.Data([]byte{1}); err == nil {
		t.Error("short frame accepted")
	}
}

func isClose(err error, code string) bool {
	var ce *CloseError
	return errors.As(err, &ce) && ce.Code == code
}

// TestCloseTwice: a stream that wrote data may be closed again (a deferred
// Close after an explicit one) without waiting forever.
func TestCloseTwice(t *testing.T) {
	a, b, _, _ := pair(t, 64<<10)
	if _, err := a.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	a.Close()
	done := make(chan struct{})
	go func() { a.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second): // hang guard
		t.Fatal("second Close hangs")
	}
	if got, err := io.ReadAll(b); string(got) != "x" || err != nil {
		t.Errorf("read %q, %v", got, err)
	}
}

// Writes and reads of odd sizes, the reader lagging behind so that the
// receive ring wraps around and grows while it holds unread bytes: every
// byte arrives once, in order, and the ring never exceeds the window.
func TestStreamRingWrapsAround(t *testing.T) {
	const window = 40 << 10
	a, b, _, _ := pair(t, window)
	want := make([]byte, 3<<20)
	for i := range want {
		want[i] = byte(i * 7 / 3)
	}
	go func() {
		for p, i := want, 0; len(p) > 0; i++ {
			n := min(len(p), 1+i*997%(protocol.MaxStreamChunk+5000))
			if _, err := a.Write(p[:n]); err != nil {
				t.Error(err)
				return
			}
			p = p[n:]
		}
		a.Close()
	}()
	var got []byte
	buf := make([]byte, 50<<10)
	for i := 0; ; i++ {
		if i%3 == 0 {
			// Let the writer fill the window.
			waitUntil(t, func() bool { return b.Buffered() > window/2 || len(got)+b.Buffered() == len(want) })
		}
		n, err := b.Read(buf[:1+i*1231%len(buf)])
		got = append(got, buf[:n]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b.mu.Lock()
		ring := len(b.ring)
		b.mu.Unlock()
		if ring > window {
			t.Fatalf("ring of %d bytes, window %d", ring, window)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, want %d; first difference at %d", len(got), len(want), firstDiff(got, want))
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// waitUntil polls cond for up to a minute.
func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within a minute")
		}
	}
}
