package alert

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Options configure an Engine. Zero values take the defaults.
type Options struct {
	Store Store
	Log   *slog.Logger
	Now   func() time.Time
	// AlertAfter returns a check's alert_after parameter (consecutive
	// failures before an outage); nil or a result < 1 means 1.
	AlertAfter func(ctx context.Context, deviceID int64, check string) int
	// Workers evaluate result batches, one device at a time each (default
	// 8; they mostly wait for the database).
	Workers int
	// SweepInterval is the offline sweep period (default 10 s).
	SweepInterval time.Duration
	// Poll is how often the outbox is checked without a nudge (default 1 s).
	Poll time.Duration
	// RetryMin and RetryMax bound the exponential back-off of failed
	// deliveries (defaults 5 s and 1 h).
	RetryMin, RetryMax time.Duration
	// GiveUpAfter is how long after its creation (or an administrator's
	// retry) a message that keeps failing is retried; its next failure
	// gives it up (default 24 h).
	GiveUpAfter time.Duration
	// Lease is how long a claimed message is not retried by anyone else;
	// it must exceed one delivery attempt (default 2 min).
	Lease time.Duration
	// Senders is how many senders deliver the outbox at once, each one
	// SMTP session (or webhook call) at a time (default 8).
	Senders int
	// HTTPClient posts webhooks (default: 15 s timeout).
	HTTPClient *http.Client
	// SMTPTLS, if set, is the TLS configuration for SMTP (tests: a
	// private CA).
	SMTPTLS *tls.Config
	// Singleton, if set, runs the offline sweep only where no other
	// replica runs it at the same time (a PostgreSQL advisory lock).
	Singleton func(ctx context.Context, job string, fn func(ctx context.Context) error) (bool, error)
	// Deliver replaces the channel delivery (tests).
	Deliver func(ctx context.Context, m core.OutboxItem) error
	// DeliveryFailed, if set, hears of every failed delivery attempt, by
	// channel (the metrics); it must not block.
	DeliveryFailed func(channel string)
}

// Engine evaluates results, sweeps for offline devices and delivers the
// outbox. Its methods are safe for concurrent use.
type Engine struct {
	o   Options
	log *slog.Logger
	q   *queue
	// nudge wakes the outbox worker when messages were queued.
	nudge chan struct{}

	devMu   sync.Mutex
	devices map[int64]cachedDevice

	remindMu  sync.Mutex
	remindedN map[string]int // outage ref → last reminder queued

	settingsMu    sync.Mutex
	settings      Settings
	settingsAt    time.Time
	recipientList []core.Recipient
	serverURL     string
	recipientsAt  time.Time
	windows       []core.Maintenance
	windowsAt     time.Time

	mailMu    sync.Mutex
	mailNoted int // 0 not yet, 1 configured, -1 not configured: what was logged last
}

// Maximum pending results per device; older ones are dropped (the startup
// reconciliation and the next results cover the gap).
const maxPendingPerDevice = 5000

// settingsTTL bounds how stale cached settings may be.
const settingsTTL = 2 * time.Second

