package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/scriptsign"
)

// Automated tasks (issue 16): the signed policy's scripts, run on their
// schedule, at agent start, or as the automatic fix of a failing check.
// Each run goes through the script journal with a run ID that names the
// occurrence (protocol.TaskRunID), and is recorded as pending in
// tasks.json before it starts: a run the agent was stopped in is reported
// as interrupted at the next start, never run twice (unless the task says
// RunAgain). Every run is reported as a result (protocol.KindTaskRun)
// through the spool, also a refused one.

// scriptAllowed says why this device refuses to run sa outside the
// script action (whose local lock authorize checks): the local lock and,
// in lock mode, the script signer's signature.
func (a *Agent) scriptAllowed(sa protocol.ScriptArgs) error {
	if slices.Contains(a.cfg.Disable, protocol.LockScripts) {
		return Errorf(protocol.CodeDisabledLocally, "Scripts are disabled on this device (local lock %q).",
			"Skripte sind auf diesem Gerät gesperrt (lokale Sperre %q).", protocol.LockScripts)
	}
	return a.signerAllows(sa)
}

// signerAllows refuses a script without its signer's signature in lock
// mode.
func (a *Agent) signerAllows(sa protocol.ScriptArgs) error {
	pub := a.cfg.ScriptSigner
	if len(pub) == 0 {
		return nil
	}
	if err := scriptsign.Verify(pub, sa.Language, sa.Body, sa.Signature); err != nil {
		return Errorf(protocol.CodeScriptSigner,
			"Refused: this device runs only scripts signed by its script signer (lock mode): %v.",
			"Abgelehnt: dieses Gerät führt nur Skripte aus, die sein Skript-Signierer signiert hat (Sperrmodus): %v.", err)
	}
	return nil
}

// runTasks runs the policy's tasks until ctx ends: each start task once
// for this start (started) and every scheduled task when due. A task's
// run never blocks the loop.
func (a *Agent) runTasks(ctx context.Context, started time.Time) {
	atStart := map[string]bool{}
	for ctx.Err() == nil {
		tasks := a.plan.taskList()
		for _, t := range tasks {
			if t.Schedule.Kind == core.TaskAtStart && !atStart[t.Name] {
				// A start task that arrives with the first policy after
				// the start still runs once for this start.
				if a.startTask(ctx, t, a.tasks.startOccurrence(t.Name, started)) {
					atStart[t.Name] = true
				}
			}
		}
		now := time.Now()
		due, which, next := a.tasks.due(tasks, now)
		for i, o := range due {
			a.startTask(ctx, which[i], o)
		}
		wait := maxSleep
		if !next.IsZero() {
			wait = min(max(next.Sub(now), 0), maxSleep)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-a.plan.tasksChanged:
		case <-a.taskDone: // a task that was running may be due
		case <-t.C:
		}
		t.Stop()
	}
}

// recoverTasks reports the runs that were in flight when the agent
// stopped, before any check runs (a fix must not take a pending run's
// place): the journal answers interrupted for a run whose process had
// started (or its result, if it finished); a run that never started runs
// now. A task with RunAgain runs the interrupted occurrence again.
func (a *Agent) recoverTasks(ctx context.Context) {
	tasks := a.plan.taskList()
	for name, o := range a.tasks.pending() {
		i := slices.IndexFunc(tasks, func(t protocol.Task) bool { return t.Name == name })
		if i < 0 {
			// The task left the policy: report the run without its script.
			if a.tasks.begin(name, o) {
				gone := protocol.Task{Name: name}
				a.store([]core.Result{taskResult(gone, newTaskRun(gone, o), nil, interrupted(o.runID(name)))})
				a.tasks.end(name, true)
			}
			continue
		}
		if tasks[i].RunAgain {
			a.scripts().forgetInterrupted(o.runID(name))
		}
		a.startTask(ctx, tasks[i], o)
	}
}

// fixFailing starts the automatic fix of every task bound to a check
// that failed among rs (or could not run), within the task's daily cap.
func (a *Agent) fixFailing(ctx context.Context, rs []core.Result) {
	failed := map[string]bool{}
	for _, r := range rs {
		if r.Status == core.StatusFailure || r.Status == core.StatusError {
			failed[r.Check] = true
		}
	}
	if len(failed) == 0 {
		return
	}
	now := time.Now()
	for _, t := range a.plan.taskList() {
		if t.FixCheck == "" || !failed[t.FixCheck] {
			continue
		}
		o, ok := a.tasks.takeFix(t.Name, t.MaxPerDay, now)
		if !ok {
			a.log.Info("automatic fix not started: running, or its daily limit is reached", "task", t.Name, "check", t.FixCheck)
			continue
		}
		a.startTask(ctx, t, o)
	}
}

// startTask starts occurrence o of t in the background, unless t runs
// already; the run's result and, for a fix, the check's new result are
// spooled when it ends.
func (a *Agent) startTask(ctx context.Context, t protocol.Task, o taskOccurrence) bool {
	if !a.tasks.begin(t.Name, o) {
		return false
	}
	a.taskRuns.Go(func() {
		rs, reported := a.runTask(ctx, t, o)
		if reported {
			a.store(rs)
		}
		a.tasks.end(t.Name, reported)
		select {
		case a.taskDone <- struct{}{}:
		default:
		}
	})
	return true
}

