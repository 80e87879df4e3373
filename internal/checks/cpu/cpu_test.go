package cpu

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/procs"
	"github.com/wacht-rmm/wacht/internal/core"
)

type fakeSampler struct {
	v      float64
	err    error
	window time.Duration
}

func (f *fakeSampler) Percent(_ context.Context, w time.Duration) (float64, error) {
	f.window = w
	return f.v, f.err
}

type collect []check.Result

func (c *collect) Report(r check.Result) { *c = append(*c, r) }

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		params string
		v      float64
		window time.Duration
		status core.Status
		en, de string
	}{
		{"", 42, 10 * time.Second, core.StatusOK, "CPU use averaged 42.0 % over 10 s", "CPU-Auslastung im Mittel 42,0 % über 10 s"},
		{"null", 85, 10 * time.Second, core.StatusWarning, "CPU use averaged 85.0 % over 10 s", "CPU-Auslastung im Mittel 85,0 % über 10 s"},
		{`{"window":"2m"}`, 97.25, 2 * time.Minute, core.StatusFailure, "CPU use averaged 97.2 % over 2 min", "CPU-Auslastung im Mittel 97,2 % über 2 min"},
		{`{"window":"1500ms","warn":50,"fail":60}`, 55.55, 1500 * time.Millisecond, core.StatusWarning, "CPU use averaged 55.5 % over 1.5 s", "CPU-Auslastung im Mittel 55,5 % über 1,5 s"},
	} {
		f := &fakeSampler{v: tc.v}
		c, err := newCheck(json.RawMessage(tc.params), f)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Init(); err != nil {
			t.Fatal(err)
		}
		var got collect
		if err := c.Run(context.Background(), &got); err != nil {
			t.Fatal(err)
		}
		if f.window != tc.window {
			t.Errorf("%s: sampled over %v, want %v", tc.params, f.window, tc.window)
		}
		if len(got) != 1 {
			t.Fatalf("%s: %d results", tc.params, len(got))
		}
		r := got[0]
		if r.Status != tc.status || *r.Value != tc.v || r.Unit != "%" || r.Key != "" {
			t.Errorf("%s: got %+v", tc.params, r)
		}
		if r.Message.EN != tc.en || r.Message.DE != tc.de {
			t.Errorf("%s: message %q / %q", tc.params, r.Message.EN, r.Message.DE)
		}
	}
}

func TestBadParams(t *testing.T) {
	for _, p := range []string{`{"window":"soon"}`, `{"warn":"high"}`} {
		if _, err := newCheck(json.RawMessage(p), &fakeSampler{}); err == nil {
			t.Errorf("%s accepted", p)
		}
	}
	for _, p := range []string{`{"window":"1ms"}`, `{"warn":96,"fail":95}`, `{"fail":120}`} {
		c, err := newCheck(json.RawMessage(p), &fakeSampler{})
		if err != nil {
			t.Fatal(err)
		}
		if c.Init() == nil {
			t.Errorf("%s passed Init", p)
		}
	}
}

func TestErrorPassesThrough(t *testing.T) {
	want := errors.New("boom")
	c, _ := newCheck(nil, &fakeSampler{err: want})
	var got collect
	if err := c.Run(context.Background(), &got); !errors.Is(err, want) || len(got) != 0 {
		t.Errorf("err %v, results %v", err, got)
	}
}

func TestRegistered(t *testing.T) {
	c, err := check.New(Name, json.RawMessage(`{"window":"200ms"}`))
	if err != nil {
		t.Fatal(err)
	}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || *got[0].Value < 0 || *got[0].Value > 100 {
		t.Errorf("real CPU sample: %+v", got)
	}
}

func TestTopProcessesWhenFailing(t *testing.T) {
	t0 := time.Unix(1000, 0)
	snaps := []procs.Snapshot{
		{At: t0, Procs: map[int32]procs.Proc{7: {PID: 7, Name: "MsMpEng.exe", CPU: 10}, 8: {PID: 8, Name: "idle", CPU: 1}}},
		{At: t0.Add(10 * time.Second), Procs: map[int32]procs.Proc{7: {PID: 7, Name: "MsMpEng.exe", CPU: 10 + 10*float64(numCPU(context.Background()))*0.9}, 8: {PID: 8, Name: "idle", CPU: 1}}},
	}
	for _, v := range []float64{50, 96} {
		calls := 0
		c, _ := newCheck(nil, &fakeSampler{v: v})
		c.snap = func(context.Context) (procs.Snapshot, error) { calls++; return snaps[calls-1], nil }
		var got collect
		if err := c.Run(context.Background(), &got); err != nil {
			t.Fatal(err)
		}
		r := got[0]
		if v == 50 {
			if calls != 1 || strings.Contains(r.Message.EN, "top") {
				t.Errorf("passing run: %d snapshots, %q", calls, r.Message.EN)
			}
			continue
		}
		if r.Status != core.StatusFailure || !strings.HasSuffix(r.Message.EN, "over 10 s; top processes: MsMpEng.exe (PID 7) 90.0 %") ||
			!strings.HasSuffix(r.Message.DE, "; Top-Prozesse: MsMpEng.exe (PID 7) 90,0 %") {
			t.Errorf("failing run: %+v", r)
		}
	}
}