// New returns an engine; call Run to start its background work.
func New(o Options) *Engine {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = 10 * time.Second
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 5 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = time.Hour
	}
	if o.GiveUpAfter <= 0 {
		o.GiveUpAfter = 24 * time.Hour
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.Senders <= 0 {
		o.Senders = 8
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	return &Engine{
		o:     o,
		log:   o.Log.With("component", "alert"),
		q:     newQueue(),
		nudge: make(chan struct{}, 1),
	}
}

// Run reconciles results stored but not evaluated, then evaluates queued
// results, sweeps for offline devices and delivers the outbox until ctx
// ends.
func (e *Engine) Run(ctx context.Context) error {
	if err := e.Reconcile(ctx); err != nil && ctx.Err() == nil {
		e.log.Error("reconciling alert state", "err", err)
	}
	var wg sync.WaitGroup
	for range e.o.Workers {
		wg.Go(func() { e.evalLoop(ctx) })
	}
	wg.Go(func() { e.sweepLoop(ctx) })
	wg.Go(func() { e.outboxLoop(ctx) })
	wg.Wait()
	return nil
}

// OnResults queues a committed batch for evaluation and returns at once.
// Runs of automated tasks in the batch are not check results: they are
// left out.
func (e *Engine) OnResults(deviceID int64, rs []core.Result) {
	if slices.ContainsFunc(rs, func(r core.Result) bool { return r.Key == protocol.TaskResultKey }) {
		rs = slices.DeleteFunc(slices.Clone(rs), func(r core.Result) bool { return r.Key == protocol.TaskResultKey })
	}
	if len(rs) > 0 {
		e.q.push(deviceID, rs)
	}
}

// Goodbye records a device's announced shutdown or reboot.
func (e *Engine) Goodbye(ctx context.Context, deviceID int64, reason string) error {
	return e.o.Store.SetGoodbye(ctx, deviceID, reason, e.o.Now())
}

// Nudge wakes the outbox worker.
func (e *Engine) Nudge() {
	select {
	case e.nudge <- struct{}{}:
	default:
	}
}

// deviceTTL bounds how stale the names in a message may be.
const deviceTTL = 30 * time.Second

// device returns a device's facts for messages, cached for deviceTTL.
func (e *Engine) device(ctx context.Context, id int64) (core.Device, error) {
	e.devMu.Lock()
	c, ok := e.devices[id]
	e.devMu.Unlock()
	if ok && time.Since(c.at) < deviceTTL {
		return c.d, nil
	}
	d, err := e.o.Store.GetDevice(ctx, id)
	if err != nil {
		return d, err
	}
	e.devMu.Lock()
	if e.devices == nil || len(e.devices) > 100_000 {
		e.devices = map[int64]cachedDevice{}
	}
	e.devices[id] = cachedDevice{d, time.Now()}
	e.devMu.Unlock()
	return d, nil
}

type cachedDevice struct {
	d  core.Device
	at time.Time
}

// recipients returns all recipients and the server URL, cached like the
// settings: changes apply within settingsTTL.
func (e *Engine) recipients(ctx context.Context) ([]core.Recipient, string, error) {
	e.settingsMu.Lock()
	defer e.settingsMu.Unlock()
	if !e.recipientsAt.IsZero() && time.Since(e.recipientsAt) < settingsTTL {
		return e.recipientList, e.serverURL, nil
	}
	all, err := e.o.Store.ListRecipients(ctx)
	if err != nil {
		return nil, "", err
	}
	url, err := e.o.Store.GetSetting(ctx, SettingServerURL)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return nil, "", err
	}
	e.recipientList, e.serverURL, e.recipientsAt = all, url, time.Now()
	return all, url, nil
}

// Settings returns the current settings, cached for a moment.
func (e *Engine) Settings(ctx context.Context) (Settings, error) {
	e.settingsMu.Lock()
	defer e.settingsMu.Unlock()
	if !e.settingsAt.IsZero() && time.Since(e.settingsAt) < settingsTTL {
		return e.settings, nil
	}
	s, err := LoadSettings(ctx, e.o.Store)
	if err != nil {
		return s, err
	}
	e.settings, e.settingsAt = s, time.Now()
	return s, nil
}

// ForgetSettings drops the cache after the settings changed.
func (e *Engine) ForgetSettings() {
	e.settingsMu.Lock()
	e.settingsAt, e.recipientsAt, e.windowsAt = time.Time{}, time.Time{}, time.Time{}
	e.settingsMu.Unlock()
}

