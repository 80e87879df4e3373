// Package cpu is the "cpu" check: average CPU use over a sample window, so
// that sustained load is reported and a single spike is not. A result that
// does not pass names the processes that used the most CPU in the window.
package cpu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checks/internal/procs"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Name is the check's registered name.
const Name = "cpu"

// DefaultWindow is how long CPU use is averaged.
const DefaultWindow = 10 * time.Second

func init() {
	check.Register(checkspec.CPU, func(params json.RawMessage) (check.Check, error) {
		c, err := newCheck(params, timesSampler{times: cpu.TimesWithContext})
		if err != nil {
			return nil, err
		}
		c.snap = procs.Take
		return c, nil
	})
}

// A sample is CPU use over a window: the busy share in percent, and the
// CPU time that passed on all CPUs together (the OS counters' total), of
// which the processes' shares are taken so that they add up to percent.
type sample struct {
	percent    float64
	cpuSeconds float64
}

// sampler measures the average CPU use over window. It calls started right
// after its first reading, and returns right after its last: process times
// read then span the same interval as the total.
type sampler interface {
	Sample(ctx context.Context, window time.Duration, started func()) (sample, error)
}

// timesSampler reads the OS's total CPU time counters (gopsutil: /proc/stat,
// GetSystemTimes, host_statistics) at the start and the end of the window,
// which averages everything in between.
type timesSampler struct {
	times func(ctx context.Context, perCPU bool) ([]cpu.TimesStat, error)
}

func (s timesSampler) Sample(ctx context.Context, window time.Duration, started func()) (sample, error) {
	t1, err := s.read(ctx)
	if err != nil {
		return sample{}, err
	}
	start := time.Now()
	started()
	// The window counts from the first reading, whatever started took.
	select {
	case <-ctx.Done():
		return sample{}, ctx.Err()
	case <-time.After(window - time.Since(start)):
	}
	t2, err := s.read(ctx)
	if err != nil {
		return sample{}, err
	}
	all1, _ := allBusy(t1)
	all2, _ := allBusy(t2)
	v, err := busyPercent(t1, t2, window)
	return sample{percent: v, cpuSeconds: all2 - all1}, err
}

func (s timesSampler) read(ctx context.Context) (cpu.TimesStat, error) {
	ts, err := s.times(ctx, false)
	if err != nil {
		return cpu.TimesStat{}, msg.Unsupported(msg.Wrap("reading the CPU times", "Lesen der CPU-Zeiten", err))
	}
	if len(ts) == 0 {
		return cpu.TimesStat{}, &msg.OSError{Text: core.Text{
			EN: "reading the CPU times: the OS returned no figures",
			DE: "Lesen der CPU-Zeiten: das Betriebssystem hat keine Werte geliefert",
		}}
	}
	return ts[0], nil
}

// frozenError says the OS's CPU counters did not advance over the window,
// so the figure would be made up: the check reports unknown with it. When
// only the idle time stood still, implied is the figure the counters give,
// which a real full load explains.
type frozenError struct {
	core.Text
	implied *float64
}

func (e *frozenError) Error() string { return e.EN }

// busyPercent is the share of non-idle time between two readings, as
// gopsutil computes it (guest time is part of user time on Linux and not
// counted twice). Counters that did not advance at all, or whose idle
// time stood still, are not believed: an OS that does not keep them (Wine
// keeps no idle time) would otherwise read as 0 % or 100 % busy.
func busyPercent(t1, t2 cpu.TimesStat, window time.Duration) (float64, error) {
	all1, busy1 := allBusy(t1)
	all2, busy2 := allBusy(t2)
	wEN, wDE := windowText(window)
	if all2 <= all1 {
		return 0, &frozenError{Text: core.Text{
			EN: fmt.Sprintf("The OS's CPU time counters did not advance over %s, so CPU use cannot be measured", wEN),
			DE: fmt.Sprintf("Die CPU-Zeitzähler des Betriebssystems sind über %s nicht weitergelaufen, daher lässt sich die CPU-Auslastung nicht messen", wDE),
		}}
	}
	v := math.Min(100, math.Max(0, (busy2-busy1)/(all2-all1)*100))
	if t2.Idle+t2.Iowait <= t1.Idle+t1.Iowait {
		return 0, &frozenError{implied: &v, Text: core.Text{
			EN: fmt.Sprintf("The OS counted no idle CPU time at all over %s (its idle counter stood still) and the processes do not account for a full load, so CPU use cannot be measured", wEN),
			DE: fmt.Sprintf("Das Betriebssystem hat über %s keinerlei CPU-Leerlaufzeit gezählt (sein Leerlaufzähler stand still) und die Prozesse erklären keine Volllast, daher lässt sich die CPU-Auslastung nicht messen", wDE),
		}}
	}
	return v, nil
}

