// Package growth is the "growth" check: how much the used space of each
// selected volume grew over the last 24 hours. Samples (time, used bytes)
// are kept in a small file in the check state folder, so the history
// survives agent restarts; the result names the window it actually covers.
package growth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/disk"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Name is the check's registered name.
const Name = "growth"

const (
	// window is the span growth is measured over.
	window = 24 * time.Hour
	// keep is how much history is stored: a little more than window, so a
	// sample at or before "24 h ago" is still there.
	keep = 26 * time.Hour
	// minGap thins stored samples: with a check every minute the file
	// would otherwise hold ~1,500 samples per volume.
	minGap = 5 * time.Minute
	// stateFile is the history's name in the state folder.
	stateFile = "growth.json"
)

const gib = 1 << 30

func init() {
	check.Register(checkspec.Growth, func(params json.RawMessage) (check.Check, error) {
		return newCheck(params, osVolumes{}, time.Now)
	})
}

// volumes is the OS access the check needs.
type volumes interface {
	Fixed(ctx context.Context) ([]string, error)
	Used(ctx context.Context, mount string) (uint64, error)
}

type osVolumes struct{}

func (osVolumes) Fixed(ctx context.Context) ([]string, error) { return disk.FixedVolumes(ctx) }

func (osVolumes) Used(ctx context.Context, mount string) (uint64, error) {
	u, _, err := disk.Used(ctx, mount)
	return u, err
}

// params: thresholds in percent of the used space at the start of the
// window, and/or in GB (binary, as the messages show them). A zero limit is
// off; a volume's status is the worse of both.
type params struct {
	Volumes     []string `json:"volumes"` // mount points; empty = all fixed volumes
	WarnPercent float64  `json:"warn_percent"`
	FailPercent float64  `json:"fail_percent"`
	WarnGB      float64  `json:"warn_gb"`
	FailGB      float64  `json:"fail_gb"`
}

type growthCheck struct {
	p   params
	v   volumes
	now func() time.Time
}

func newCheck(raw json.RawMessage, v volumes, now func() time.Time) (*growthCheck, error) {
	c := &growthCheck{p: params{WarnPercent: 10, FailPercent: 25}, v: v, now: now}
	if err := checkspec.Growth.Decode(raw, &c.p); err != nil && !errors.Is(err, check.ErrNotConfigured) {
		return nil, err // without parameters the defaults stand
	}
	return c, nil
}

func (c *growthCheck) Init() error {
	p := c.p
	for _, v := range []float64{p.WarnPercent, p.FailPercent, p.WarnGB, p.FailGB} {
		if v < 0 {
			return fmt.Errorf("thresholds must not be negative")
		}
	}
	if p.WarnPercent > 0 && p.FailPercent > 0 && p.WarnPercent > p.FailPercent || p.WarnGB > 0 && p.FailGB > 0 && p.WarnGB > p.FailGB {
		return fmt.Errorf("warning threshold is above failure threshold")
	}
	return nil
}

// sample is one stored reading.
type sample struct {
	T    int64  `json:"t"` // Unix seconds
	Used uint64 `json:"used"`
}

// history is the state file's content.
type history struct {
	Version int                 `json:"version"`
	Volumes map[string][]sample `json:"volumes"`
}

// load reads the history. A missing file is an empty history; an
// unreadable one is too, with corrupt set so the result can say so.
func load(path string) (h history, corrupt bool, err error) {
	h = history{Version: 1, Volumes: map[string][]sample{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return h, false, nil
	}
	if err != nil {
		return h, false, fmt.Errorf("reading growth history: %w", err)
	}
	var got history
	if err := json.Unmarshal(b, &got); err != nil || got.Version != 1 || got.Volumes == nil {
		return h, true, nil
	}
	return got, false, nil
}

// save writes the history atomically (temp file + rename), so a crash
// mid-write leaves the old file rather than a torn one.
func save(path string, h history) error {
	b, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encoding growth history: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), stateFile+".*")
	if err != nil {
		return fmt.Errorf("writing growth history: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing growth history: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing growth history: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing growth history: %w", err)
	}
	return nil
}

