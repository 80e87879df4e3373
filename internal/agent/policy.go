package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// PolicyFile keeps the last policy the server sent, so that the agent runs
// the same checks offline and after a restart.
const PolicyFile = "policy.json"

// fallbackEvery is the interval of the default set an agent runs before it
// ever received a policy (every registered check with its defaults).
const fallbackEvery = 1 // minute

// planHolder is the running plan, the policy's automated tasks and its
// desired software state; changed wakes the schedule loop, tasksChanged
// the tasks' loop, softwareChanged the software loop.
type planHolder struct {
	mu              sync.Mutex
	plan            []planned
	tasks           []protocol.Task
	software        []protocol.Software
	patch           *protocol.PatchPolicy
	patchPinned     bool           // Options.PatchPolicy given
	tray            *protocol.Tray // the client's branding of the tray app
	revision        string         // "" for the default set or pinned checks
	issued          time.Time      // when the server signed the running policy
	pinned          bool           // Options.Checks given: policies are ignored
	changed         chan struct{}
	tasksChanged    chan struct{}
	softwareChanged chan struct{}
}

func (h *planHolder) get() []planned {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.plan
}

func (h *planHolder) set(plan []planned, tasks []protocol.Task, software []protocol.Software, revision string, issued time.Time) {
	h.mu.Lock()
	h.plan, h.tasks, h.software, h.revision, h.issued = plan, tasks, software, revision, issued
	h.mu.Unlock()
	for _, c := range []chan struct{}{h.changed, h.tasksChanged, h.softwareChanged} {
		select {
		case c <- struct{}{}:
		default:
		}
	}
}

func (h *planHolder) taskList() []protocol.Task {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tasks
}

func (h *planHolder) softwareList() []protocol.Software {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.software
}

// patchPolicy is the running patch policy, nil when patch management is
// off.
func (h *planHolder) patchPolicy() *protocol.PatchPolicy {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.patch
}

// setPatch makes p the running patch policy; pin (Options.PatchPolicy)
// keeps it whatever the server sends.
func (h *planHolder) setPatch(p *protocol.PatchPolicy, pin bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.patchPinned && !pin {
		return
	}
	h.patch, h.patchPinned = p, h.patchPinned || pin
}

// trayBranding is the running policy's branding, nil without one.
func (h *planHolder) trayBranding() *protocol.Tray {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tray
}

func (h *planHolder) setTray(t *protocol.Tray) {
	h.mu.Lock()
	h.tray = t
	h.mu.Unlock()
}

func (h *planHolder) rev() (revision string, issued time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.revision, h.issued
}

// checks returns the plan's checks, for run-checks.
func (h *planHolder) checks() []NamedCheck {
	plan := h.get()
	out := make([]NamedCheck, len(plan))
	for i, p := range plan {
		out[i] = p.NamedCheck
	}
	return out
}

// brokenCheck reports why a policy's check could not be built, each time
// it is due, instead of dropping it silently.
type brokenCheck struct{ err error }

func (b brokenCheck) Run(context.Context, check.Reporter) error { return b.err }

// planFromPolicy builds every entry of p; a's script runner runs script
// checks (a nil a reports them as not available). An entry that cannot be
// built (a check this agent version lacks, bad parameters) stays in the
// plan and reports the error as its result.
func planFromPolicy(p protocol.Policy, a *Agent) []planned {
	out := make([]planned, 0, len(p.Checks))
	for _, c := range p.Checks {
		var chk check.Check
		var err error
		if c.Type == protocol.CheckScript {
			chk, err = newScriptCheck(a, c.Name, c.Params)
		} else {
			chk, err = check.New(c.Type, protocol.CheckParams(c.Params))
		}
		if err != nil {
			chk = brokenCheck{err: fmt.Errorf("policy check %s: %w", c.Name, err)}
		}
		out = append(out, planned{NamedCheck: NamedCheck{Name: c.Name, Check: chk}, Type: c.Type, Schedule: c.Schedule, Hash: hashOf(c)})
	}
	return out
}

