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
	r := newRecorder(ctx, f.st, rec.ID, clock, now, 80, 24, "bash", "pc-01")
	ue := []byte("Grüße")
	if err := r.output(ue[:3]); err != nil { // "Gr" and half of ü
		t.Fatal(err)
	}
	if err := r.sync(); err != nil { // a chunk boundary between the halves
		t.Fatal(err)
	}
	r.output(ue[3:])
	r.event("i", "ls\r")
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
	r = newRecorder(ctx, f.st, big.ID, clock, now, 80, 24, "bash", "pc-01")
	noise := make([]byte, 1024)
	rnd := rand.New(rand.NewPCG(1, 2)) // incompressible enough
	for range 200 {
		for j := range noise {
			noise[j] = 'a' + byte(rnd.IntN(26))
		}
		if err := r.output(noise); err != nil {
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

// slowStore is a recording store whose AppendRecording waits for release:
// a database that is behind.
type slowStore struct {
	core.RecordingStore
	entered chan struct{}
	release chan struct{}
}

func (s *slowStore) AppendRecording(ctx context.Context, id int64, seq int, chunk []byte, size, stored int64, truncated bool) error {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release
	return s.RecordingStore.AppendRecording(ctx, id, seq, chunk, size, stored, truncated)
}

// TestRecorderDoesNotWaitForTheDatabase: while the database is busy with a
// chunk, output up to recordHold and keystrokes are recorded without
// waiting for it; a flood beyond waits (memory stays bounded), and
// nothing is lost once the database catches up.
func TestRecorderDoesNotWaitForTheDatabase(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	rec := core.Recording{DeviceID: f.dev.ID, UserID: f.tech.ID, Actor: "user:tech@example.com", Shell: "bash"}
	if err := f.st.CreateRecording(ctx, &rec); err != nil {
		t.Fatal(err)
	}
	slow := &slowStore{RecordingStore: f.st, entered: make(chan struct{}, 1), release: make(chan struct{})}
	r := newRecorder(ctx, slow, rec.ID, time.Now(), time.Now, 80, 24, "bash", "pc-01")
	line := []byte(strings.Repeat("y", 1023) + "\n")
	for range recordFlush / len(line) {
		if err := r.output(line); err != nil {
			t.Fatal(err)
		}
	}
	<-slow.entered // the writer took the first chunk and waits for the database
	for range recordFlush / len(line) {
		if err := r.output(line); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.event("i", "ls\r"); err != nil {
		t.Fatal(err)
	}

	// A flood waits at recordHold held bytes.
	flooded := make(chan error, 1)
	go func() {
		for range 4 * recordHold / len(line) {
			if err := r.output(line); err != nil {
				flooded <- err
				return
			}
		}
		flooded <- nil
	}()
	for {
		r.mu.Lock()
		held := r.buf.Len()
		r.mu.Unlock()
		if held >= recordHold {
			if held > recordHold+2*len(line) {
				t.Fatalf("%d bytes held, hold %d", held, recordHold)
			}
			break
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-flooded:
		t.Fatalf("the flood did not wait for the database: %v", err)
	default:
	}
	close(slow.release)
	if err := <-flooded; err != nil {
		t.Fatal(err)
	}
	if err := r.finish(ctx); err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	if err := f.st.RecordingChunks(ctx, rec.ID, func(b []byte) error { z.Write(b); return nil }); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&z)
	if err != nil {
		t.Fatal(err)
	}
	cast, _ := io.ReadAll(zr)
	if n, want := strings.Count(string(cast), `"o"`), 2*(recordFlush/len(line))+4*recordHold/len(line); n != want || !strings.Contains(string(cast), `"i", "ls\r"`) {
		t.Errorf("%d output events recorded, want %d, and the input", n, want)
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