// maintenance returns a device's maintenance windows (those covering it),
// from all windows cached like the settings: a new or changed window
// applies within settingsTTL on every replica, and evaluating a batch
// costs no query.
func (e *Engine) maintenance(ctx context.Context, deviceID int64) ([]core.Maintenance, error) {
	e.settingsMu.Lock()
	all := e.windows
	fresh := !e.windowsAt.IsZero() && time.Since(e.windowsAt) < settingsTTL
	e.settingsMu.Unlock()
	if !fresh {
		var err error
		if all, err = e.o.Store.ListMaintenance(ctx, core.MaintenanceFilter{}); err != nil {
			return nil, err
		}
		e.settingsMu.Lock()
		e.windows, e.windowsAt = all, time.Now()
		e.settingsMu.Unlock()
	}
	if len(all) == 0 {
		return nil, nil
	}
	dev, err := e.device(ctx, deviceID)
	if err != nil {
		return nil, err
	}
	var out []core.Maintenance
	for _, m := range all {
		if m.Covers(dev) {
			out = append(out, m)
		}
	}
	return out, nil
}

// InMaintenance reports whether a maintenance window covers the device at t.
func (e *Engine) InMaintenance(ctx context.Context, deviceID int64, t time.Time) (bool, error) {
	ws, err := e.maintenance(ctx, deviceID)
	return activeAt(ws, t), err
}

func activeAt(ws []core.Maintenance, t time.Time) bool {
	for _, m := range ws {
		if m.ActiveAt(t) {
			return true
		}
	}
	return false
}

func (e *Engine) evalLoop(ctx context.Context) {
	for {
		dev, rs, ok := e.q.pop(ctx)
		if !ok {
			return
		}
		if err := e.EvaluateDevice(ctx, dev, rs); err != nil && ctx.Err() == nil {
			e.log.Error("evaluating results", "device", dev, "count", len(rs), "err", err)
		}
		e.q.done(dev)
	}
}

// Reconcile evaluates the current state of checks whose newest result was
// stored but not evaluated (the server stopped in between).
func (e *Engine) Reconcile(ctx context.Context) error {
	pending, err := e.o.Store.PendingCheckStates(ctx)
	if err != nil {
		return err
	}
	byDevice := map[int64][]core.Result{}
	var order []int64
	for _, c := range pending {
		if _, ok := byDevice[c.DeviceID]; !ok {
			order = append(order, c.DeviceID)
		}
		byDevice[c.DeviceID] = append(byDevice[c.DeviceID], core.Result{
			Check: c.Name, Key: c.Key, Status: c.Status, Value: c.Value, Unit: c.Unit, Message: c.Message, At: c.At})
	}
	for _, dev := range order {
		if err := e.EvaluateDevice(ctx, dev, byDevice[dev]); err != nil {
			return err
		}
	}
	if len(order) > 0 {
		e.log.Info("reconciled alert state", "devices", len(order), "checks", len(pending))
	}
	return nil
}

func newRef() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type checkID struct{ name, key string }

