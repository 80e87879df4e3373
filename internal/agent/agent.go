package agent

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/inventory"
	"github.com/wacht-rmm/wacht/internal/platform/svcmgr"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/updates"
)

// Options configure an Agent. Zero values take the defaults.
type Options struct {
	DataDir string
	// Interval, if set, replaces the interval of every 24x7 check (tests);
	// 0 runs each check on its policy's schedule.
	Interval     time.Duration
	CheckTimeout time.Duration // per check run; default check.Timeout
	// Checks, if set, pins the checks run (every Interval, default 60 s)
	// and ignores the server's policies but for the tray's branding; nil
	// runs the policy, or every
	// registered check with defaults before the first policy arrives.
	Checks      []NamedCheck
	SpoolLimits SpoolLimits
	Log         *slog.Logger
	// Trace, if set, receives the ID of every result spooled, one per
	// line (end-to-end tests prove with it that no result is lost).
	Trace io.Writer

	// Uninstall, if set, is called once when the server retires this
	// device (an uninstall command, or a session refused as retired): it
	// removes the service and the data folder. The agent stops reconnecting
	// either way.
	Uninstall func()

	// Services, if set, replaces the OS's service manager for the services
	// actions (tests of the server drive a SysV manager in a temporary
	// folder through it).
	Services func(context.Context) (svcmgr.Manager, error)

	// Desired software state, shortened by tests: how often each entry is
	// checked (default 1 h), the wait after a first failed attempt
	// (default 15 min, doubling up to 24 h) and after an installer that
	// found another installation running (default 10 min).
	SoftwareEvery   time.Duration
	SoftwareBackoff time.Duration
	SoftwareRetry   time.Duration
	// Now, if set, is the clock of the software back-off and of the
	// inventory schedule (tests).
	Now func() time.Time

	// Inventory, if set, replaces inventory.Collect (tests report fixed
	// inventories). InventoryRetry is the first wait after a report the
	// server did not store (default 5 min, doubling up to 6 h).
	Inventory      func(context.Context) core.Inventory
	InventoryRetry time.Duration

	// Patch management (issue 19): UpdateSources, if set, replaces the
	// machine's update sources and RebootState the OS's pending-restart
	// state (tests use fakes); PatchPolicy, if set, pins the patch policy
	// like Checks pins the checks.
	UpdateSources func() []updates.Source
	RebootState   func(context.Context) core.RebootState
	PatchPolicy   *protocol.PatchPolicy
	// reboot replaces the OS's restart and user notification (tests).
	reboot rebooter
	// downloadBackoff, if set, replaces the downloads' first retry wait
	// (tests).
	downloadBackoff time.Duration

	// Tray, if set, serves the users' tray apps on Config.TrayAddress or
	// trayipc.DefaultAddress (wacht-agent run; not one-shot commands).
	Tray bool

	// Self-update (update.go): Executable, if set, replaces os.Executable
	// as the binary an update replaces (tests); Args are the agent's
	// arguments, with which the watchdog starts a foreground agent again;
	// Service says a service manager runs the agent (the watchdog then
	// restarts it through that).
	Executable string
	Args       []string
	Service    bool

	// Timing of the session, shortened by tests.
	BackoffMin   time.Duration // first reconnect delay; default 1 s
	BackoffMax   time.Duration // reconnect delay cap; default 60 s
	Heartbeat    time.Duration // overrides the server's welcome if set
	AckTimeout   time.Duration // wait for a batch's ack; default 60 s
	HealthyAfter time.Duration // session length that resets backoff; default 30 s
}

// Agent runs checks on a schedule, spools their results and delivers them
// over its session with the server.
type Agent struct {
	opts   Options
	cfg    Config
	key    ed25519.PrivateKey
	log    *slog.Logger
	spool  *Spool
	client *http.Client
	runner *Runner
	plan   *planHolder
	// retireOnce guards Options.Uninstall.
	retireOnce sync.Once
	sched      *scheduler
	state      *stateFile
	out        *outbox
	// verify checks signed server messages with the pinned action key;
	// clockOffset is the server's clock minus ours (ns), from the welcome.
	verify      atomic.Pointer[actionkey.Verifier]
	clockOffset atomic.Int64
	trustMu     sync.Mutex // serializes changes of the trusted action keys

	streams   atomic.Int32 // stream handlers running
	terminals atomic.Int32 // terminal sessions open (protocol.MaxTerminals)

	scriptOnce sync.Once
	scriptRun  *scriptRunner

	tasks    *taskSched
	taskRuns sync.WaitGroup // running tasks
	taskDone chan struct{}  // a task's run ended

	software *swState
	swRuns   sync.WaitGroup // running software checks and attempts
	swDone   chan struct{}  // a software check ended
	swKick   chan struct{}  // check the software now
	swActMu  sync.Mutex     // one software attempt at a time

	inv     *invState
	invLink atomic.Pointer[invLink] // the welcomed session, nil between sessions

	upd *updater // self-update

	patch     *patcher
	patchRuns sync.WaitGroup // a technician's install running

	// The tray apps (issue 20): the latest check states, the last message
	// from the server (Unix ns), the users' support requests and when
	// each tray last asked (trayipc.Peer.UID → time).
	checkStates *checkStates
	lastContact atomic.Int64
	support     *supportBox
	trayMu      sync.Mutex
	traySeen    map[string]time.Time

	kick    chan struct{} // results are waiting to be sent
	root    context.Context
	cmds    sync.WaitGroup // running command handlers
	runMu   sync.Mutex     // one check run at a time
	traceMu sync.Mutex
}

