// Package snmptrapcheck makes the SNMP trap receiver (internal/snmptrap) a
// check that a probe's policy can carry (type "snmptrap"): the first run of
// an entry starts a listener with the entry's configuration, which keeps
// running between runs and collects the traps; every run reports the traps
// collected since the last one, so they reach the spool and the server like
// any result. A changed configuration restarts the listener; a listener
// that no run has drained for IdleStop (its entry left the policy) stops.
//
// Traps are buffered in memory between runs (at most maxBuffered, counted
// when dropped), so their delay is at most the entry's interval; use a
// short one (1 minute) for trap entries.
package snmptrapcheck

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/snmptrap"
)

// Name is the check type.
const Name = snmptrap.CheckName

// IdleStop stops a listener whose entry has not run for this long.
const IdleStop = 15 * time.Minute

const maxBuffered = 10000

func init() {
	check.Register(checkspec.SNMPTrap, func(raw json.RawMessage) (check.Check, error) { return New(raw) })
}

// running is one listener and what it collected, per listen address.
type running struct {
	hash    [32]byte
	cancel  context.CancelFunc
	done    chan struct{}
	l       *snmptrap.Listener
	mu      sync.Mutex
	buf     []check.Result
	dropped int
	err     error // Run's error (e.g. the port could not be bound)
	lastRun time.Time
}

var (
	mu        sync.Mutex
	listeners = map[string]*running{}
)

type trapCheck struct {
	cfg  snmptrap.Config
	hash [32]byte
}

// New validates the configuration (snmptrap.ParseConfig and New). Without
// parameters it returns check.ErrNotConfigured: a listener on a privileged
// port exists only where a policy configures one (`{}` takes every default),
// never in the agent's default checks.
func New(raw json.RawMessage) (check.Check, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, check.ErrNotConfigured
	}
	cfg, err := snmptrap.ParseConfig(raw)
	if err != nil {
		return nil, err
	}
	if cfg.Listen == "" {
		cfg.Listen = snmptrap.DefaultListen
	}
	if _, err := snmptrap.New(cfg, func(check.Result) {}, nil); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(cfg)
	return &trapCheck{cfg: cfg, hash: sha256.Sum256(b)}, nil
}

// Run starts or keeps the listener and reports what it collected.
func (c *trapCheck) Run(ctx context.Context, rep check.Reporter) error {
	r, err := c.ensure()
	if err != nil {
		return err
	}
	r.mu.Lock()
	buf, dropped, runErr := r.buf, r.dropped, r.err
	r.buf, r.dropped, r.lastRun = nil, 0, time.Now()
	r.mu.Unlock()
	if runErr != nil {
		c.stop(r)
		return runErr
	}
	for _, res := range buf {
		rep.Report(res)
	}
	if dropped > 0 {
		rep.Report(check.Result{Key: "dropped", Status: core.StatusWarning, Message: core.Text{
			EN: fmt.Sprintf("%d SNMP traps were dropped between two runs (more than %d)", dropped, maxBuffered),
			DE: fmt.Sprintf("%d SNMP-Traps wurden zwischen zwei Läufen verworfen (mehr als %d)", dropped, maxBuffered),
		}})
	}
	if len(buf) == 0 && dropped == 0 {
		rep.Report(check.Result{Key: "listener", Status: core.StatusOK, Message: core.Text{
			EN: "Listening for SNMP traps on " + c.cfg.Listen + "; none received since the last run",
			DE: "Empfängt SNMP-Traps auf " + c.cfg.Listen + "; seit dem letzten Lauf keine erhalten",
		}})
	}
	return nil
}

// ensure returns the listener for c's address, (re)starting it when the
// configuration changed.
func (c *trapCheck) ensure() (*running, error) {
	mu.Lock()
	defer mu.Unlock()
	if r, ok := listeners[c.cfg.Listen]; ok {
		if r.hash == c.hash {
			return r, nil
		}
		r.cancel()
		<-r.done
		delete(listeners, c.cfg.Listen)
	}
	r := &running{hash: c.hash, done: make(chan struct{}), lastRun: time.Now()}
	l, err := snmptrap.New(c.cfg, func(res check.Result) {
		r.mu.Lock()
		if len(r.buf) < maxBuffered {
			r.buf = append(r.buf, res)
		} else {
			r.dropped++
		}
		r.mu.Unlock()
	}, nil)
	if err != nil {
		return nil, err
	}
	r.l = l
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() {
		defer close(r.done)
		if err := l.Run(ctx); err != nil {
			r.mu.Lock()
			r.err = err
			r.mu.Unlock()
		}
	}()
	go r.watchIdle(ctx, c.cfg.Listen)
	// Wait until bound (or failed) so that the first run can tell.
	select {
	case <-l.Ready():
	case <-r.done:
	case <-time.After(5 * time.Second):
	}
	listeners[c.cfg.Listen] = r
	return r, nil
}

func (c *trapCheck) stop(r *running) {
	mu.Lock()
	defer mu.Unlock()
	if listeners[c.cfg.Listen] == r {
		delete(listeners, c.cfg.Listen)
	}
	r.cancel()
}

// watchIdle stops the listener when no run drained it for IdleStop.
func (r *running) watchIdle(ctx context.Context, addr string) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.Lock()
		idle := time.Since(r.lastRun) > IdleStop
		r.mu.Unlock()
		if idle {
			mu.Lock()
			if listeners[addr] == r {
				delete(listeners, addr)
			}
			mu.Unlock()
			r.cancel()
			return
		}
	}
}

// addr returns the bound address of the listener on listen (tests).
func addr(listen string) string {
	mu.Lock()
	defer mu.Unlock()
	if r, ok := listeners[listen]; ok && r.l != nil {
		select {
		case <-r.l.Ready():
			return r.l.Addr().String()
		default:
		}
	}
	return ""
}
