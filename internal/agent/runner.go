package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

// NamedCheck is a configured check instance.
type NamedCheck struct {
	Name  string
	Check check.Check
}

// DefaultChecks builds every registered check with its default parameters.
// A check that fails to build is returned as an error per name.
func DefaultChecks() ([]NamedCheck, error) {
	var out []NamedCheck
	var errs []error
	for _, n := range check.Names() {
		c, err := check.New(n, nil)
		if errors.Is(err, check.ErrNotConfigured) {
			continue // runs only where a policy configures it
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, NamedCheck{Name: n, Check: c})
	}
	return out, errors.Join(errs...)
}

// Runner runs checks and turns their reports into results.
type Runner struct {
	Checks  []NamedCheck
	Timeout time.Duration // per check; 0 means check.Timeout
	Log     *slog.Logger
}

// RunAll runs all checks concurrently, each bounded by the timeout, and
// returns their results in check order.
func (r *Runner) RunAll(ctx context.Context) []core.Result {
	return r.Run(ctx, r.Checks)
}

// Run runs the given checks as RunAll does.
func (r *Runner) Run(ctx context.Context, checks []NamedCheck) []core.Result {
	per := make([][]core.Result, len(checks))
	var wg sync.WaitGroup
	for i, nc := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			per[i] = r.runOne(ctx, nc)
		}()
	}
	wg.Wait()
	var out []core.Result
	for _, rs := range per {
		out = append(out, rs...)
	}
	return out
}

// reporter collects one check run's reports.
type reporter struct {
	mu  sync.Mutex
	out []check.Result
}

func (c *reporter) Report(r check.Result) {
	c.mu.Lock()
	c.out = append(c.out, r)
	c.mu.Unlock()
}

func (r *Runner) runOne(ctx context.Context, nc NamedCheck) (out []core.Result) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = check.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rep := &reporter{}
	err := func() (err error) {
		defer func() {
			// One broken check must not take the agent down.
			if p := recover(); p != nil {
				err = fmt.Errorf("check panicked: %v", p)
			}
		}()
		return nc.Check.Run(ctx, rep)
	}()
	now := time.Now().UTC().Truncate(time.Millisecond)
	rep.mu.Lock()
	defer rep.mu.Unlock()
	for _, cr := range rep.out {
		out = append(out, core.Result{
			ID: core.NewResultID(), Check: nc.Name, Key: cr.Key, Status: cr.Status, Value: cr.Value,
			Unit: cr.Unit, Message: cr.Message, Data: cr.Data, At: now,
		})
	}
	if err != nil {
		if r.Log != nil {
			r.Log.Warn("check failed", "check", nc.Name, "err", err)
		}
		out = append(out, errorResult(nc.Name, err, ctx.Err() != nil, now))
	}
	return out
}

// errorResult reports a check that could not run.
func errorResult(name string, err error, timedOut bool, at time.Time) core.Result {
	r := core.Result{ID: core.NewResultID(), Check: name, At: at, Status: core.StatusError}
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		r.Status = core.StatusUnsupported
		r.Message = core.Text{EN: "This check is not supported on this system", DE: "Diese Prüfung wird auf diesem System nicht unterstützt"}
	case timedOut:
		r.Message = core.Text{EN: "The check did not finish in time: " + err.Error(), DE: "Die Prüfung wurde nicht rechtzeitig fertig: " + err.Error()}
	default:
		why := check.ErrorText(err)
		r.Message = core.Text{EN: "The check could not run: " + why.EN, DE: "Die Prüfung konnte nicht ausgeführt werden: " + why.DE}
	}
	r.Message.EN, r.Message.DE = truncate(r.Message.EN, 4000), truncate(r.Message.DE, 4000)
	return r
}