// New loads the configuration and key from opts.DataDir and opens the
// spool. The spool is closed when Run returns.
func New(opts Options) (*Agent, error) {
	if opts.DataDir == "" {
		opts.DataDir = DefaultDataDir()
	}
	check.SetStateDir(filepath.Join(opts.DataDir, "checks"))
	if opts.Checks != nil && opts.Interval <= 0 {
		opts.Interval = 60 * time.Second
	}
	if opts.BackoffMin <= 0 {
		opts.BackoffMin = time.Second
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 60 * time.Second
	}
	if opts.AckTimeout <= 0 {
		opts.AckTimeout = 60 * time.Second
	}
	if opts.HealthyAfter <= 0 {
		opts.HealthyAfter = 30 * time.Second
	}
	if opts.SoftwareEvery <= 0 {
		opts.SoftwareEvery = swEvery
	}
	if opts.SoftwareBackoff <= 0 {
		opts.SoftwareBackoff = swBackoff
	}
	if opts.SoftwareRetry <= 0 {
		opts.SoftwareRetry = swRetry
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Inventory == nil {
		opts.Inventory = inventory.Collect
	}
	if opts.InventoryRetry <= 0 {
		opts.InventoryRetry = invRetryMin
	}
	if opts.UpdateSources == nil {
		opts.UpdateSources = defaultUpdateSources
	}
	if opts.RebootState == nil {
		opts.RebootState = defaultRebootState
	}
	if opts.reboot == nil {
		opts.reboot = osRebooter{}
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := LoadConfig(opts.DataDir)
	if err != nil {
		return nil, err
	}
	check.SetAllowlist(cfg.Allow)
	key, err := LoadKey(opts.DataDir)
	if err != nil {
		return nil, err
	}
	sp, err := OpenSpool(filepath.Join(opts.DataDir, SpoolFile), opts.SpoolLimits)
	if err != nil {
		return nil, err
	}
	a := &Agent{
		opts: opts, cfg: cfg, key: key, log: log, spool: sp,
		client:   NewHTTPClient(cfg.Fingerprint),
		runner:   &Runner{Timeout: opts.CheckTimeout, Log: log},
		plan:     &planHolder{changed: make(chan struct{}, 1), tasksChanged: make(chan struct{}, 1), softwareChanged: make(chan struct{}, 1)},
		sched:    newScheduler(schedulePath(opts.DataDir), time.Local, opts.Interval, log),
		tasks:    newTaskSched(tasksPath(opts.DataDir), time.Local, log),
		taskDone: make(chan struct{}, 1),
		software: newSwState(softwarePath(opts.DataDir), log),
		swDone:   make(chan struct{}, 1),
		swKick:   make(chan struct{}, 1),
		state:    &stateFile{dir: opts.DataDir, log: log},
		inv:      newInvState(inventoryPath(opts.DataDir), log),
		patch:    newPatcher(patchPath(opts.DataDir), log.With("part", "patches"), opts.UpdateSources, opts.RebootState, opts.reboot),
		kick:     make(chan struct{}, 1),
		upd:      newUpdater(cfg),

		checkStates: newCheckStates(checkStatesPath(opts.DataDir), log),
		support:     newSupportBox(opts.DataDir, log.With("part", "support")),
		traySeen:    map[string]time.Time{},
	}
	a.out = &outbox{spool: sp}
	keys, err := trustedKeys(opts.DataDir, cfg.ActionKey)
	if err != nil {
		log.Error("using the action key pinned at enrollment only", "err", err)
	}
	a.verify.Store(a.newVerifier(keys))
	a.initPlan()
	return a, nil
}

// now is the clock of the software back-off.
func (a *Agent) now() time.Time { return a.opts.Now() }

// Spool gives tests and status code access to the spool while Run runs.
func (a *Agent) Spool() *Spool { return a.spool }

// Run runs the scheduler and the session until ctx ends, then finishes
// writing the spool, closes the session normally and closes the spool.
func (a *Agent) Run(ctx context.Context) error {
	image, started, err := processIdentity(os.Getpid())
	if err != nil {
		a.log.Warn("status cannot tell this process from a later one with the same PID", "err", err)
	}
	a.state.update(func(s *State) {
		*s = State{Running: true, PID: os.Getpid(), Image: image, StartedMS: started, Server: a.cfg.ServerURL, DeviceID: a.cfg.DeviceID, Since: time.Now().UTC(), SpoolLen: a.spool.Len()}
	})
	if err := a.spool.Prune(); err != nil {
		a.log.Warn("pruning spool", "err", err)
	}
	cleanUploads(a.opts.DataDir, a.log)
	cleanScripts(a.opts.DataDir, time.Now(), a.log)
	CleanDownloads(filepath.Join(a.opts.DataDir, downloadsDir), time.Now(), a.log)
	a.root = ctx
	a.recoverUpdate()
	startedAt := time.Now()
	a.recoverTasks(ctx)
	a.recoverSoftware()
	a.recoverPatches()
	var wg sync.WaitGroup
	wg.Go(func() { a.schedule(ctx) })
	wg.Go(func() { a.runTasks(ctx, startedAt) })
	wg.Go(func() { a.runSoftware(ctx) })
	wg.Go(func() { a.runInventory(ctx) })
	wg.Go(func() { a.runPatches(ctx) })
	wg.Go(func() { a.runPatchReports(ctx) })
	wg.Go(func() { a.runSupport(ctx) })
	if a.opts.Tray {
		wg.Go(func() { a.serveTray(ctx) })
	}
	a.connectLoop(ctx)
	wg.Wait()
	a.taskRuns.Wait()
	a.swRuns.Wait()
	a.cmds.Wait()
	a.patchRuns.Wait()
	a.state.update(func(s *State) {
		s.Running, s.Connected, s.Since, s.SpoolLen = false, false, time.Now().UTC(), a.spool.Len()
	})
	a.client.CloseIdleConnections()
	if err := a.spool.Close(); err != nil {
		return fmt.Errorf("closing spool: %w", err)
	}
	return nil
}

// runChecks runs every check of the plan once, spools the results and wakes the
// sender. It returns the number of results.
func (a *Agent) runChecks(ctx context.Context) int {
	a.runMu.Lock()
	defer a.runMu.Unlock()
	rs := a.runner.Run(ctx, a.plan.checks())
	if ctx.Err() != nil {
		// Stopping: the run was cut short and its results are artefacts.
		return 0
	}
	a.store(rs)
	a.fixFailing(ctx, rs)
	return len(rs)
}

// store spools results; a spool that cannot be written (disk full) is
// reported, never fatal.
func (a *Agent) store(rs []core.Result) {
	if len(rs) == 0 {
		return
	}
	a.checkStates.record(rs)
	if err := a.spool.Put(rs...); err != nil {
		a.log.Error("cannot spool results", "results", len(rs), "err", err)
		a.out.addError(spoolErrorResult(len(rs), err))
		a.state.update(func(s *State) { s.LastError = err.Error() })
	} else {
		a.trace(rs)
	}
	a.state.update(func(s *State) { s.SpoolLen = a.spool.Len() })
	select {
	case a.kick <- struct{}{}:
	default:
	}
}

func (a *Agent) trace(rs []core.Result) {
	if a.opts.Trace == nil {
		return
	}
	a.traceMu.Lock()
	defer a.traceMu.Unlock()
	var b []byte
	for _, r := range rs {
		b = append(append(b, r.ID...), '\n')
	}
	if _, err := a.opts.Trace.Write(b); err != nil {
		a.log.Warn("writing result trace", "err", err)
	}
}

func spoolErrorResult(lost int, err error) core.Result {
	msg := truncate(err.Error(), 1000)
	return core.Result{
		ID: core.NewResultID(), Check: "agent", Key: "spool", Status: core.StatusError,
		Value: nil, At: time.Now().UTC().Truncate(time.Millisecond),
		Message: core.Text{
			EN: fmt.Sprintf("The agent could not save %d results to its spool: %s", lost, msg),
			DE: fmt.Sprintf("Der Agent konnte %d Ergebnisse nicht im Zwischenspeicher sichern: %s", lost, msg),
		},
	}
}

// maxErrorQueue bounds the in-memory reports of spool write errors.
const maxErrorQueue = 16

// outbox is what the sender sends: spool write errors kept in memory
// (the spool itself may be unwritable) and the spool.
type outbox struct {
	spool *Spool
	mu    sync.Mutex
	errs  []core.Result
}

func (o *outbox) addError(r core.Result) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.errs) >= maxErrorQueue {
		o.errs = o.errs[1:]
	}
	o.errs = append(o.errs, r)
}

func (o *outbox) batch(max int) ([]core.Result, error) {
	o.mu.Lock()
	out := append([]core.Result(nil), o.errs...)
	o.mu.Unlock()
	if len(out) >= max {
		return out[:max], nil
	}
	rs, err := o.spool.Batch(max - len(out))
	if err != nil && len(out) == 0 {
		return nil, err
	}
	return append(out, rs...), nil
}

func (o *outbox) ack(ids []string) error {
	o.mu.Lock()
	acked := map[string]bool{}
	for _, id := range ids {
		acked[id] = true
	}
	kept := o.errs[:0]
	for _, r := range o.errs {
		if !acked[r.ID] {
			kept = append(kept, r)
		}
	}
	o.errs = kept
	o.mu.Unlock()
	return o.spool.Delete(ids...)
}
