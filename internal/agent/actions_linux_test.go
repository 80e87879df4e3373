//go:build linux

package agent

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestStalledStreamBoundsMemoryAndKeepsControlFlowing: a stream whose
// producer never stops (a FIFO fed endlessly) and whose reader on the
// server does not read consumes no more than the window from the producer
// and buffers no more than the window on the server, while actions,
// results and acks still flow; reading again resumes it, and dropping the
// socket releases both sides.
func TestStalledStreamBoundsMemoryAndKeepsControlFlowing(t *testing.T) {
	l := startLive(t, liveOpts{})
	ctx := ctxT(t)
	fifo := filepath.Join(t.TempDir(), "endless")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	var produced atomic.Int64
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		chunk := bytes.Repeat([]byte("y\n"), 2048)
		for {
			n, err := f.Write(chunk)
			produced.Add(int64(n))
			if err != nil {
				return
			}
		}
	}()
	s, err := l.hub.OpenStream(ctx, l.deviceID, protocol.StreamFileDownload, protocol.FileDownloadArgs{Path: fifo})
	if err != nil {
		t.Fatal(err)
	}
	waitLive(t, "window filled", func() bool { return s.Buffered() == mux.WindowFor(protocol.StreamFileDownload) })
	// What the agent took from the producer: the window on the server, one
	// chunk in the agent's hands, and the kernel's pipe buffer (64 KiB by
	// default, 1 MiB at most).
	limit := int64(mux.WindowFor(protocol.StreamFileDownload) + protocol.MaxStreamChunk + 1<<20)
	for i := range 20 {
		var echo map[string]int
		if err := l.hub.Do(ctx, l.deviceID, actionEcho, map[string]int{"i": i}, &echo); err != nil || echo["i"] != i {
			t.Fatalf("action %d while the stream is stalled: %v %v", i, echo, err)
		}
		if err := l.hub.Do(ctx, l.deviceID, protocol.CommandRunChecks, nil, nil); err != nil {
			t.Fatalf("run-checks while the stream is stalled: %v", err)
		}
		if b := s.Buffered(); b > mux.WindowFor(protocol.StreamFileDownload) {
			t.Fatalf("server buffers %d bytes, window %d", b, mux.WindowFor(protocol.StreamFileDownload))
		}
		if p := produced.Load(); p > limit {
			t.Fatalf("agent consumed %d bytes from a stalled stream, limit %d", p, limit)
		}
	}
	waitLive(t, "results acked while stalled", func() bool { return l.Spool().Len() == 0 })

	// Reading resumes the producer.
	before := produced.Load()
	if _, err := io.CopyN(io.Discard, s, int64(4*mux.WindowFor(protocol.StreamFileDownload))); err != nil {
		t.Fatal(err)
	}
	if produced.Load() <= before {
		t.Error("producer did not resume")
	}

	// The socket drops: both sides release the stream. The server's
	// reader sees the connection lost — or, when its credit grant hit the
	// closed socket before the session's close reached the stream, that
	// write's error (the relay names it: gateway.pipe); never an EOF.
	l.hub.Disconnect(l.deviceID, "test")
	_, err = io.Copy(io.Discard, s)
	var ce *mux.CloseError
	if lost := errors.As(err, &ce) && ce.Code == mux.CodeConnectionLost; !lost && (err == nil || !strings.Contains(err.Error(), "stream_window")) {
		t.Errorf("server read after the drop: %v", err)
	}
	waitLive(t, "agent released the stream", func() bool { return l.streams.Load() == 0 })
}