// planFromChecks schedules fixed checks as 24x7 checks.
func planFromChecks(cs []NamedCheck, everyMinutes int) []planned {
	out := make([]planned, len(cs))
	for i, c := range cs {
		s := core.Schedule{Class: core.Schedule24x7, EveryMinutes: everyMinutes}
		out[i] = planned{NamedCheck: c, Type: c.Name, Schedule: s, Hash: hashOf(core.PolicyCheck{Type: "fixed:" + c.Name, Schedule: s})}
	}
	return out
}

// storedPolicy is policy.json: the policy and when the server signed it
// (zero for a policy stored before policies were signed).
type storedPolicy struct {
	protocol.Policy
	Issued time.Time `json:"issued,omitzero"`
}

// loadPolicy reads the stored policy; ok is false if there is none.
func loadPolicy(dir string) (p storedPolicy, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(dir, PolicyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("reading %s: %w", PolicyFile, err)
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return p, false, fmt.Errorf("parsing %s: %w", PolicyFile, err)
	}
	if err := p.Validate(); err != nil {
		return p, false, fmt.Errorf("%s: %w", PolicyFile, err)
	}
	return p, true, nil
}

func savePolicy(dir string, p storedPolicy) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding policy: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, PolicyFile), append(b, '\n')); err != nil {
		return fmt.Errorf("saving policy: %w", err)
	}
	return nil
}

// initPlan sets the plan at start: pinned checks, else the stored policy,
// else the default set.
func (a *Agent) initPlan() {
	if a.opts.PatchPolicy != nil {
		a.plan.setPatch(a.opts.PatchPolicy, true)
	}
	if a.opts.Checks != nil {
		a.plan.pinned = true
		a.plan.set(planFromChecks(a.opts.Checks, 0), nil, nil, "", time.Time{})
		return
	}
	p, ok, err := loadPolicy(a.opts.DataDir)
	if err != nil {
		a.log.Warn("ignoring the stored policy; running the default checks until the server sends one", "err", err)
	}
	if ok {
		a.plan.setPatch(p.Patch, false)
		a.plan.setTray(p.Tray)
		a.plan.set(planFromPolicy(p.Policy, a), p.Tasks, p.Software, p.Revision, p.Issued)
		a.log.Info("running the stored policy", "revision", p.Revision, "checks", len(p.Checks), "tasks", len(p.Tasks), "software", len(p.Software))
		return
	}
	checks, err := DefaultChecks()
	if err != nil {
		a.log.Warn("some checks are not available", "err", err)
	}
	a.plan.set(planFromChecks(checks, fallbackEvery), nil, nil, "", time.Time{})
}

// applyPolicy makes p, signed by the server at issued, the running plan and
// stores it. The same revision again changes nothing; a policy signed
// before the running one is refused, so that an old signed policy cannot be
// brought back.
func (a *Agent) applyPolicy(p protocol.Policy, issued time.Time) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if a.plan.pinned {
		// The branding is no check: the tray shows it (agenttest's agents).
		a.plan.setTray(p.Tray)
		a.log.Debug("ignoring policy: checks are pinned by --checks", "revision", p.Revision)
		return nil
	}
	rev, since := a.plan.rev()
	if p.Revision == rev {
		return nil
	}
	if !issued.After(since) {
		return fmt.Errorf("policy %s was signed at %s, not after the running policy %s (signed at %s)",
			p.Revision, issued.UTC().Format(time.RFC3339Nano), rev, since.UTC().Format(time.RFC3339Nano))
	}
	if err := savePolicy(a.opts.DataDir, storedPolicy{Policy: p, Issued: issued}); err != nil {
		// Runs now; after a restart the previous policy runs until the
		// server sends this one again.
		a.log.Warn("cannot store the policy", "err", err)
	}
	plan := planFromPolicy(p, a)
	a.sched.forget(plan)
	a.checkStates.forget(plan)
	a.tasks.forget(p.Tasks)
	a.software.forget(p.Software)
	a.plan.setPatch(p.Patch, false)
	a.plan.setTray(p.Tray)
	a.plan.set(plan, p.Tasks, p.Software, p.Revision, issued)
	a.patch.wake()
	a.log.Info("policy applied", "revision", p.Revision, "checks", len(p.Checks), "tasks", len(p.Tasks), "software", len(p.Software))
	return nil
}
