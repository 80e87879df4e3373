// Package memory is the "memory" check: the share of physical memory in use.
package memory

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/shirou/gopsutil/v4/mem"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Name is the check's registered name.
const Name = "memory"

func init() {
	check.Register(Name, func(params json.RawMessage) (check.Check, error) {
		return newCheck(params, gopsutilReader{})
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
		return usage{}, msg.Unsupported(fmt.Errorf("reading memory use: %w", err))
	}
	return usage{Total: v.Total, Available: v.Available, UsedPercent: v.UsedPercent}, nil
}

type memCheck struct {
	limits check.Thresholds
	r      reader
}

func newCheck(raw json.RawMessage, r reader) (*memCheck, error) {
	c := &memCheck{limits: check.Thresholds{Warn: 85, Fail: 95}, r: r}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &c.limits); err != nil {
			return nil, fmt.Errorf("parsing parameters: %w", err)
		}
	}
	return c, nil
}

func (c *memCheck) Init() error { return c.limits.Validate() }

func (c *memCheck) Run(ctx context.Context, r check.Reporter) error {
	u, err := c.r.Memory(ctx)
	if err != nil {
		return err
	}
	if u.Total == 0 {
		return fmt.Errorf("reading memory use: total memory reported as 0")
	}
	r.Report(result(u, c.limits))
	return nil
}

func result(u usage, t check.Thresholds) check.Result {
	pEN, pDE := msg.Num(u.UsedPercent, 1)
	aEN, aDE := msg.Bytes(u.Available)
	tEN, tDE := msg.Bytes(u.Total)
	return check.Result{
		Status: t.Status(u.UsedPercent),
		Value:  check.Float(u.UsedPercent),
		Unit:   "%",
		Message: core.Text{
			EN: fmt.Sprintf("Memory is %s %% used (%s available of %s)", pEN, aEN, tEN),
			DE: fmt.Sprintf("Arbeitsspeicher ist zu %s %% belegt (%s von %s verfügbar)", pDE, aDE, tDE),
		},
	}
}
