package growth

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/disk"
	"github.com/wacht-rmm/wacht/internal/core"
)

type collect []check.Result

func (c *collect) Report(r check.Result) { *c = append(*c, r) }

type fakeVolumes map[string]uint64

func (f fakeVolumes) Fixed(context.Context) ([]string, error) { return []string{"/", "/srv"}, nil }
func (f fakeVolumes) Used(_ context.Context, m string) (uint64, error) {
	return f[m], nil
}

func stateDir(t *testing.T) string {
	dir := t.TempDir()
	check.SetStateDir(dir)
	t.Cleanup(func() { check.SetStateDir("") })
	return dir
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func runOnce(t *testing.T, c *growthCheck) collect {
	t.Helper()
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestGrowthOverADay(t *testing.T) {
	stateDir(t)
	clk := &clock{time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	vols := fakeVolumes{"/": 100 * gib, "/srv": 50 * gib}
	c, err := newCheck(nil, vols, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	got := runOnce(t, c)
	if len(got) != 2 || got[0].Status != core.StatusOK || got[0].Value != nil || !strings.Contains(got[0].Message.EN, "first measurement") {
		t.Fatalf("first run: %+v", got)
	}
	// Every 10 minutes for 24 h, / grows by 12 GB in total.
	for i := 1; i <= 144; i++ {
		clk.t = clk.t.Add(10 * time.Minute)
		vols["/"] = 100*gib + uint64(i)*12*gib/144
		got = runOnce(t, c)
		if i == 6 {
			// One hour in: 0.5 GB (0.5 %), incomplete history said.
			if got[0].Status != core.StatusOK || !strings.Contains(got[0].Message.EN, "in the last 1 h; only 1 h of history so far") ||
				!strings.Contains(got[0].Message.DE, "bisher erst 1 h Verlauf") {
				t.Fatalf("after 1 h: %+v", got[0])
			}
		}
	}
	r := got[0]
	if r.Status != core.StatusWarning || r.Unit != "GB" || r.Value == nil || *r.Value < 11.99 || *r.Value > 12.01 {
		t.Fatalf("after 24 h: %+v value %v", r, *r.Value)
	}
	if want := "Data on / grew by 12.0 GB (12.0 %) in the last 24 h"; r.Message.EN != want {
		t.Errorf("EN %q, want %q", r.Message.EN, want)
	}
	if want := "Die Daten auf / sind in den letzten 24 h um 12,0 GB (12,0 %) gewachsen"; r.Message.DE != want {
		t.Errorf("DE %q, want %q", r.Message.DE, want)
	}
	if got[1].Key != "/srv" || got[1].Status != core.StatusOK || *got[1].Value != 0 {
		t.Errorf("/srv: %+v", got[1])
	}
	// Restart: a new check instance reads the same history.
	c2, _ := newCheck(json.RawMessage(`{"volumes":["/"],"warn_percent":0,"fail_percent":0,"warn_gb":5,"fail_gb":10}`), vols, clk.now)
	if err := c2.Init(); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(3 * time.Minute)
	got = runOnce(t, c2)
	if len(got) != 1 || got[0].Status != core.StatusFailure || !strings.Contains(got[0].Message.EN, "in the last 24 h") {
		t.Fatalf("after restart: %+v", got)
	}
}

func TestIncompleteHistoryFailsOnlyOverThreshold(t *testing.T) {
	stateDir(t)
	clk := &clock{time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	vols := fakeVolumes{"/": 100 * gib}
	c, _ := newCheck(json.RawMessage(`{"volumes":["/"]}`), vols, clk.now)
	runOnce(t, c)
	clk.t = clk.t.Add(2*time.Hour + 20*time.Minute)
	vols["/"] = 130 * gib
	got := runOnce(t, c)
	if got[0].Status != core.StatusFailure || !strings.Contains(got[0].Message.EN, "grew by 30.0 GB (30.0 %) in the last 2 h 20 min; only 2 h 20 min of history") {
		t.Fatalf("%+v", got[0])
	}
	clk.t = clk.t.Add(time.Hour)
	vols["/"] = 90 * gib
	got = runOnce(t, c)
	if got[0].Status != core.StatusOK || !strings.Contains(got[0].Message.EN, "shrank by 10.0 GB (10.0 %) in the last 3 h 20 min") || *got[0].Value != -10 {
		t.Fatalf("shrink: %+v", got[0])
	}
}

func TestCorruptHistoryStartsOver(t *testing.T) {
	dir := stateDir(t)
	path := filepath.Join(dir, stateFile)
	if err := os.WriteFile(path, []byte(`{"version":1,"volumes":{"/":[{"t":`), 0o600); err != nil {
		t.Fatal(err)
	}
	clk := &clock{time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)}
	c, _ := newCheck(json.RawMessage(`{"volumes":["/"]}`), fakeVolumes{"/": gib}, clk.now)
	got := runOnce(t, c)
	if got[0].Status != core.StatusOK || !strings.Contains(got[0].Message.EN, "unreadable and was started anew") || !strings.Contains(got[0].Message.DE, "unlesbar") {
		t.Fatalf("%+v", got[0])
	}
	h, corrupt, err := load(path)
	if err != nil || corrupt || len(h.Volumes["/"]) != 1 {
		t.Fatalf("rewritten history: %+v %v %v", h, corrupt, err)
	}
}

func TestPruneAndRecord(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	s := []sample{{T: now.Add(time.Hour).Unix()}, {T: now.Add(-27 * time.Hour).Unix()}, {T: now.Add(-2 * time.Hour).Unix()}, {T: now.Add(-25 * time.Hour).Unix()}}
	p := prune(s, now)
	if len(p) != 2 || p[0].T != now.Add(-25*time.Hour).Unix() {
		t.Fatalf("prune: %+v", p)
	}
	p = record(p, now, 5)
	p = record(p, now.Add(time.Minute), 6)
	if len(p) != 3 || p[2].Used != 5 {
		t.Fatalf("record: %+v", p)
	}
	if b, _ := baseline(p, now); b.T != now.Add(-25*time.Hour).Unix() {
		t.Errorf("baseline %+v", b)
	}
}

func TestNoStateDir(t *testing.T) {
	check.SetStateDir("")
	c, _ := newCheck(nil, fakeVolumes{}, time.Now)
	if err := c.Run(context.Background(), &collect{}); err == nil {
		t.Fatal("ran without a state folder")
	}
}

func TestInit(t *testing.T) {
	for _, raw := range []string{`{"warn_percent":30,"fail_percent":20}`, `{"warn_gb":-1}`, `{"warn_gb":9,"fail_gb":3}`} {
		c, err := newCheck(json.RawMessage(raw), fakeVolumes{}, time.Now)
		if err == nil && c.Init() == nil {
			t.Errorf("%s accepted", raw)
		}
	}
}

type noVolumes struct{ fakeVolumes }

func (noVolumes) Fixed(context.Context) ([]string, error) { return nil, nil }

// TestNothingToWatch: without a volume to watch the check says so instead
// of reporting nothing.
func TestNothingToWatch(t *testing.T) {
	stateDir(t)
	c, _ := newCheck(nil, noVolumes{}, time.Now)
	got := runOnce(t, c)
	if len(got) != 1 || got[0].Status != core.StatusUnknown || got[0].Message != disk.NoVolumes {
		t.Errorf("got %+v, want one unknown result saying there is nothing to watch", got)
	}
}

type partialVolumes struct{ fakeVolumes }

func (partialVolumes) Fixed(context.Context) ([]string, error) {
	return []string{"C:"}, &disk.PartialError{Unread: []disk.Unread{{Mount: "D:", Err: errors.New("The device is not ready.")}}}
}

// TestPartialVolumes: a volume the OS could not read is an error result
// naming it; the volumes it could read are measured as usual.
func TestPartialVolumes(t *testing.T) {
	stateDir(t)
	c, _ := newCheck(nil, partialVolumes{fakeVolumes{"C:": 1 << 30}}, time.Now)
	got := runOnce(t, c)
	if len(got) != 2 || got[0].Key != "D:" || got[0].Status != core.StatusError || got[0].Message.DE != "Datenträger D: konnte nicht gelesen werden: The device is not ready." ||
		got[1].Key != "C:" || got[1].Status != core.StatusOK {
		t.Fatalf("got %+v", got)
	}
}
