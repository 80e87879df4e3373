// Package memory is the "memory" check: the share of physical memory in use,
// averaged over a window of samples so that sustained pressure is reported
// and a short peak is not. A result that does not pass names the processes
// holding the most memory.
package memory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shirou/gopsutil/v4/mem"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checks/internal/procs"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Name is the check's registered name.
const Name = "memory"

func init() {
	check.Register(checkspec.Memory, func(params json.RawMessage) (check.Check, error) {
		c, err := newCheck(params, gopsutilReader{})
		if err != nil {
			return nil, err
		}
		c.snap = procs.Take
		return c, nil
	})
}

// usage is one memory reading.
type usage struct {
	Total, Available uint64
	UsedPercent      float64
}

type reader interface {
	Memory(ctx context.Context) (usage, error)
}

type gopsutilReader struct{}

func (gopsutilReader) Memory(ctx context.Context) (usage, error) {
	v, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return usage{}, msg.Unsupported(msg.Wrap("reading memory use", "Lesen der Speicherauslastung", err))
	}
	return usage{Total: v.Total, Available: v.Available, UsedPercent: v.UsedPercent}, nil
}

// DefaultWindow is how long memory use is averaged; samples are taken
// every sampleEvery within it.
const (
	DefaultWindow = 5 * time.Second
	sampleEvery   = time.Second
	topN          = 5
)

// params are the check's JSON parameters.
type params struct {
	check.Thresholds
	Window *check.Span `json:"window"` // "0s" for one reading
}

type memCheck struct {
	limits check.Thresholds
	window time.Duration
	r      reader
	sleep  func(ctx context.Context, d time.Duration) error
	// snap reads the processes to name the top consumers when the check
	// does not pass; nil leaves them out.
	snap func(context.Context) (procs.Snapshot, error)
}

func newCheck(raw json.RawMessage, r reader) (*memCheck, error) {
	p := params{Thresholds: check.Thresholds{Warn: 85, Fail: 95}}
	if err := checkspec.Memory.Decode(raw, &p); err != nil && !errors.Is(err, check.ErrNotConfigured) {
		return nil, err // without parameters the defaults stand
	}
	c := &memCheck{limits: p.Thresholds, window: DefaultWindow, r: r, sleep: sleep}
	if p.Window != nil {
		c.window = time.Duration(*p.Window)
	}
	return c, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *memCheck) Init() error {
	if c.window < 0 || c.window > 5*time.Minute {
		return fmt.Errorf("window %v must be between 0 and 5m", c.window)
	}
	return c.limits.Validate()
}

func (c *memCheck) Run(ctx context.Context, r check.Reporter) error {
	n := int(c.window/sampleEvery) + 1
	var sum float64
	var last usage
	for i := 0; i < n; i++ {
		if i > 0 {
			if err := c.sleep(ctx, sampleEvery); err != nil {
				return err
			}
		}
		u, err := c.r.Memory(ctx)
		if err != nil {
			return err
		}
		if u.Total == 0 {
			return &msg.OSError{Text: core.Text{
				EN: "reading memory use: the OS reports 0 bytes of memory in total",
				DE: "Lesen der Speicherauslastung: das Betriebssystem meldet insgesamt 0 Byte Speicher",
			}}
		}
		sum += u.UsedPercent
		last = u
	}
	res := result(sum/float64(n), last, c.window, c.limits)
	if res.Status != core.StatusOK && c.snap != nil {
		s, err := c.snap(ctx)
		en, de := procs.MemoryText(procs.TopMemory(s, last.Total, topN))
		if err != nil {
			en, de = procs.UnreadableText(err)
		}
		res.Message.EN += en
		res.Message.DE += de
	}
	r.Report(res)
	return nil
}

// result words the average use avg over window; the sizes are the last
// sample's.
func result(avg float64, u usage, window time.Duration, t check.Thresholds) check.Result {
	pEN, pDE := msg.Num(avg, 1)
	aEN, aDE := msg.Bytes(u.Available)
	tEN, tDE := msg.Bytes(u.Total)
	overEN, overDE := "", ""
	if window >= sampleEvery {
		s := fmt.Sprintf("%d s", int(window/time.Second))
		if window >= time.Minute && window%time.Minute == 0 {
			s = fmt.Sprintf("%d min", int(window/time.Minute))
		}
		overEN, overDE = " averaged over "+s, " im Mittel über "+s
	}
	return check.Result{
		Status: t.Status(avg),
		Value:  check.Float(avg),
		Unit:   "%",
		Message: core.Text{
			EN: fmt.Sprintf("Memory is %s %% used%s (%s available of %s)", pEN, overEN, aEN, tEN),
			DE: fmt.Sprintf("Arbeitsspeicher ist%s zu %s %% belegt (%s von %s verfügbar)", overDE, pDE, aDE, tDE),
		},
	}
}
