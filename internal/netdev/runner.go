package netdev

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/website" // the one check type the server runs
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/netguard"
)

// ResultSaver stores results (the store's SaveResults).
type ResultSaver interface {
	SaveResults(ctx context.Context, deviceID int64, rs []core.Result) error
}

// ServerRunner runs, inside wacht serve, the website checks of network
// devices without a probe (public sites need no agent), on their
// schedules, and stores their results like an agent's.
//
// The checks connect only where a netguard.Guard lets them: not to the
// server itself, loopback or private ranges unless an administrator allowed
// them (netguard.SettingAllow in Settings, read at every round).
//
// wacht serve runs it under store.Lead ("server-checks"): with several
// nodes on PostgreSQL, one node at a time (docs/cluster.md).
type ServerRunner struct {
	Policy   ProbePolicy // Entries(ctx, 0) gives the server's checks
	Store    ResultSaver
	Settings core.SettingStore // the allowed ranges (nil: none)
	Log      *slog.Logger
	// Every, if positive, replaces every 24x7 interval (tests).
	Every time.Duration
	// Tick is how often due checks are looked for (default 30 s).
	Tick time.Duration
	// OnResults, if set, hears of stored results (the alert engine).
	OnResults func(deviceID int64, rs []core.Result)

	mu   sync.Mutex
	last map[string]lastRun // entry name → last run
}

type lastRun struct {
	at   time.Time
	hash [32]byte // of type, params and schedule: a change runs at once
}

// Run runs due checks until ctx ends.
func (r *ServerRunner) Run(ctx context.Context) {
	tick := r.Tick
	if tick <= 0 {
		tick = 30 * time.Second
	}
	if r.Every > 0 && r.Every < tick {
		tick = r.Every
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		if err := r.RunDue(ctx, time.Now()); err != nil && ctx.Err() == nil && r.Log != nil {
			r.Log.Error("server-side website checks", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunDue runs the checks that are due at now, concurrently, and stores
// their results per network device.
func (r *ServerRunner) RunDue(ctx context.Context, now time.Time) error {
	entries, err := r.Policy.Entries(ctx, 0)
	if err != nil {
		return err
	}
	guard := &netguard.Guard{}
	if r.Settings != nil {
		if guard, err = netguard.Load(ctx, r.Settings); err != nil {
			return err
		}
	}
	r.mu.Lock()
	if r.last == nil {
		r.last = map[string]lastRun{}
	}
	var due []core.PolicyCheck
	for _, e := range entries {
		if e.Type != "website" {
			continue // validated away by the API; never run anything else here
		}
		b, _ := json.Marshal(e)
		h := sha256.Sum256(b)
		if l, ok := r.last[e.Name]; ok && l.hash == h && now.Before(l.at.Add(r.interval(e.Schedule))) {
			continue
		}
		r.last[e.Name] = lastRun{at: now, hash: h}
		due = append(due, e)
	}
	r.mu.Unlock()

	results := make([][]core.Result, len(due))
	var wg sync.WaitGroup
	for i, e := range due {
		wg.Go(func() { results[i] = r.runOne(ctx, e, guard) })
	}
	wg.Wait()
	byDevice := map[int64][]core.Result{}
	for i, e := range due {
		id, _, ok := ParseEntryName(e.Name)
		if ok {
			byDevice[id] = append(byDevice[id], results[i]...)
		}
	}
	for id, rs := range byDevice {
		if len(rs) == 0 {
			continue
		}
		if err := r.Store.SaveResults(ctx, id, rs); err != nil {
			return fmt.Errorf("storing results of network device %d: %w", id, err)
		}
		if r.OnResults != nil {
			r.OnResults(id, rs)
		}
	}
	return nil
}

func (r *ServerRunner) interval(s core.Schedule) time.Duration {
	switch {
	case s.Class == core.ScheduleDaily:
		return 24 * time.Hour // the server has no local time of the customer: once a day
	case r.Every > 0:
		return r.Every
	case s.EveryMinutes > 0:
		return time.Duration(s.EveryMinutes) * time.Minute
	}
	return 5 * time.Minute
}

type collector struct {
	mu  sync.Mutex
	out []check.Result
}

func (c *collector) Report(res check.Result) {
	c.mu.Lock()
	c.out = append(c.out, res)
	c.mu.Unlock()
}

// runOne runs one website entry, connecting only where guard lets it, and
// returns its results under the check's own name; a check that cannot be
// built or run reports an error result.
func (r *ServerRunner) runOne(ctx context.Context, e core.PolicyCheck, guard *netguard.Guard) []core.Result {
	_, name, _ := ParseEntryName(e.Name)
	ctx, cancel := context.WithTimeout(ctx, check.Timeout)
	defer cancel()
	var col collector
	c, err := website.New(e.Params)
	if err == nil {
		c.RestrictDial(guard.Control)
		err = c.Run(ctx, &col)
	}
	at := time.Now().UTC().Truncate(time.Millisecond)
	var out []core.Result
	for _, cr := range col.out {
		out = append(out, core.Result{ID: uuid.NewString(), Check: name, Key: cr.Key, Status: cr.Status,
			Value: cr.Value, Unit: cr.Unit, Message: cr.Message, Data: cr.Data, At: at})
	}
	if err != nil {
		out = append(out, core.Result{ID: uuid.NewString(), Check: name, Status: core.StatusError, At: at,
			Message: core.Text{EN: "The check could not run: " + err.Error(), DE: "Die Prüfung konnte nicht ausgeführt werden: " + err.Error()}})
	}
	return out
}
