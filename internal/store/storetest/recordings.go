package storetest

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// recordingTests are the conformance tests of core.RecordingStore.
var recordingTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"Recordings", testRecordings},
}

func testRecordings(t *testing.T, s core.Store) {
	d := device(t, s, "rec-pc")
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	old := core.Recording{DeviceID: d.ID, UserID: 7, Actor: "user:tech@example.com", Shell: "bash", StartedAt: start}
	if err := s.CreateRecording(ctx, &old); err != nil || old.ID == 0 {
		t.Fatalf("create: %v %d", err, old.ID)
	}
	for i, c := range []string{"first", "second"} {
		if err := s.AppendRecording(ctx, old.ID, i, []byte(c), int64(10*(i+1)), int64(len(c)*(i+1)), i == 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendRecording(ctx, old.ID+1000, 0, []byte("x"), 1, 1, false); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("append to a missing recording: %v", err)
	}
	got, err := s.GetRecording(ctx, old.ID)
	if err != nil || got.EndedAt != nil || got.Size != 20 || got.Stored != 12 || !got.Truncated || got.Actor != old.Actor || !got.StartedAt.Equal(start) {
		t.Fatalf("get: %+v %v", got, err)
	}
	if err := s.FinishRecording(ctx, old.ID, start.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetRecording(ctx, old.ID); got.EndedAt == nil || !got.EndedAt.Equal(start.Add(time.Minute)) {
		t.Errorf("ended: %v", got.EndedAt)
	}
	var all bytes.Buffer
	if err := s.RecordingChunks(ctx, old.ID, func(b []byte) error { all.Write(b); return nil }); err != nil || all.String() != "firstsecond" {
		t.Errorf("chunks %q %v", all.String(), err)
	}

	recent := core.Recording{DeviceID: d.ID, UserID: 7, Actor: "user:tech@example.com", Shell: "sh", StartedAt: start.Add(48 * time.Hour)}
	if err := s.CreateRecording(ctx, &recent); err != nil {
		t.Fatal(err)
	}
	if n, err := s.DeleteRecordings(ctx, start.Add(24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("delete: %d %v", n, err)
	}
	if _, err := s.GetRecording(ctx, old.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("old recording after retention: %v", err)
	}
	if err := s.RecordingChunks(ctx, old.ID, func([]byte) error { t.Error("chunk of a deleted recording"); return nil }); err != nil {
		t.Error(err)
	}
	if _, err := s.GetRecording(ctx, recent.ID); err != nil {
		t.Errorf("recent recording: %v", err)
	}
}