// allBusy returns the total and the busy CPU time of one reading.
// Linux counts guest time in user and nice already.
func allBusy(t cpu.TimesStat) (all, busy float64) {
	all = t.User + t.System + t.Idle + t.Nice + t.Iowait + t.Irq + t.Softirq + t.Steal
	if runtime.GOOS != "linux" {
		all += t.Guest + t.GuestNice
	}
	return all, all - t.Idle - t.Iowait
}

// params are the check's JSON parameters.
type params struct {
	Window check.Span `json:"window"`
	Warn   float64    `json:"warn"`
	Fail   float64    `json:"fail"`
}

type cpuCheck struct {
	window time.Duration
	limits check.Thresholds
	s      sampler
	// snap reads the processes before and after the window, to name the
	// top consumers when the check does not pass; nil leaves them out.
	snap func(context.Context) (procs.Snapshot, error)
}

// topN is how many processes a failing result names.
const topN = 5

func newCheck(raw json.RawMessage, s sampler) (*cpuCheck, error) {
	p := params{Warn: 85, Fail: 95}
	if err := checkspec.CPU.Decode(raw, &p); err != nil && !errors.Is(err, check.ErrNotConfigured) {
		return nil, err // without parameters the defaults stand
	}
	c := &cpuCheck{window: DefaultWindow, limits: check.Thresholds{Warn: p.Warn, Fail: p.Fail}, s: s}
	if p.Window != 0 {
		c.window = time.Duration(p.Window)
	}
	return c, nil
}

func (c *cpuCheck) Init() error {
	if c.window < 100*time.Millisecond || c.window > 5*time.Minute {
		return fmt.Errorf("window %v must be between 100ms and 5m", c.window)
	}
	return c.limits.Validate()
}

func (c *cpuCheck) Run(ctx context.Context, r check.Reporter) error {
	// The processes are read right after the total's first reading and
	// right after its last, so that each process's CPU time spans the
	// same interval as the total (read in the same order, each process's
	// two readings are as far apart as the total's).
	var before, after procs.Snapshot
	snapErr := errors.New("not asked")
	started := func() {
		if c.snap != nil {
			before, snapErr = c.snap(ctx)
		}
	}
	smp, err := c.s.Sample(ctx, c.window, started)
	v := smp.percent
	fe := (*frozenError)(nil)
	if errors.As(err, &fe) && fe.implied == nil {
		r.Report(check.Result{Status: core.StatusUnknown, Unit: "%", Message: fe.Text})
		return nil
	}
	if err != nil && fe == nil {
		return err
	}
	// Process CPU times over the same interval name the top consumers of
	// a result that does not pass, and tell a real full load from an OS
	// that keeps no idle time: the figures are shares of the same CPU
	// time as v.
	var top []procs.Usage
	if snapErr == nil && (fe != nil || c.limits.Status(v) != core.StatusOK) {
		if after, snapErr = c.snap(ctx); snapErr == nil {
			top = procs.TopCPU(before, after, smp.cpuSeconds, math.MaxInt)
		}
	}
	if fe != nil {
		share := 0.0
		for _, u := range top {
			share += u.Percent
		}
		if snapErr != nil || share < minBusyShare {
			r.Report(check.Result{Status: core.StatusUnknown, Unit: "%", Message: fe.Text})
			return nil
		}
		v = *fe.implied // processes account for the load: it is real
	}
	res := result(v, c.window, c.limits)
	if res.Status != core.StatusOK && c.snap != nil {
		en, de := procs.CPUText(top[:min(len(top), topN)], v)
		if snapErr != nil {
			en, de = procs.UnreadableText(snapErr)
		}
		res.Message.EN += en
		res.Message.DE += de
	}
	r.Report(res)
	return nil
}

// minBusyShare is the share of all CPUs (percent) the processes must have
// used in the window for a full load without idle time to be believed.
const minBusyShare = 50

// result classifies and words one measurement.
func result(v float64, window time.Duration, t check.Thresholds) check.Result {
	en, de := msg.Num(v, 1)
	wEN, wDE := windowText(window)
	return check.Result{
		Status: t.Status(v),
		Value:  check.Float(v),
		Unit:   "%",
		Message: core.Text{
			EN: fmt.Sprintf("CPU use averaged %s %% over %s", en, wEN),
			DE: fmt.Sprintf("CPU-Auslastung im Mittel %s %% über %s", de, wDE),
		},
	}
}

// windowText words a window as seconds ("10 s") or minutes ("2 min").
func windowText(d time.Duration) (en, de string) {
	if d >= time.Minute && d%time.Minute == 0 {
		n := fmt.Sprint(int(d / time.Minute))
		return n + " min", n + " min"
	}
	prec := 0
	if d%time.Second != 0 {
		prec = 1
	}
	en, de = msg.Num(d.Seconds(), prec)
	return en + " s", de + " s"
}