func (c *growthCheck) Run(ctx context.Context, r check.Reporter) error {
	dir, err := check.StateDir()
	if err != nil {
		return fmt.Errorf("growth needs a state folder: %w", err)
	}
	path := filepath.Join(dir, stateFile)
	h, corrupt, err := load(path)
	if err != nil {
		return err
	}
	mounts := c.p.Volumes
	if len(mounts) == 0 {
		mounts, err = c.v.Fixed(ctx)
		partial := (*disk.PartialError)(nil)
		if err != nil && !errors.As(err, &partial) {
			return err
		}
		if partial != nil {
			// Volumes the OS could not read are errors; the others go on.
			for _, res := range partial.Results() {
				r.Report(res)
			}
		}
		if len(mounts) == 0 {
			if partial == nil {
				r.Report(check.Result{Status: core.StatusUnknown, Message: disk.NoVolumes})
			}
			return nil
		}
	}
	now := c.now()
	for _, m := range mounts {
		m = disk.NormMount(m)
		used, err := c.v.Used(ctx, m)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.Report(disk.Unread{Mount: m, Err: err}.Result())
			continue
		}
		samples := prune(h.Volumes[m], now)
		res := evaluate(m, samples, now, used, c.p)
		if corrupt {
			res.Message.EN += " (the growth history file was unreadable and was started anew)"
			res.Message.DE += " (die Verlaufsdatei war unlesbar und wurde neu begonnen)"
		}
		r.Report(res)
		h.Volumes[m] = record(samples, now, used)
	}
	// Volumes no longer watched age out with their samples.
	for m, s := range h.Volumes {
		if s = prune(s, now); len(s) == 0 {
			delete(h.Volumes, m)
		} else {
			h.Volumes[m] = s
		}
	}
	return save(path, h)
}

// prune drops samples older than keep and any from the future (the clock
// was set back), keeping time order.
func prune(s []sample, now time.Time) []sample {
	out := make([]sample, 0, len(s))
	for _, x := range s {
		t := time.Unix(x.T, 0)
		if now.Sub(t) <= keep && !t.After(now) {
			out = append(out, x)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].T < out[j].T })
	return out
}

// record appends the current reading unless the last stored one is recent.
func record(s []sample, now time.Time, used uint64) []sample {
	if n := len(s); n > 0 && now.Sub(time.Unix(s[n-1].T, 0)) < minGap {
		return s
	}
	return append(s, sample{T: now.Unix(), Used: used})
}

// baseline picks the sample growth is measured from: the newest one at
// least 24 h old, or else the oldest there is (less than 24 h covered).
func baseline(s []sample, now time.Time) (sample, bool) {
	if len(s) == 0 {
		return sample{}, false
	}
	cut := now.Add(-window).Unix()
	best := s[0]
	for _, x := range s {
		if x.T <= cut {
			best = x
		}
	}
	return best, true
}

// evaluate words the growth of one volume from its pruned history.
func evaluate(mount string, s []sample, now time.Time, used uint64, p params) check.Result {
	base, ok := baseline(s, now)
	span := now.Sub(time.Unix(base.T, 0))
	if !ok || span < time.Minute {
		uEN, uDE := msg.Bytes(used)
		return check.Result{Key: mount, Status: core.StatusOK, Message: core.Text{
			EN: fmt.Sprintf("Volume %s: first measurement (%s used); growth is known from the next run on", mount, uEN),
			DE: fmt.Sprintf("Volume %s: erste Messung (%s belegt); das Wachstum ist ab dem nächsten Lauf bekannt", mount, uDE),
		}}
	}
	delta := float64(used) - float64(base.Used)
	pct := 0.0
	if base.Used > 0 {
		pct = delta / float64(base.Used) * 100
	}
	gb := delta / gib
	status := core.StatusOK
	if p.WarnPercent > 0 && pct >= p.WarnPercent || p.WarnGB > 0 && gb >= p.WarnGB {
		status = core.StatusWarning
	}
	if p.FailPercent > 0 && pct >= p.FailPercent || p.FailGB > 0 && gb >= p.FailGB {
		status = core.StatusFailure
	}
	var aEN, aDE string
	if delta >= 0 {
		aEN, aDE = msg.Bytes(uint64(delta))
	} else {
		aEN, aDE = msg.Bytes(uint64(-delta))
	}
	pEN, pDE := msg.Num(pct, 1)
	wEN, wDE := span2text(span)
	verbEN, verbDE := "grew by", "gewachsen"
	if delta < 0 {
		verbEN, verbDE = "shrank by", "geschrumpft"
		pEN, pDE = msg.Num(-pct, 1)
	}
	res := check.Result{Key: mount, Status: status, Value: check.Float(gb), Unit: "GB", Message: core.Text{
		EN: fmt.Sprintf("Data on %s %s %s (%s %%) in the last %s", mount, verbEN, aEN, pEN, wEN),
		DE: fmt.Sprintf("Die Daten auf %s sind in den letzten %s um %s (%s %%) %s", mount, wDE, aDE, pDE, verbDE),
	}}
	if span < window-minGap {
		res.Message.EN += fmt.Sprintf("; only %s of history so far, not yet 24 h", wEN)
		res.Message.DE += fmt.Sprintf("; bisher erst %s Verlauf, noch keine 24 h", wDE)
	}
	return res
}

// span2text words a duration as "23 h 40 min" (same in both languages).
func span2text(d time.Duration) (en, de string) {
	d = d.Round(time.Minute)
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	var s string
	switch {
	case h == 0:
		s = fmt.Sprintf("%d min", m)
	case m == 0:
		s = fmt.Sprintf("%d h", h)
	default:
		s = fmt.Sprintf("%d h %d min", h, m)
	}
	return s, s
}