// EvaluateDevice applies a batch of one device's results, in order, and
// stores the outcome with its messages in one transaction.
func (e *Engine) EvaluateDevice(ctx context.Context, deviceID int64, rs []core.Result) error {
	settings, err := e.Settings(ctx)
	if err != nil {
		return err
	}
	list, err := e.o.Store.AlertStates(ctx, deviceID)
	if err != nil {
		return err
	}
	states := make(map[checkID]core.AlertState, len(list))
	for _, a := range list {
		states[checkID{a.Name, a.Key}] = a
	}
	var (
		change  core.AlertChange
		touched = map[checkID]bool{}
		order   []checkID
		opened  = map[string]core.Outage{} // by ref: open outages known so far
		loaded  bool
		device  *core.Device
		alertAf = map[string]int{}
		pending []pendingMsg
	)
	windows, err := e.maintenance(ctx, deviceID)
	if err != nil {
		return err
	}
	loadOpen := func() error {
		if loaded {
			return nil
		}
		loaded = true
		os, err := e.o.Store.ListOutages(ctx, core.OutageFilter{OpenOnly: true, DeviceID: deviceID})
		if err != nil {
			return err
		}
		for _, o := range os {
			opened[o.Ref] = o
		}
		return nil
	}
	for _, r := range rs {
		id := checkID{r.Check, r.Key}
		a, ok := states[id]
		if !ok {
			e.log.Warn("result for a check the store does not know", "device", deviceID, "check", r.Check, "key", r.Key)
			continue
		}
		var open OpenOutage
		if a.OutageRef != "" {
			if err := loadOpen(); err != nil {
				return err
			}
			o := opened[a.OutageRef]
			open = OpenOutage{Notified: o.Notified, Acked: o.AckedAt != nil}
		}
		after, ok := alertAf[r.Check]
		if !ok {
			after = 1
			if e.o.AlertAfter != nil {
				after = e.o.AlertAfter(ctx, deviceID, r.Check)
			}
			alertAf[r.Check] = after
		}
		d := Evaluate(a, r, Params{AlertAfter: after, FlapChanges: settings.FlapChanges, FlapWindow: settings.FlapWindow.D(),
			Maintenance: activeAt(windows, r.At)}, open, newRef)
		states[id] = d.State
		if !touched[id] {
			touched[id] = true
			order = append(order, id)
		}
		if d.Open {
			o := core.Outage{Ref: d.State.OutageRef, DeviceID: deviceID, CheckID: a.CheckID, Kind: core.OutageCheck,
				CheckName: r.Check, CheckKey: r.Key, Severity: core.AlertFailure, Value: r.Value, Unit: r.Unit,
				Message: r.Message, OpenedAt: r.At, Notified: d.MarkNotified, Held: d.Held}
			change.Open = append(change.Open, o)
			opened[o.Ref] = o
		} else if d.Held && !opened[d.State.OutageRef].Held {
			change.Held = append(change.Held, d.State.OutageRef)
			o := opened[d.State.OutageRef]
			o.Held = true
			opened[o.Ref] = o
		} else if d.MarkNotified && d.State.OutageRef != "" {
			change.Notified = append(change.Notified, d.State.OutageRef)
			o := opened[d.State.OutageRef]
			o.Notified = true
			opened[o.Ref] = o
		}
		since := time.Time{}
		ref := d.State.OutageRef
		if d.Close != "" {
			change.Close = append(change.Close, core.OutageClose{Ref: d.Close, At: r.At})
			since, ref = opened[d.Close].OpenedAt, d.Close
			delete(opened, d.Close)
		} else if o, ok := opened[ref]; ok {
			since = o.OpenedAt
		}
		for _, kind := range d.Notify {
			if device == nil {
				dv, err := e.device(ctx, deviceID)
				if err != nil {
					return err
				}
				device = &dv
			}
			key := "check:" + strconv.FormatInt(a.CheckID, 10) + ":" + kind + ":" + strconv.FormatInt(r.At.UnixMilli(), 10)
			if ref != "" && (kind == notify.KindOutage || kind == notify.KindRecovery) {
				key = "outage:" + ref + ":" + kind
			}
			pending = append(pending, pendingMsg{key: key, facts: Facts{Kind: kind, Device: *device, Check: r.Check,
				Key: r.Key, Status: r.Status, Value: r.Value, Unit: r.Unit, Message: r.Message, OutageRef: ref,
				Since: since, At: r.At}})
		}
	}
	orig := make(map[checkID]core.AlertState, len(list))
	for _, a := range list {
		orig[checkID{a.Name, a.Key}] = a
	}
	for _, id := range order {
		if a := states[id]; stateChanged(orig[id], a) {
			change.States = append(change.States, a)
		}
	}
	if len(change.States) == 0 && len(change.Open) == 0 && len(change.Close) == 0 && len(change.Held) == 0 && len(pending) == 0 {
		return nil
	}
	if len(pending) > 0 {
		msgs, why, err := e.messages(ctx, settings, pending)
		if err != nil {
			return err
		}
		change.Outbox = msgs
		settle(&change, pending, why)
	}
	if err := e.o.Store.ApplyAlertChange(ctx, change); err != nil {
		return err
	}
	if len(change.Outbox) > 0 {
		e.Nudge()
	}
	return nil
}

