package service

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
)

// TestRecorder: output split inside a UTF-8 sequence is recorded whole,
// the chunks form one gzip stream, and a recording beyond the cap stops
// with a marker and Truncated.
func TestRecorder(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	clock := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	read := func(id int64) string {
		var z bytes.Buffer
		if err := f.st.RecordingChunks(ctx, id, func(b []byte) error { z.Write(b); return nil }); err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(&z)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	rec := core.Recording{DeviceID: f.dev.ID, UserID: f.tech.ID, Actor: "user:tech@example.com", Shell: "bash"}
	if err := f.st.CreateRecording(ctx, &rec); err != nil {
		t.Fatal(err)
	}
	r := newRecorder(f.st, rec.ID, clock, now, 80, 24, "bash", "pc-01")
	ue := []byte("Grüße")
	if err := r.output(ctx, ue[:3]); err != nil { // "Gr" and half of ü
		t.Fatal(err)
	}
	if err := r.flushDue(ctx); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.flushLocked(ctx) // a chunk boundary between the halves
	r.mu.Unlock()
	r.output(ctx, ue[3:])
	r.event(ctx, "i", "ls\r")
	if err := r.finish(ctx); err != nil {
		t.Fatal(err)
	}
	got := read(rec.ID)
	lines := strings.Split(strings.TrimSpace(got), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], `{"version":2,"width":80,"height":24,`) ||
		!strings.HasSuffix(lines[1], `, "o", "Gr"]`) || !strings.HasSuffix(lines[2], `, "o", "üße"]`) ||
		!strings.HasSuffix(lines[3], `, "i", "ls\r"]`) {
		t.Errorf("cast:\n%s", got)
	}

	defer func(m int64) { maxRecording = m }(maxRecording)
	maxRecording = 4 << 10
	big := core.Recording{DeviceID: f.dev.ID, UserID: f.tech.ID, Actor: "user:tech@example.com", Shell: "bash"}
	if err := f.st.CreateRecording(ctx, &big); err != nil {
		t.Fatal(err)
	}
	r = newRecorder(f.st, big.ID, clock, now, 80, 24, "bash", "pc-01")
	noise := make([]byte, 1024)
	rnd := rand.New(rand.NewPCG(1, 2)) // incompressible enough
	for range 200 {
		for j := range noise {
			noise[j] = 'a' + byte(rnd.IntN(26))
		}
		if err := r.output(ctx, noise); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.finish(ctx); err != nil {
		t.Fatal(err)
	}
	got = read(big.ID)
	stored, _ := f.st.GetRecording(ctx, big.ID)
	if !stored.Truncated || stored.Stored > maxRecording+1024 || !strings.HasSuffix(strings.TrimSpace(got), `"m", "recording truncated at 4 KiB"]`) {
		t.Errorf("truncated %v, stored %d, ends %q", stored.Truncated, stored.Stored, got[max(0, len(got)-80):])
	}
}

// TestPruneRecordings: retention deletes what is older than the setting.
func TestPruneRecordings(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	for _, age := range []time.Duration{0, 20 * 24 * time.Hour, 100 * 24 * time.Hour} {
		r := core.Recording{DeviceID: f.dev.ID, UserID: f.tech.ID, Actor: "x", Shell: "sh", StartedAt: now.Add(-age)}
		if err := f.st.CreateRecording(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := PruneRecordings(ctx, f.st.(*store.DB), now); err != nil || n != 1 {
		t.Fatalf("default retention (90 days): %d %v", n, err)
	}
	if err := f.svc.SetRemoteSettings(ctx, f.admin, RemoteSettings{RecordingDays: 10}); err != nil {
		t.Fatal(err)
	}
	if n, err := PruneRecordings(ctx, f.st.(*store.DB), now); err != nil || n != 1 {
		t.Fatalf("10 days: %d %v", n, err)
	}
}
