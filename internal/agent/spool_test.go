package agent

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wacht-rmm/wacht/internal/core"
)

func testResult(at time.Time, i int) core.Result {
	return core.Result{
		ID: uuid.NewString(), Check: "disk", Key: fmt.Sprintf("/v%03d", i), Status: core.StatusOK,
		Message: core.Text{EN: "fine", DE: "gut"}, At: at.UTC().Truncate(time.Millisecond),
	}
}

func ids(rs []core.Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func openTestSpool(t *testing.T, path string, l SpoolLimits) *Spool {
	t.Helper()
	s, err := OpenSpool(path, l)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSpoolPersistsAndDeletesOnlyAcked(t *testing.T) {
	path := filepath.Join(t.TempDir(), SpoolFile)
	s := openTestSpool(t, path, SpoolLimits{})
	now := time.Now()
	var put []core.Result
	for i := range 5 {
		put = append(put, testResult(now, i))
	}
	if err := s.Put(put...); err != nil {
		t.Fatal(err)
	}
	// Putting the same ID again is a no-op (a re-run must not duplicate).
	if err := s.Put(put[0]); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 5 {
		t.Fatalf("len %d", s.Len())
	}
	b, err := s.Batch(3)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(b); fmt.Sprint(got) != fmt.Sprint(ids(put[:3])) {
		t.Fatalf("batch %v, want oldest first %v", got, ids(put[:3]))
	}
	if b[0].Message.DE != "gut" || !b[0].At.Equal(put[0].At) {
		t.Errorf("round trip: %+v", b[0])
	}
	// Reading a batch removes nothing; only the ack does.
	if s.Len() != 5 {
		t.Fatalf("batch removed results: len %d", s.Len())
	}
	if err := s.Delete(put[0].ID, put[2].ID, "unknown-id"); err != nil {
		t.Fatal(err)
	}
	size := s.Bytes()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTestSpool(t, path, SpoolLimits{})
	defer s.Close()
	if s.Len() != 3 || s.Bytes() != size {
		t.Fatalf("after reopen: len %d bytes %d, want 3 and %d", s.Len(), s.Bytes(), size)
	}
	b, err = s.Batch(0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{put[1].ID, put[3].ID, put[4].ID}
	if fmt.Sprint(ids(b)) != fmt.Sprint(want) {
		t.Errorf("after reopen %v, want %v", ids(b), want)
	}
	if n, _ := s.Dropped(); n != 0 {
		t.Errorf("dropped %d without a limit hit", n)
	}
}

func TestSpoolByteBoundCountsGap(t *testing.T) {
	path := filepath.Join(t.TempDir(), SpoolFile)
	now := time.Now()
	one, _ := encodeRecord(testResult(now, 0))
	// Room for about 10 results.
	s := openTestSpool(t, path, SpoolLimits{MaxBytes: int64(len(one))*10 + 5})
	var put []core.Result
	for i := range 25 {
		r := testResult(now, i)
		put = append(put, r)
		if err := s.Put(r); err != nil {
			t.Fatal(err)
		}
	}
	if s.Len() != 10 {
		t.Fatalf("len %d, want 10", s.Len())
	}
	if n, _ := s.Dropped(); n != 15 {
		t.Fatalf("dropped %d, want 15", n)
	}
	b, err := s.Batch(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 11 {
		t.Fatalf("batch of %d, want gap + 10", len(b))
	}
	gap := b[0]
	if gap.Check != "agent" || gap.Key != "spool" || gap.Status != core.StatusWarning || gap.Value == nil || *gap.Value != 15 {
		t.Fatalf("gap report %+v", gap)
	}
	if gap.Message.EN == "" || gap.Message.DE == "" {
		t.Error("gap without message")
	}
	// The newest 10 survive, oldest first.
	if fmt.Sprint(ids(b[1:])) != fmt.Sprint(ids(put[15:])) {
		t.Errorf("kept %v, want the newest", ids(b[1:]))
	}
	// Unacked, the same gap report comes again (idempotent redelivery).
	s.Close()
	s = openTestSpool(t, path, SpoolLimits{MaxBytes: int64(len(one))*10 + 5})
	defer s.Close()
	b2, _ := s.Batch(1)
	if len(b2) != 1 || b2[0].ID != gap.ID || *b2[0].Value != 15 {
		t.Fatalf("gap not resent as it was: %+v", b2)
	}
	// Further drops while the first gap is in flight are counted anew.
	if err := s.Put(testResult(now, 99), testResult(now, 100)); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Dropped(); n != 17 {
		t.Errorf("dropped %d, want 17", n)
	}
	if err := s.Delete(gap.ID); err != nil {
		t.Fatal(err)
	}
	b3, _ := s.Batch(1)
	if len(b3) != 1 || b3[0].Check != "agent" || b3[0].ID == gap.ID || *b3[0].Value != 2 {
		t.Fatalf("second gap: %+v", b3)
	}
	if err := s.Delete(b3[0].ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Dropped(); n != 0 {
		t.Errorf("dropped %d after both gaps acked", n)
	}
	if b4, _ := s.Batch(0); len(b4) != 10 || b4[0].Check == "agent" {
		t.Errorf("after acked gaps: %d results, first %+v", len(b4), b4[0])
	}
}

func TestSpoolAgeBound(t *testing.T) {
	path := filepath.Join(t.TempDir(), SpoolFile)
	s := openTestSpool(t, path, SpoolLimits{MaxAge: time.Hour})
	defer s.Close()
	now := time.Now()
	s.now = func() time.Time { return now }
	old := []core.Result{testResult(now.Add(-3*time.Hour), 0), testResult(now.Add(-2*time.Hour), 1)}
	fresh := testResult(now.Add(-time.Minute), 2)
	if err := s.Put(append(old, fresh)...); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 {
		t.Fatalf("len %d, want only the fresh result", s.Len())
	}
	// Time passes: Prune drops the now-old result too.
	now = now.Add(2 * time.Hour)
	if err := s.Prune(); err != nil {
		t.Fatal(err)
	}
	if s.Len() != 0 || s.Bytes() != 0 {
		t.Fatalf("len %d bytes %d after prune", s.Len(), s.Bytes())
	}
	b, _ := s.Batch(0)
	if len(b) != 1 || *b[0].Value != 3 {
		t.Fatalf("want one gap report of 3, got %+v", b)
	}
}