// lastAtSlack is how far LastAt may lag behind before an otherwise
// unchanged state is written anyway. Skipping those writes keeps the
// engine's load on the database small; the price is that the startup
// reconciliation may evaluate a check's current status once more.
const lastAtSlack = 5 * time.Minute

// stateChanged reports whether b must be written over a.
func stateChanged(a, b core.AlertState) bool {
	eqTime := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	return a.Known != b.Known || a.State != b.State || a.Consecutive != b.Consecutive || a.OutageRef != b.OutageRef ||
		!eqTime(a.ClearedUntil, b.ClearedUntil) || a.ClearUntilPass != b.ClearUntilPass || a.Flapping != b.Flapping ||
		len(a.Changes) != len(b.Changes) || b.LastAt.Sub(a.LastAt) > lastAtSlack
}

type pendingMsg struct {
	key   string
	facts Facts
}

// messages renders each pending message for each of its recipients who
// can be reached: e-mail recipients only while a mail server is configured.
// why says, by pending key, why a message reached nobody
// (core.NotNotified*); no outbox row is created for it.
func (e *Engine) messages(ctx context.Context, s Settings, pending []pendingMsg) (out []core.OutboxItem, why map[string]string, err error) {
	all, serverURL, err := e.recipients(ctx)
	if err != nil {
		return nil, nil, err
	}
	mail := e.mailReady(s)
	loc, err := core.LoadZone(s.OfficeHours.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	now := e.o.Now()
	why = map[string]string{}
	for _, p := range pending {
		rcs, reason := reachable(Recipients(all, p.facts.Device, s.OfficeHours, now), mail)
		if reason != "" {
			why[p.key] = reason
			continue
		}
		p.facts.ServerURL, p.facts.Location = serverURL, loc
		if p.facts.Fix, err = e.fix(ctx, p.facts); err != nil {
			return nil, nil, err
		}
		items, err := outboxFor(rcs, p.key, now, func(lang string) notify.Message {
			return Render(p.facts, lang)
		})
		if err != nil {
			return nil, nil, err
		}
		out = append(out, items...)
	}
	return out, why, nil
}

// reachable drops the e-mail recipients while no mail server is configured
// (mail false) and says why none is left (core.NotNotified*), if so.
func reachable(rcs []core.Recipient, mail bool) ([]core.Recipient, string) {
	var out []core.Recipient
	dropped := false
	for _, r := range rcs {
		if r.Channel == core.ChannelEmail && !mail {
			dropped = true
			continue
		}
		out = append(out, r)
	}
	switch {
	case len(out) > 0:
		return out, ""
	case dropped:
		return nil, core.NotNotifiedNoMailServer
	}
	return nil, core.NotNotifiedNoRecipient
}

// settle keeps change's outages whose opening message (pending, keyed as
// messages' why) reached nobody from being flagged notified, and records
// why instead: an outage is notified only when a delivery was queued.
func settle(change *core.AlertChange, pending []pendingMsg, why map[string]string) {
	for _, p := range pending {
		reason, ref := why[p.key], p.facts.OutageRef
		if reason == "" || ref == "" || (p.facts.Kind != notify.KindOutage && p.facts.Kind != notify.KindOffline) {
			continue
		}
		found := false
		for i := range change.Open {
			if change.Open[i].Ref == ref {
				change.Open[i].Notified, change.Open[i].NotNotified, found = false, reason, true
			}
		}
		change.Notified = slices.DeleteFunc(change.Notified, func(r string) bool { return r == ref })
		if !found {
			if change.Unnotified == nil {
				change.Unnotified = map[string]string{}
			}
			change.Unnotified[ref] = reason
		}
	}
}

// mailReady reports whether e-mail can be sent (a test's Deliver counts),
// and logs once when that changes, rather than once per message or retry.
func (e *Engine) mailReady(s Settings) bool {
	ok := e.o.Deliver != nil || s.MailReady()
	state := 1
	if !ok {
		state = -1
	}
	e.mailMu.Lock()
	defer e.mailMu.Unlock()
	if e.mailNoted == state {
		return ok
	}
	switch {
	case !ok:
		e.log.Warn("e-mail notifications and reports are off: no mail server configured (Settings → Notifications)")
	case e.mailNoted != 0:
		e.log.Info("e-mail notifications are on: a mail server is configured")
	}
	e.mailNoted = state
	return ok
}

// outboxFor renders one message per recipient in its language, as an
// outbox item keyed key + ":" + the recipient's ID (so a message is queued
// once per recipient however often it is built).
func outboxFor(rcs []core.Recipient, key string, now time.Time, render func(lang string) notify.Message) ([]core.OutboxItem, error) {
	var out []core.OutboxItem
	for _, r := range rcs {
		k := key + ":" + strconv.FormatInt(r.ID, 10)
		m := render(r.Lang)
		m.ID = notify.StableID(k)
		if r.Channel == core.ChannelWebhook {
			m.Format, m.Secret = r.Format, r.Secret
		}
		payload, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("encoding notification: %w", err)
		}
		out = append(out, core.OutboxItem{DedupeKey: k, Channel: r.Channel, Target: r.Target,
			Payload: payload, NextAttemptAt: now, CreatedAt: now})
	}
	return out, nil
}

