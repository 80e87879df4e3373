package cpu

import (
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
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
	// The declaration refuses them all before Init sees them.
	for _, p := range []string{`{"window":"soon"}`, `{"warn":"high"}`, `{"window":"1ms"}`, `{"warn":96,"fail":95}`, `{"fail":120}`, `{"fial":90}`} {
		var pe *check.ParamsError
		if _, err := newCheck(json.RawMessage(p), &fakeSampler{}); !errors.As(err, &pe) {
			t.Errorf("%s: %v, want refused parameters", p, err)
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
	if len(got) != 1 {
		t.Fatalf("real CPU sample: %+v", got)
	}
	// On a machine that other work keeps fully busy the idle counter may
	// stand still over the short window without the processes' sampled
	// times accounting for it: then the check says unknown, never a value.
	if r := got[0]; r.Value == nil {
		if r.Status != core.StatusUnknown || !strings.Contains(r.Message.EN, "idle") {
			t.Errorf("real CPU sample without a value: %+v", r)
		}
	} else if *r.Value < 0 || *r.Value > 100 {
		t.Errorf("real CPU sample: %+v", r)
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

// fakeTimes returns the readings in turn, or fails with err.
func fakeTimes(err error, readings ...cpu.TimesStat) func(context.Context, bool) ([]cpu.TimesStat, error) {
	return func(context.Context, bool) ([]cpu.TimesStat, error) {
		if err != nil {
			return nil, err
		}
		t := readings[0]
		readings = readings[1:]
		return []cpu.TimesStat{t}, nil
	}
}

// TestCountersNotBelieved: counters that did not advance over the window
// (Wine keeps no idle time, so it read 100 %) are unknown with the reason;
// a failing read is the check's error naming what failed, in both
// languages; sane counters give the busy share.
func TestCountersNotBelieved(t *testing.T) {
	runWith := func(times func(context.Context, bool) ([]cpu.TimesStat, error)) (collect, error) {
		c, err := newCheck(json.RawMessage(`{"window":"100ms"}`), timesSampler{times: times})
		if err != nil {
			t.Fatal(err)
		}
		var got collect
		return got, c.Run(context.Background(), &got)
	}
	got, err := runWith(fakeTimes(nil, cpu.TimesStat{User: 100, System: 20, Idle: 50}, cpu.TimesStat{User: 110, System: 22, Idle: 50}))
	if err != nil || len(got) != 1 || got[0].Status != core.StatusUnknown || got[0].Value != nil ||
		!strings.Contains(got[0].Message.EN, "counted no idle CPU time at all over 0.1 s") || !strings.Contains(got[0].Message.DE, "Leerlaufzähler stand still") {
		t.Fatalf("idle stood still: %+v, %v", got, err)
	}
	still := cpu.TimesStat{User: 100, Idle: 50}
	got, err = runWith(fakeTimes(nil, still, still))
	if err != nil || len(got) != 1 || got[0].Status != core.StatusUnknown || !strings.Contains(got[0].Message.EN, "did not advance") {
		t.Fatalf("counters stood still: %+v, %v", got, err)
	}
	got, err = runWith(fakeTimes(errors.New("NtQuerySystemInformation: not implemented")))
	txt := check.ErrorText(err)
	if len(got) != 0 || txt.EN != "reading the CPU times: NtQuerySystemInformation: not implemented" || !strings.HasPrefix(txt.DE, "Lesen der CPU-Zeiten: ") {
		t.Fatalf("read fails: %+v, %+v", got, txt)
	}
	got, err = runWith(fakeTimes(nil, cpu.TimesStat{User: 100, Idle: 100}, cpu.TimesStat{User: 105, Idle: 115}))
	if err != nil || len(got) != 1 || got[0].Status != core.StatusOK || *got[0].Value != 25 {
		t.Fatalf("sane counters: %+v, %v", got, err)
	}
}

// TestFullLoadWithoutIdle: idle time that stood still is believed when
// the processes account for the load (every CPU busy the whole window).
func TestFullLoadWithoutIdle(t *testing.T) {
	t0 := time.Unix(1000, 0)
	ncpu := float64(numCPU(context.Background()))
	snaps := []procs.Snapshot{
		{At: t0, Procs: map[int32]procs.Proc{7: {PID: 7, Name: "stress", CPU: 10}}},
		{At: t0.Add(10 * time.Second), Procs: map[int32]procs.Proc{7: {PID: 7, Name: "stress", CPU: 10 + 10*ncpu*0.97}}},
	}
	for _, loaded := range []bool{true, false} {
		calls := 0
		c, _ := newCheck(nil, timesSampler{times: fakeTimes(nil, cpu.TimesStat{User: 100, Idle: 50}, cpu.TimesStat{User: 110, Idle: 50})})
		c.window = 100 * time.Millisecond
		c.snap = func(context.Context) (procs.Snapshot, error) {
			calls++
			s := snaps[calls-1]
			if !loaded {
				s.Procs = nil
			}
			return s, nil
		}
		var got collect
		if err := c.Run(context.Background(), &got); err != nil || len(got) != 1 {
			t.Fatalf("%+v, %v", got, err)
		}
		if loaded && (got[0].Status != core.StatusFailure || *got[0].Value != 100 || !strings.Contains(got[0].Message.EN, "top processes: stress (PID 7) 97.0 %")) {
			t.Errorf("full load: %+v", got[0])
		}
		if !loaded && got[0].Status != core.StatusUnknown {
			t.Errorf("no load behind it: %+v", got[0])
		}
	}
}

// TestTopProcessesUnreadable: a failing result says the top processes
// could not be read, and why, instead of leaving them out silently.
func TestTopProcessesUnreadable(t *testing.T) {
	c, _ := newCheck(nil, &fakeSampler{v: 97})
	c.snap = func(context.Context) (procs.Snapshot, error) {
		return procs.Snapshot{}, msg.Call("CreateToolhelp32Snapshot", errors.New("Access is denied."))
	}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if r := got[0]; r.Status != core.StatusFailure || !strings.HasSuffix(r.Message.EN, "; the top processes could not be read: CreateToolhelp32Snapshot failed: Access is denied.") ||
		!strings.HasSuffix(r.Message.DE, "; die Top-Prozesse konnten nicht gelesen werden: CreateToolhelp32Snapshot fehlgeschlagen: Access is denied.") {
		t.Fatalf("%+v", r)
	}
}

// TestRealCounters measures this machine, which keeps real counters: a
// figure, or unknown if a loaded machine had no idle tick in the window
// and the processes of this container do not explain it.
func TestRealCounters(t *testing.T) {
	c, _ := newCheck(json.RawMessage(`{"window":"300ms"}`), timesSampler{times: cpu.TimesWithContext})
	c.snap = procs.Take
	var got collect
	if err := c.Run(context.Background(), &got); err != nil || len(got) != 1 {
		t.Fatalf("%+v, %v", got, err)
	}
	if r := got[0]; r.Status != core.StatusUnknown && (r.Value == nil || *r.Value < 0 || *r.Value > 100) {
		t.Fatalf("%+v", r)
	}
}

// TestAllBusy pins which counters make up the total: all of them, except
// that Linux counts guest time in user and nice already.
func TestAllBusy(t *testing.T) {
	all, busy := allBusy(cpu.TimesStat{User: 1, System: 2, Idle: 4, Nice: 8, Iowait: 16, Irq: 32,
		Softirq: 64, Steal: 128, Guest: 256, GuestNice: 512})
	wantAll := 1023.0
	if runtime.GOOS == "linux" {
		wantAll = 255
	}
	if all != wantAll || busy != wantAll-4-16 {
		t.Errorf("allBusy = %v, %v; want %v, %v", all, busy, wantAll, wantAll-20)
	}
}
