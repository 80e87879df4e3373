package agent

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

type slowCheck struct{}

func (slowCheck) Run(ctx context.Context, _ check.Reporter) error {
	<-ctx.Done()
	return ctx.Err()
}

type panicCheck struct{}

func (panicCheck) Run(context.Context, check.Reporter) error { panic("boom") }

func TestRunnerStatuses(t *testing.T) {
	r := &Runner{Timeout: 50 * time.Millisecond, Checks: []NamedCheck{
		{"fake", &fakeCheck{n: 2}},
		{"slow", slowCheck{}},
		{"panics", panicCheck{}},
		{"alien", failingCheck{errors.ErrUnsupported}},
	}}
	rs := r.RunAll(context.Background())
	if len(rs) != 5 {
		t.Fatalf("%d results: %+v", len(rs), rs)
	}
	ids := map[string]bool{}
	for _, res := range rs {
		if res.ID == "" || ids[res.ID] || res.At.IsZero() {
			t.Errorf("bad id or time: %+v", res)
		}
		ids[res.ID] = true
	}
	if rs[0].Check != "fake" || rs[0].Key != "0" || rs[1].Key != "1" {
		t.Errorf("order: %+v", rs[:2])
	}
	if rs[2].Check != "slow" || rs[2].Status != core.StatusError || !strings.Contains(rs[2].Message.EN, "did not finish in time") {
		t.Errorf("timeout: %+v", rs[2])
	}
	if rs[3].Status != core.StatusError || !strings.Contains(rs[3].Message.EN, "panicked") {
		t.Errorf("panic: %+v", rs[3])
	}
	if rs[4].Status != core.StatusUnsupported || rs[4].Message.DE == "" {
		t.Errorf("unsupported: %+v", rs[4])
	}
}

func TestTruncateKeepsUTF8(t *testing.T) {
	s := truncate(strings.Repeat("ä", 10), 5)
	if !utf8.ValidString(s) || s != "ää…" {
		t.Errorf("%q", s)
	}
	if truncate("short", 10) != "short" {
		t.Error("short string changed")
	}
}

func TestJitterBounds(t *testing.T) {
	for _, d := range []time.Duration{time.Second, 60 * time.Second, 3} {
		for range 1000 {
			if j := jitter(d); j < d/2 || j > d {
				t.Fatalf("jitter(%v) = %v outside [d/2, d]", d, j)
			}
		}
	}
}

func TestWSURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://127.0.0.1:8443":     "wss://127.0.0.1:8443/api/agent/ws",
		"https://wacht.example/base": "wss://wacht.example/base/api/agent/ws",
	} {
		if got, err := wsURL(in); err != nil || got != want {
			t.Errorf("wsURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

type dataCheck struct{ data []byte }

func (c dataCheck) Run(_ context.Context, r check.Reporter) error {
	r.Report(check.Result{Status: core.StatusFailure, Message: core.Text{EN: "1 event"}, Data: c.data})
	return nil
}

// TestRunnerKeepsData: a check's structured data reaches the result and
// survives the spool, as the server receives it.
func TestRunnerKeepsData(t *testing.T) {
	data := []byte(`{"kind":"events","v":1,"total":1,"events":[{"time":"2026-11-27T05:00:01+01:00","source":"disk","text":"bad block"}]}`)
	rs := (&Runner{Checks: []NamedCheck{{"eventlog", dataCheck{data}}}}).RunAll(context.Background())
	if len(rs) != 1 || string(rs[0].Data) != string(data) {
		t.Fatalf("results %+v", rs)
	}
	sp, err := OpenSpool(filepath.Join(t.TempDir(), "spool.db"), DefaultSpoolLimits)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if err := sp.Put(rs...); err != nil {
		t.Fatal(err)
	}
	batch, err := sp.Batch(10)
	if err != nil || len(batch) != 1 || string(batch[0].Data) != string(data) {
		t.Fatalf("spooled %+v %v", batch, err)
	}
}