// runTask runs o of t and returns its results: the task's run and, for a
// fix, the fixed check's new results. reported is false when the agent
// stopped during the run (the run stays pending).
func (a *Agent) runTask(ctx context.Context, t protocol.Task, o taskOccurrence) ([]core.Result, bool) {
	tr := newTaskRun(t, o)
	sa := t.Script
	sa.RunID = tr.RunID
	err := a.scriptAllowed(sa)
	var res *protocol.ScriptResult
	if err == nil {
		var r protocol.ScriptResult
		r, err = a.scripts().run(ctx, sa)
		res = &r
	}
	if ctx.Err() != nil {
		return nil, false
	}
	var again []core.Result
	if o.Trigger == protocol.TriggerFix {
		tr.FixCheck = t.FixCheck
		if err == nil {
			again = a.recheck(ctx, t.FixCheck)
			if ctx.Err() != nil {
				return nil, false
			}
			if len(again) > 0 {
				tr.FixStatus = worst(again)
			}
		}
	}
	// The check's new results after the task's run: the server records the
	// fix with the outage before that closes.
	return append([]core.Result{taskResult(t, tr, res, err)}, again...), true
}

// recheck runs the check name of the plan once more and returns its
// results (none if the plan has no such check).
func (a *Agent) recheck(ctx context.Context, name string) []core.Result {
	plan := a.plan.get()
	i := slices.IndexFunc(plan, func(p planned) bool { return p.Name == name })
	if i < 0 {
		return nil
	}
	a.runMu.Lock()
	defer a.runMu.Unlock()
	return a.runner.Run(ctx, []NamedCheck{plan[i].NamedCheck})
}

func worst(rs []core.Result) core.Status {
	ss := make([]core.Status, len(rs))
	for i, r := range rs {
		ss[i] = r.Status
	}
	return core.Worst(ss...)
}

func newTaskRun(t protocol.Task, o taskOccurrence) protocol.TaskRun {
	return protocol.TaskRun{RunID: o.runID(t.Name), ScriptID: t.ScriptID, ScriptVersion: t.ScriptVersion,
		Trigger: o.Trigger, Due: o.Due.UTC().Truncate(time.Second), StartedAt: time.Now().UTC().Truncate(time.Millisecond)}
}

// taskResult reports a task's run: ok for exit code 0, failure for
// another exit code or the timeout, error when it could not run (err, or
// a start failure the journal recorded as exit code -1).
func taskResult(t protocol.Task, tr protocol.TaskRun, res *protocol.ScriptResult, err error) core.Result {
	r := core.Result{ID: core.NewResultID(), Check: t.Name, Key: protocol.TaskResultKey, At: time.Now().UTC().Truncate(time.Millisecond)}
	switch {
	case err != nil:
		r.Status, tr.ErrorCode = core.StatusError, protocol.CodeFailed
		why := core.Text{EN: err.Error(), DE: err.Error()}
		var ae *protocol.ActionError
		if errors.As(err, &ae) {
			tr.ErrorCode, why = ae.Code, ae.Message
		}
		r.Message = core.Text{EN: "The task could not run: " + why.EN, DE: "Die Aufgabe konnte nicht laufen: " + why.DE}
	default:
		tr.DurationMS, tr.Stdout, tr.Stderr, tr.Truncated, tr.TimedOut = res.DurationMS, res.Stdout, res.Stderr, res.Truncated, res.TimedOut
		line := firstLine(res.Stdout)
		if line == "" {
			line = firstLine(res.Stderr)
		}
		switch {
		case res.TimedOut:
			r.Status, tr.ErrorCode = core.StatusFailure, protocol.CodeTimeout
			limit := scriptTimeout(t.Script)
			r.Message = core.Text{EN: fmt.Sprintf("The task did not finish within %s and was stopped.", limit),
				DE: fmt.Sprintf("Die Aufgabe wurde nicht innerhalb von %s fertig und wurde beendet.", limit)}
		case res.ExitCode == -1:
			// The journal's record of a run that could not start.
			r.Status, tr.ErrorCode = core.StatusError, protocol.CodeFailed
			r.Message = core.Text{EN: "The task could not run: " + line, DE: "Die Aufgabe konnte nicht laufen: " + line}
		default:
			code := res.ExitCode
			tr.ExitCode = &code
			r.Status = core.StatusOK
			if code != 0 {
				r.Status = core.StatusFailure
			}
			r.Message = core.Text{EN: fmt.Sprintf("Exit code %d", code), DE: fmt.Sprintf("Exitcode %d", code)}
			if line != "" {
				r.Message.EN, r.Message.DE = r.Message.EN+": "+line, r.Message.DE+": "+line
			}
		}
	}
	data, derr := protocol.EncodeTaskRun(tr)
	if derr == nil {
		r.Data = data
	}
	return r
}

// scriptTimeout is how long sa may run.
func scriptTimeout(sa protocol.ScriptArgs) time.Duration {
	if sa.TimeoutSeconds > 0 {
		return time.Duration(sa.TimeoutSeconds) * time.Second
	}
	return protocol.DefaultScriptTimeout
}

// maxLine bounds a message taken from a script's output.
const maxLine = 500

// firstLine is the first non-empty line of out, trimmed and bounded.
func firstLine(out string) string {
	for l := range strings.Lines(out) {
		if l = strings.TrimSpace(l); l != "" {
			return truncate(l, maxLine)
		}
	}
	return ""
}