// fix returns the newest automatic fix of a message's check during its
// outage, if the store keeps them (core.PolicyStore.LatestFix).
func (e *Engine) fix(ctx context.Context, f Facts) (*core.Fix, error) {
	fs, ok := e.o.Store.(interface {
		LatestFix(ctx context.Context, deviceID int64, check string, from, to time.Time) (*core.Fix, error)
	})
	switch f.Kind {
	case notify.KindOutage, notify.KindRecovery, notify.KindReminder:
	default:
		return nil, nil
	}
	if !ok || f.Check == "" || f.Device.ID == 0 {
		return nil, nil
	}
	from := f.Since
	if from.IsZero() {
		from = f.At
	}
	// The fix's report may arrive with the failure it answers, or after it.
	return fs.LatestFix(ctx, f.Device.ID, f.Check, from.Add(-core.FixWindow), f.At.Add(core.FixWindow))
}

// queue holds result batches per device; each device is evaluated by one
// worker at a time, in arrival order.
type queue struct {
	mu      sync.Mutex
	pending map[int64][]core.Result
	ready   []int64
	inReady map[int64]bool
	busy    map[int64]bool
	wake    chan struct{}
}

func newQueue() *queue {
	return &queue{pending: map[int64][]core.Result{}, inReady: map[int64]bool{}, busy: map[int64]bool{},
		wake: make(chan struct{}, 1)}
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) push(dev int64, rs []core.Result) {
	q.mu.Lock()
	p := append(q.pending[dev], rs...)
	if len(p) > maxPendingPerDevice {
		p = append([]core.Result(nil), p[len(p)-maxPendingPerDevice:]...)
	}
	q.pending[dev] = p
	if !q.busy[dev] && !q.inReady[dev] {
		q.ready = append(q.ready, dev)
		q.inReady[dev] = true
	}
	q.mu.Unlock()
	q.signal()
}

func (q *queue) pop(ctx context.Context) (int64, []core.Result, bool) {
	for {
		q.mu.Lock()
		if len(q.ready) > 0 {
			dev := q.ready[0]
			q.ready = q.ready[1:]
			delete(q.inReady, dev)
			rs := q.pending[dev]
			delete(q.pending, dev)
			q.busy[dev] = true
			more := len(q.ready) > 0
			q.mu.Unlock()
			if more {
				q.signal()
			}
			return dev, rs, true
		}
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			return 0, nil, false
		case <-q.wake:
		}
	}
}

func (q *queue) done(dev int64) {
	q.mu.Lock()
	delete(q.busy, dev)
	again := len(q.pending[dev]) > 0 && !q.inReady[dev]
	if again {
		q.ready = append(q.ready, dev)
		q.inReady[dev] = true
	}
	q.mu.Unlock()
	if again {
		q.signal()
	}
}
