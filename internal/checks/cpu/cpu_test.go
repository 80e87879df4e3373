package cpu

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os/exec"
	"runtime"
	"strconv"
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

// fakeCPUs is how many CPUs the fake sampler's machine has.
const fakeCPUs = 4

func (f *fakeSampler) Sample(_ context.Context, w time.Duration, started func()) (sample, error) {
	f.window = w
	started()
	return sample{percent: f.v, cpuSeconds: w.Seconds() * fakeCPUs}, f.err
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
		{At: t0.Add(10 * time.Second), Procs: map[int32]procs.Proc{7: {PID: 7, Name: "MsMpEng.exe", CPU: 10 + 10*fakeCPUs*0.9}, 8: {PID: 8, Name: "idle", CPU: 1}}},
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
		if r.Status != core.StatusFailure || !strings.HasSuffix(r.Message.EN, "over 10 s; top processes: MsMpEng.exe (PID 7) 90.0 %, other processes 6.0 %") ||
			!strings.HasSuffix(r.Message.DE, "; Top-Prozesse: MsMpEng.exe (PID 7) 90,0 %, andere Prozesse 6,0 %") {
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
	// The counters below advance 10 CPU seconds, of which stress used 97 %.
	snaps := []procs.Snapshot{
		{At: t0, Procs: map[int32]procs.Proc{7: {PID: 7, Name: "stress", CPU: 10}}},
		{At: t0.Add(10 * time.Second), Procs: map[int32]procs.Proc{7: {PID: 7, Name: "stress", CPU: 10 + 10*0.97}}},
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

// recordingSampler keeps the sample it passed on.
type recordingSampler struct {
	sampler
	got sample
}

func (s *recordingSampler) Sample(ctx context.Context, w time.Duration, started func()) (sample, error) {
	smp, err := s.sampler.Sample(ctx, w, started)
	s.got = smp
	return smp, err
}

// TestRealBusyChild burns CPU in a child process and runs the real check
// over it: the child is ranked with a share of the total, no process and not
// all of them together used more than the total, and the named ones with
// "other processes" add up to the total the result reports. It asserts
// consistency, not how much CPU the child got on a shared machine.
func TestRealBusyChild(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("burns CPU with sh")
	}
	child := exec.Command("sh", "-c", "while :; do :; done")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()

	rec := &recordingSampler{sampler: timesSampler{times: cpu.TimesWithContext}}
	c, err := newCheck(json.RawMessage(`{"window":"1s","warn":0.5,"fail":1}`), rec)
	if err != nil {
		t.Fatal(err)
	}
	var snaps []procs.Snapshot
	c.snap = func(ctx context.Context) (procs.Snapshot, error) {
		s, err := procs.Take(ctx)
		snaps = append(snaps, s)
		return s, err
	}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil || len(got) != 1 {
		t.Fatalf("%+v, %v", got, err)
	}
	r := got[0]
	if r.Status == core.StatusUnknown {
		t.Skipf("this machine's counters are not believed: %s", r.Message.EN)
	}
	if r.Status != core.StatusFailure || len(snaps) != 2 {
		t.Fatalf("a busy child at fail 1 %%: %+v, %d snapshots", r, len(snaps))
	}
	// On a machine of its own the child is on top; on a shared one (other
	// builds running) it is at least ranked with a share.
	total := *r.Value
	sum, childShare := 0.0, 0.0
	for _, u := range procs.TopCPU(snaps[0], snaps[1], rec.got.cpuSeconds, math.MaxInt) {
		sum += u.Percent
		if int(u.PID) == child.Process.Pid {
			childShare = u.Percent
		}
	}
	if childShare <= 0 || childShare > total {
		t.Errorf("the busy child has a share of %.1f %% of a total of %.1f %%", childShare, total)
	}
	// Reading the processes is not instantaneous: allow a little.
	if sum > total+10 {
		t.Errorf("the processes used %.1f %% of the CPU time, more than the total %.1f %%", sum, total)
	}
	_, list, _ := strings.Cut(r.Message.EN, "; top processes: ")
	listed := 0.0
	for _, part := range strings.Split(list, ", ") {
		f := strings.Fields(part)
		v, err := strconv.ParseFloat(f[len(f)-2], 64)
		if err != nil {
			t.Fatalf("figure in %q: %v", part, err)
		}
		listed += v
	}
	if math.Abs(listed-total) > 0.1*float64(strings.Count(list, ",")+1) && listed < total {
		t.Errorf("named processes and other processes add up to %.1f %%, the total is %.1f %%: %s", listed, total, r.Message.EN)
	}
	t.Logf("total %.1f %%: %s", total, list)
}
