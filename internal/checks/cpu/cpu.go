// Package cpu is the "cpu" check: average CPU use over a sample window, so
// that sustained load is reported and a single spike is not. A result that
// does not pass names the processes that used the most CPU in the window.
package cpu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checks/internal/procs"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Name is the check's registered name.
const Name = "cpu"

// DefaultWindow is how long CPU use is averaged.
const DefaultWindow = 10 * time.Second

func init() {
	check.Register(Name, func(params json.RawMessage) (check.Check, error) {
		c, err := newCheck(params, gopsutilSampler{})
		if err != nil {
			return nil, err
		}
		c.snap = procs.Take
		return c, nil
	})
}

// sampler measures the average CPU use in percent over window.
type sampler interface {
	Percent(ctx context.Context, window time.Duration) (float64, error)
}

type gopsutilSampler struct{}

func (gopsutilSampler) Percent(ctx context.Context, window time.Duration) (float64, error) {
	// One total figure over the whole window: gopsutil samples the counters
	// at its start and end, which averages everything in between.
	ps, err := cpu.PercentWithContext(ctx, window, false)
	if err != nil {
		return 0, msg.Unsupported(fmt.Errorf("measuring CPU use: %w", err))
	}
	if len(ps) == 0 {
		return 0, errors.New("measuring CPU use: no figures returned")
	}
	return ps[0], nil
}

// params are the check's JSON parameters.
type params struct {
	Window string  `json:"window"` // Go duration, e.g. "10s"
	Warn   float64 `json:"warn"`
	Fail   float64 `json:"fail"`
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
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, fmt.Errorf("parsing parameters: %w", err)
		}
	}
	c := &cpuCheck{window: DefaultWindow, limits: check.Thresholds{Warn: p.Warn, Fail: p.Fail}, s: s}
	if p.Window != "" {
		d, err := time.ParseDuration(p.Window)
		if err != nil {
			return nil, fmt.Errorf("parameter window: %w", err)
		}
		c.window = d
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
	var before procs.Snapshot
	var haveBefore bool
	if c.snap != nil {
		var err error
		before, err = c.snap(ctx)
		haveBefore = err == nil
	}
	v, err := c.s.Percent(ctx, c.window)
	if err != nil {
		return err
	}
	res := result(v, c.window, c.limits)
	if res.Status != core.StatusOK && haveBefore {
		// Process CPU times over the same window: the figures are shares of
		// all CPUs, like v, so they add up to at most v.
		if after, err := c.snap(ctx); err == nil {
			en, de := procs.CPUText(procs.TopCPU(before, after, numCPU(ctx), topN))
			res.Message.EN += en
			res.Message.DE += de
		}
	}
	r.Report(res)
	return nil
}

// numCPU counts logical CPUs as gopsutil's total CPU figure does.
func numCPU(ctx context.Context) int {
	if n, err := cpu.CountsWithContext(ctx, true); err == nil && n > 0 {
		return n
	}
	return runtime.NumCPU()
}

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
