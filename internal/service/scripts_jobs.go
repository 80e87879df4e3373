package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/scriptsign"
)

// Running scripts and deploying packages: a job runs one script version,
// or installs or removes one package (packages_deploy.go), on a selection
// of devices, one run per device. The runs wait in the database until the
// node that holds the device's agent claims one (a conditional UPDATE, so
// that one node sends it) and sends it as a signed script action; the
// agent's journal of run IDs keeps a run from running twice even when the
// answer is lost and the run is sent again.

// Job limits.
const (
	DefaultJobExpiry = 24 * time.Hour
	MaxJobExpiry     = 7 * 24 * time.Hour
	// MaxJobRunsShown bounds a device's run list on the device page.
	MaxJobRunsShown = 200
)

var errNoSealKey = errors.New("scripts: the server has no secret key to seal secret parameters and authenticate runs with")

// runMACPurpose names the key, derived from secret.key, that authenticates
// queued runs.
const runMACPurpose = "script-run"

// runMAC authenticates a queued run as the server made it: its ID and
// device, the job's script version with that version's content (language,
// body, timeout, signature and the account it runs as), the parameters,
// the sealed secrets and the expiry, under a key the database does not
// hold. The dispatcher signs a run for the agent only if its MAC
// matches, so a run, job or script version written straight into the
// database (SQL injection, stolen credentials) runs nothing. The run ID
// is the agent's journal key, so a copied row cannot run twice either.
// A package job's run covers the action, the package's ID and the
// package's own MAC as it was at queueing (j.PackageMAC, which covers the
// whole definition and file), and the timeout; sc is then empty.
func runMAC(key []byte, r core.ScriptRun, j core.ScriptJob, sc core.Script) []byte {
	m := hmac.New(sha256.New, key)
	params, _ := json.Marshal(j.Params) // map keys sorted
	parts := [][]byte{
		[]byte(r.ID), []byte(strconv.FormatInt(r.DeviceID, 10)),
		[]byte(strconv.FormatInt(j.ScriptID, 10)), []byte(strconv.Itoa(j.ScriptVersion)),
		[]byte(sc.Language), []byte(sc.Body), []byte(strconv.Itoa(sc.TimeoutSeconds)), []byte(sc.Signature), []byte(sc.RunAs),
		params, j.Sealed, []byte(strconv.FormatInt(j.ExpiresAt.UnixMilli(), 10)),
	}
	if j.IsPackage() { // a script run's MAC stays as it was before packages
		parts = append(parts, []byte(j.Action), []byte(strconv.FormatInt(j.PackageID, 10)), j.PackageMAC,
			[]byte(strconv.Itoa(j.TimeoutSeconds)))
	}
	for _, part := range parts {
		// Length-prefixed, so that no two different runs hash alike.
		m.Write(binary.BigEndian.AppendUint64(nil, uint64(len(part))))
		m.Write(part)
	}
	return m.Sum(nil)
}

// RunRequest selects the devices of a run by exactly one of Devices,
// Site, Client and Tag, with the parameters' values.
type RunRequest struct {
	Devices        []int64                    `json:"devices,omitempty"`
	Site           int64                      `json:"site,omitempty"`
	Client         int64                      `json:"client,omitempty"`
	Tag            string                     `json:"tag,omitempty"`
	Params         map[string]json.RawMessage `json:"params,omitempty"`
	ExpiresMinutes int                        `json:"expires_minutes,omitempty"` // 0: 24 h
}

// RunSubmitted answers a run request: the job, how many runs it queued,
// and the devices of a site, client or tag left out, with the reason.
type RunSubmitted struct {
	JobID   int64           `json:"job_id"`
	Runs    int             `json:"runs"`
	Skipped []SkippedDevice `json:"skipped"`
}

// SkippedDevice is a device a run request left out.
type SkippedDevice struct {
	DeviceID int64     `json:"device_id"`
	Hostname string    `json:"hostname"`
	Reason   core.Text `json:"reason"`
}

// JobView is a job with its runs as the caller may see them. Params show
// every secret as protocol.ScriptMask.
type JobView struct {
	core.ScriptJob
	Counts map[string]int   `json:"counts"`
	Runs   []core.ScriptRun `json:"runs"`
}

// RunScript queues script id on the selected devices and returns the job.
// Explicitly named devices must all be eligible (in scope, active, of an
// OS the script names, scripts not locked); of a site, client or tag the
// ineligible ones are skipped and listed. Audited as "script.run" with
// the version, the devices and the parameters, secrets masked.
func (s *Service) RunScript(ctx context.Context, u core.User, id int64, req RunRequest) (RunSubmitted, error) {
	if err := s.scriptAuthor(ctx, u); err != nil { // Remote and the 2FA rule
		return RunSubmitted{}, err
	}
	if err := s.seedScripts(ctx); err != nil {
		return RunSubmitted{}, err
	}
	sc, err := s.store.GetScript(ctx, id)
	if err != nil {
		return RunSubmitted{}, fmt.Errorf("getting script %d: %w", id, err)
	}
	plain, secrets, err := policy.ScriptParams(sc, req.Params)
	if err != nil {
		return RunSubmitted{}, err
	}
	expiry, err := jobExpiry(req.ExpiresMinutes)
	if err != nil {
		return RunSubmitted{}, err
	}
	rule := targetRule{lock: protocol.LockScripts,
		locked: core.Text{EN: "scripts are disabled on this device (wacht-agent --disable)", DE: "Skripte sind auf diesem Gerät gesperrt (wacht-agent --disable)"},
		fits:   func(d core.Device) (core.Text, bool) { return scriptFits(sc, d) },
		signed: func(d core.Device) (core.Text, bool) { return s.scriptSigned(sc, d) },
		none:   core.Text{EN: "no device to run the script on", DE: "kein Gerät, auf dem das Skript laufen kann"}}
	devices, skipped, what, err := s.runTargets(ctx, u, rule, req)
	if err != nil {
		return RunSubmitted{}, err
	}
	j := core.ScriptJob{Action: core.JobScript, ScriptID: sc.ID, ScriptVersion: sc.Version, ScriptName: sc.Name, Params: plain, Target: what,
		CreatedBy: Actor(u), CreatedAt: s.now(), ExpiresAt: s.now().Add(expiry)}
	if len(secrets) > 0 {
		if s.secrets == nil {
			return RunSubmitted{}, errNoSealKey
		}
		b, _ := json.Marshal(secrets)
		if j.Sealed, err = s.secrets.Seal(b); err != nil {
			return RunSubmitted{}, fmt.Errorf("sealing secret parameters: %w", err)
		}
		for k := range secrets {
			j.SecretNames = append(j.SecretNames, k)
		}
		slices.Sort(j.SecretNames)
	}
	ids, err := s.queueJob(ctx, &j, sc, devices)
	if err != nil {
		return RunSubmitted{}, fmt.Errorf("queueing script %d: %w", id, err)
	}
	shown, _ := json.Marshal(maskedParams(j))
	detail := fmt.Sprintf("job %d: %s on %s devices %v params %s", j.ID, scriptDetail(sc), what, ids, shown)
	if err := s.record(ctx, u, "script.run", target("script", sc.ID), detail, core.AuditOK); err != nil {
		return RunSubmitted{}, err
	}
	s.kickJob(ids)
	return submitted(j, ids, skipped), nil
}

// jobExpiry is a job's expiry from a request's minutes (0: the default).
func jobExpiry(minutes int) (time.Duration, error) {
	if minutes == 0 {
		return DefaultJobExpiry, nil
	}
	expiry := time.Duration(minutes) * time.Minute
	if minutes < 1 || expiry > MaxJobExpiry {
		return 0, &policy.ValidationError{Fields: []policy.FieldError{fieldErr("expires_minutes",
			fmt.Sprintf("must be 1 to %d minutes", int(MaxJobExpiry/time.Minute)), fmt.Sprintf("muss 1 bis %d Minuten sein", int(MaxJobExpiry/time.Minute)))}}
	}
	return expiry, nil
}

// queueJob stores job j with one run per device, each authenticated by
// runMAC (sc is the script version of a script job), and returns the
// devices' IDs.
func (s *Service) queueJob(ctx context.Context, j *core.ScriptJob, sc core.Script, devices []core.Device) ([]int64, error) {
	if s.secrets == nil {
		return nil, errNoSealKey // nothing to authenticate the runs with
	}
	ids := make([]int64, len(devices))
	runs := make([]core.ScriptRun, len(devices))
	key := s.secrets.Derive(runMACPurpose)
	for i, d := range devices {
		ids[i] = d.ID
		runs[i] = core.ScriptRun{ID: uuid.NewString(), DeviceID: d.ID}
		runs[i].MAC = runMAC(key, runs[i], *j, sc)
	}
	if _, err := s.store.CreateScriptJob(ctx, j, runs); err != nil {
		return nil, err
	}
	return ids, nil
}

// kickJob has the dispatcher look at a new job's devices.
func (s *Service) kickJob(ids []int64) {
	if d := s.dispatch.Load(); d != nil {
		d.Kick(ids...)
	}
}

func submitted(j core.ScriptJob, ids []int64, skipped []SkippedDevice) RunSubmitted {
	if skipped == nil {
		skipped = []SkippedDevice{}
	}
	return RunSubmitted{JobID: j.ID, Runs: len(ids), Skipped: skipped}
}

// maskedParams are a job's parameters as views and the audit log show
// them: every secret as protocol.ScriptMask.
func maskedParams(j core.ScriptJob) map[string]string {
	m := make(map[string]string, len(j.Params)+len(j.SecretNames))
	for k, v := range j.Params {
		m[k] = v
	}
	for _, k := range j.SecretNames {
		m[k] = protocol.ScriptMask
	}
	return m
}

// targetRule is what a job's devices must be: fits (agent, state, OS) and
// signed (lock mode) say whether a device qualifies or why not; lock is
// the local lock that disables the job's action (locked its reason), none
// the error when no device is left.
type targetRule struct {
	lock         string
	locked, none core.Text
	fits, signed func(core.Device) (core.Text, bool)
}

// runTargets resolves a job request's devices (Params unused) and names
// the selection for the audit log. Named devices must all qualify; of a
// site, client or tag the others are skipped.
func (s *Service) runTargets(ctx context.Context, u core.User, rule targetRule, req RunRequest) ([]core.Device, []SkippedDevice, string, error) {
	out, skipped, what, err := s.jobTargets(ctx, u, rule, req)
	if err == nil && len(out) == 0 {
		err = &policy.ValidationError{Fields: []policy.FieldError{{Field: "devices", Message: rule.none}}}
	}
	return out, skipped, what, err
}

func (s *Service) jobTargets(ctx context.Context, u core.User, rule targetRule, req RunRequest) ([]core.Device, []SkippedDevice, string, error) {
	n := 0
	for _, set := range []bool{len(req.Devices) > 0, req.Site != 0, req.Client != 0, req.Tag != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, nil, "", &policy.ValidationError{Fields: []policy.FieldError{fieldErr("devices",
			"give exactly one of devices, site, client and tag", "geben Sie genau eines von devices, site, client und tag an")}}
	}
	if len(req.Devices) > 0 {
		var out []core.Device
		for _, id := range slices.Compact(slices.Sorted(slices.Values(req.Devices))) {
			d, _, err := s.remoteTarget(ctx, u, id, rule.lock)
			if err != nil {
				return nil, nil, "", err
			}
			if why, ok := rule.fits(d); !ok {
				return nil, nil, "", &policy.ValidationError{Fields: []policy.FieldError{{Field: "devices", Message: why}}}
			}
			if why, ok := rule.signed(d); !ok {
				return nil, nil, "", &protocol.ActionError{Code: protocol.CodeScriptSigner, Message: why}
			}
			out = append(out, d)
		}
		return out, nil, "devices", nil
	}
	f := DeviceFilter{Tag: req.Tag, ClientID: req.Client}
	what := "tag " + strconv.Quote(req.Tag)
	switch {
	case req.Site != 0:
		if _, err := s.site(ctx, u, req.Site); err != nil {
			return nil, nil, "", err
		}
		what = "site " + strconv.FormatInt(req.Site, 10)
	case req.Client != 0:
		if !authz.CanSeeClient(u, req.Client) {
			return nil, nil, "", fmt.Errorf("client %d: %w", req.Client, core.ErrNotFound)
		}
		if _, err := s.store.GetClient(ctx, req.Client); err != nil {
			return nil, nil, "", fmt.Errorf("getting client %d: %w", req.Client, err)
		}
		what = "client " + strconv.FormatInt(req.Client, 10)
	}
	list, err := s.ListDevicesFor(ctx, u, f)
	if err != nil {
		return nil, nil, "", err
	}
	r, _ := s.cmd.(Remote)
	var out []core.Device
	var skipped []SkippedDevice
	for _, dv := range list {
		d := dv.Device
		if req.Site != 0 && d.SiteID != req.Site {
			continue
		}
		why, ok := rule.fits(d)
		if ok {
			why, ok = rule.signed(d)
		}
		if ok && r != nil {
			if locks, _ := r.Disabled(d.ID); slices.Contains(locks, rule.lock) {
				why, ok = rule.locked, false
			}
		}
		if !ok {
			skipped = append(skipped, SkippedDevice{DeviceID: d.ID, Hostname: d.Hostname, Reason: why})
			continue
		}
		out = append(out, d)
	}
	return out, skipped, what, nil
}

// scriptFits says whether sc can run on d, or why not.
func scriptFits(sc core.Script, d core.Device) (core.Text, bool) {
	switch {
	case len(d.PublicKey) == 0:
		return core.Text{EN: d.Hostname + " is a network device without an agent", DE: d.Hostname + " ist ein Netzwerkgerät ohne Agent"}, false
	case d.State != core.DeviceActive:
		return core.Text{EN: d.Hostname + " is " + d.State, DE: d.Hostname + " ist " + d.State}, false
	case len(sc.OS) > 0 && !slices.Contains(sc.OS, d.OS):
		return core.Text{EN: fmt.Sprintf("the script is for %s, %s runs %s", strings.Join(sc.OS, ", "), d.Hostname, d.OS),
			DE: fmt.Sprintf("das Skript ist für %s, %s läuft unter %s", strings.Join(sc.OS, ", "), d.Hostname, d.OS)}, false
	}
	return core.Text{}, true
}

// scriptSigned says whether d's agent, if it is in lock mode (as it told
// this node when it connected), would run sc, or why not. The agent
// checks again; asking first answers at once instead of with a failed run.
func (s *Service) scriptSigned(sc core.Script, d core.Device) (core.Text, bool) {
	l, ok := s.cmd.(interface{ ScriptSigner(int64) []byte })
	if !ok {
		return core.Text{}, true
	}
	pub := l.ScriptSigner(d.ID)
	if len(pub) == 0 || scriptsign.Verify(pub, sc.Language, sc.Body, sc.Signature) == nil {
		return core.Text{}, true
	}
	return core.Text{
		EN: d.Hostname + " runs only scripts signed by its script signer (lock mode); this version carries no valid signature (wacht script sign)",
		DE: d.Hostname + " führt nur Skripte aus, die sein Skript-Signierer signiert hat (Sperrmodus); diese Version trägt keine gültige Signatur (wacht script sign)"}, false
}

// GetJob returns a job with the runs on devices u may see; a job with
// none of them is core.ErrNotFound.
func (s *Service) GetJob(ctx context.Context, u core.User, id int64) (JobView, error) {
	if err := need(u, authz.Read); err != nil {
		return JobView{}, err
	}
	j, err := s.store.GetScriptJob(ctx, id)
	if err != nil {
		return JobView{}, fmt.Errorf("getting job %d: %w", id, err)
	}
	runs, err := s.store.ListScriptRuns(ctx, core.ScriptRunFilter{JobID: id})
	if err != nil {
		return JobView{}, fmt.Errorf("listing runs of job %d: %w", id, err)
	}
	runs, err = s.visibleRuns(ctx, u, runs)
	if err != nil {
		return JobView{}, err
	}
	if len(runs) == 0 {
		return JobView{}, fmt.Errorf("job %d: %w", id, core.ErrNotFound)
	}
	j.Params = maskedParams(j)
	v := JobView{ScriptJob: j, Counts: map[string]int{}, Runs: runs}
	for _, r := range runs {
		v.Counts[r.State]++
	}
	return v, nil
}

// MaxJobsListed is how many of the newest jobs ListJobs looks at.
const MaxJobsListed = 100

// JobSummary is a job of the jobs list with its runs on the devices the
// caller may see, counted per state.
type JobSummary struct {
	core.ScriptJob
	Counts map[string]int `json:"counts"`
	Runs   int            `json:"runs"`
}

// ListJobs returns the newest jobs (of the last MaxJobsListed) that ran
// on a device u may see, with the counts of those runs.
func (s *Service) ListJobs(ctx context.Context, u core.User) ([]JobSummary, error) {
	if err := need(u, authz.Read); err != nil {
		return nil, err
	}
	jobs, counts, err := s.store.ListScriptJobs(ctx, MaxJobsListed)
	if err != nil {
		return nil, fmt.Errorf("listing jobs: %w", err)
	}
	byJob := map[int64]*JobSummary{}
	for _, c := range counts {
		if !authz.CanSeeClient(u, c.ClientID) {
			continue
		}
		js := byJob[c.JobID]
		if js == nil {
			js = &JobSummary{Counts: map[string]int{}}
			byJob[c.JobID] = js
		}
		js.Counts[c.State] += c.Runs
		js.Runs += c.Runs
	}
	out := []JobSummary{}
	for _, j := range jobs {
		if js := byJob[j.ID]; js != nil {
			j.Params, j.Sealed = maskedParams(j), nil
			js.ScriptJob = j
			out = append(out, *js)
		}
	}
	return out, nil
}

// CancelJob cancels the job's queued runs on the devices u may see, with
// who cancelled as their reason; runs already running finish. It answers
// the job as u sees it then. Audited as "script.cancel".
func (s *Service) CancelJob(ctx context.Context, u core.User, id int64) (JobView, error) {
	if err := need(u, authz.Remote); err != nil {
		return JobView{}, err
	}
	v, err := s.GetJob(ctx, u, id) // not found when none of its devices is in scope
	if err != nil {
		return JobView{}, err
	}
	who := Actor(u)
	why := core.Text{EN: "Cancelled by " + who + " before the device ran it.", DE: "Von " + who + " abgebrochen, bevor das Gerät es ausführte."}
	n, err := s.store.CancelJobRuns(ctx, id, u.Scope, why, s.now())
	if err != nil {
		return JobView{}, fmt.Errorf("cancelling job %d: %w", id, err)
	}
	detail := fmt.Sprintf("job %d (%q version %d): %d queued runs cancelled", id, v.ScriptName, v.ScriptVersion, n)
	if v.IsPackage() {
		detail = fmt.Sprintf("job %d (%s %q %s): %d queued runs cancelled", id, v.Action, v.PackageName, v.PackageVersion, n)
	}
	if err := s.record(ctx, u, "script.cancel", target("job", id), detail, core.AuditOK); err != nil {
		return JobView{}, err
	}
	return s.GetJob(ctx, u, id)
}

// DeviceRuns returns a device's script runs newest first, after the key
// after (the zero key: from the newest), at most limit (≤ 0: all).
func (s *Service) DeviceRuns(ctx context.Context, u core.User, deviceID int64, after core.PageKey, limit int) ([]core.ScriptRun, error) {
	if _, err := s.device(ctx, u, deviceID); err != nil {
		return nil, err
	}
	runs, err := s.store.ListScriptRuns(ctx, core.ScriptRunFilter{DeviceID: deviceID, Limit: limit, After: after})
	if err != nil {
		return nil, fmt.Errorf("listing runs of device %d: %w", deviceID, err)
	}
	if slices.ContainsFunc(runs, func(r core.ScriptRun) bool { return r.Task != "" }) {
		// Where each task comes from: one resolution of the device's
		// policy, not one per stored run.
		_, e, err := s.resolver().Effective(ctx, deviceID)
		if err != nil {
			return nil, fmt.Errorf("resolving the policy of device %d: %w", deviceID, err)
		}
		for i, r := range runs {
			if j := slices.IndexFunc(e.Tasks, func(t policy.TaskEntry) bool { return t.Name == r.Task }); j >= 0 {
				runs[i].TaskSource = e.Tasks[j].Source.Level + ": " + e.Tasks[j].Source.PolicyName
			}
		}
	}
	return s.visibleRuns(ctx, u, runs)
}

// visibleRuns keeps the runs of devices in u's scope and shows a queued
// run of an offline device as offline-waiting.
func (s *Service) visibleRuns(ctx context.Context, u core.User, runs []core.ScriptRun) ([]core.ScriptRun, error) {
	online := map[int64]bool{}
	if len(runs) > 0 {
		ds, err := s.store.ListDevices(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing devices: %w", err)
		}
		now := s.now()
		for _, d := range ds {
			online[d.ID] = s.online(d, now)
		}
	}
	out := []core.ScriptRun{}
	for _, r := range runs {
		if !authz.CanSeeClient(u, r.ClientID) {
			continue
		}
		if r.State == core.RunQueued && !online[r.DeviceID] {
			r.State = core.RunOfflineWaiting
		}
		out = append(out, r)
	}
	return out, nil
}

// ScriptDispatcher sends queued runs to the agents connected to this
// node: when a run is queued, when an agent connects, and every Poll.
// Each device with queued runs gets a worker that sends them one after
// another. The workers' claims and outcomes go to the database in groups
// (whatever is waiting, up to Batch, in one transaction), so that a job
// on thousands of devices costs tens of transactions, not thousands.
type ScriptDispatcher struct {
	s      *Service
	remote Remote
	local  interface{ Connected(deviceID int64) bool }
	opts   DispatchOptions

	wake     chan struct{} // cap 1: kicked has grown
	mu       sync.Mutex
	kicked   map[int64]bool // devices to look at
	busy     map[int64]bool // devices with a worker
	more     map[int64]bool // kicked while their worker ran
	wg       sync.WaitGroup
	claims   chan call[int64, claimed]
	finishes chan call[core.ScriptRun, error]
}

// claimed is a worker's claim: a run with its job and script version or
// package (read with the claim; scErr if that failed), ok false if the
// device had none, more if it has further queued runs.
type claimed struct {
	r        core.ScriptRun
	j        core.ScriptJob
	sc       core.Script
	pkg      core.Package
	scErr    error
	ok, more bool
	err      error
}

// DispatchOptions tune a ScriptDispatcher; zero values take the defaults.
type DispatchOptions struct {
	Poll   time.Duration // default 10 s: sweep expiry, find devices with queued runs
	Margin time.Duration // default 2 min beyond a script's timeout before a run is asked for again
	Batch  int           // claims or outcomes stored in one transaction at most, default 500
}

// ScriptDispatcher returns the dispatcher of this Service; nil when its
// Commander cannot send actions (no gateway). Run it once per node.
func (s *Service) ScriptDispatcher(o DispatchOptions) *ScriptDispatcher {
	r, ok := s.cmd.(Remote)
	l, ok2 := s.cmd.(interface{ Connected(int64) bool })
	if !ok || !ok2 {
		return nil
	}
	if o.Poll <= 0 {
		o.Poll = 10 * time.Second
	}
	if o.Margin <= 0 {
		o.Margin = 2 * time.Minute
	}
	if o.Batch <= 0 {
		o.Batch = 500
	}
	d := &ScriptDispatcher{s: s, remote: r, local: l, opts: o, wake: make(chan struct{}, 1), kicked: map[int64]bool{},
		busy: map[int64]bool{}, more: map[int64]bool{},
		claims: make(chan call[int64, claimed]), finishes: make(chan call[core.ScriptRun, error])}
	s.dispatch.Store(d)
	return d
}

// Kick asks the dispatcher to look at devices' queued runs (runs were
// queued, an agent connected). It never blocks and loses no device.
func (d *ScriptDispatcher) Kick(deviceIDs ...int64) {
	d.mu.Lock()
	for _, id := range deviceIDs {
		d.kicked[id] = true
	}
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// takeKicked returns the kicked devices and forgets them.
func (d *ScriptDispatcher) takeKicked() map[int64]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	k := d.kicked
	d.kicked = map[int64]bool{}
	return k
}

// Run dispatches until ctx ends and its workers returned (with their
// outcomes stored).
func (d *ScriptDispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.opts.Poll)
	defer t.Stop()
	// The groups outlive ctx until the last worker stored its outcome.
	gctx, stopGroups := context.WithCancel(context.WithoutCancel(ctx))
	var groups sync.WaitGroup
	groups.Go(func() { grouped(gctx, d.claims, d.opts.Batch, d.claimGroup) })
	groups.Go(func() { grouped(gctx, d.finishes, d.opts.Batch, d.finishGroup) })
	defer func() {
		d.wg.Wait()
		stopGroups()
		groups.Wait()
	}()
	d.poll(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
			for id := range d.takeKicked() {
				d.start(ctx, id)
			}
		case <-t.C:
			d.poll(ctx)
		}
	}
}

func (d *ScriptDispatcher) poll(ctx context.Context) {
	now := d.s.now()
	if exp, req, err := d.s.store.SweepScriptRuns(ctx, now); err != nil {
		d.s.log.Warn("sweeping script runs", "err", err)
	} else if exp+req > 0 {
		d.s.log.Info("script runs swept", "expired", exp, "requeued", req)
	}
	ids, err := d.s.store.QueuedScriptDevices(ctx, now)
	if err != nil {
		d.s.log.Warn("listing queued script runs", "err", err)
		return
	}
	for _, id := range ids {
		d.start(ctx, id)
	}
}

// start runs a worker for the device if this node holds its agent.
func (d *ScriptDispatcher) start(ctx context.Context, id int64) {
	if !d.local.Connected(id) {
		return
	}
	d.mu.Lock()
	if d.busy[id] {
		d.more[id] = true
		d.mu.Unlock()
		return
	}
	d.busy[id] = true
	d.mu.Unlock()
	d.wg.Go(func() {
		for {
			d.serve(ctx, id)
			d.mu.Lock()
			again := d.more[id] && ctx.Err() == nil
			delete(d.more, id)
			if !again {
				delete(d.busy, id)
			}
			d.mu.Unlock()
			if !again {
				return
			}
		}
	})
}

// call is a worker's request to a grouped database call, with its answer.
type call[Q, A any] struct {
	q   Q
	ans chan A // cap 1
}

// grouped serves calls until ctx ends: the calls waiting when it is free,
// up to max, go to do at once, which answers each in order.
func grouped[Q, A any](ctx context.Context, in <-chan call[Q, A], max int, do func([]Q) []A) {
	for {
		var batch []call[Q, A]
		select {
		case <-ctx.Done():
			return
		case c := <-in:
			batch = append(batch, c)
		}
	more:
		for len(batch) < max {
			select {
			case c := <-in:
				batch = append(batch, c)
			default:
				break more
			}
		}
		qs := make([]Q, len(batch))
		for i, c := range batch {
			qs[i] = c.q
		}
		for i, a := range do(qs) {
			batch[i].ans <- a
		}
	}
}

// ask makes a grouped call; false if ctx ended before it was taken.
func ask[Q, A any](ctx context.Context, in chan<- call[Q, A], q Q) (A, bool) {
	c := call[Q, A]{q: q, ans: make(chan A, 1)}
	select {
	case in <- c:
		return <-c.ans, true
	case <-ctx.Done():
		var zero A
		return zero, false
	}
}

// claimGroup claims a run of each device in one transaction.
func (d *ScriptDispatcher) claimGroup(ids []int64) []claimed {
	out := make([]claimed, len(ids))
	c, err := d.s.store.ClaimScriptRuns(context.Background(), ids, d.s.now(), d.opts.Margin)
	byDevice := make(map[int64]core.ScriptRun, len(c.Runs))
	type version struct {
		sc  core.Script
		pkg core.Package
		err error
	}
	// Read once per group, not cached beyond it: a script version by
	// script and version, a package by its ID as {-ID, 0}.
	key := func(r core.ScriptRun) [2]int64 {
		if r.PackageID != 0 {
			return [2]int64{-r.PackageID, 0}
		}
		return [2]int64{r.ScriptID, int64(r.ScriptVersion)}
	}
	versions := map[[2]int64]version{}
	for _, r := range c.Runs {
		byDevice[r.DeviceID] = r
		k := key(r)
		if _, ok := versions[k]; ok {
			continue
		}
		var v version
		if r.PackageID != 0 {
			v.pkg, v.err = d.s.store.GetPackage(context.Background(), r.PackageID)
		} else {
			v.sc, v.err = d.s.store.GetScriptVersion(context.Background(), r.ScriptID, r.ScriptVersion)
		}
		versions[k] = v
	}
	for i, id := range ids {
		r, ok := byDevice[id]
		v := versions[key(r)]
		out[i] = claimed{r: r, j: c.Jobs[r.JobID], sc: v.sc, pkg: v.pkg, scErr: v.err, ok: ok, more: c.More[id], err: err}
	}
	return out
}

// finishGroup stores outcomes in one transaction.
func (d *ScriptDispatcher) finishGroup(runs []core.ScriptRun) []error {
	out := make([]error, len(runs))
	conflicts, err := d.s.store.FinishScriptRuns(context.Background(), runs)
	for i, r := range runs {
		out[i] = err
		if err == nil && slices.Contains(conflicts, r.ID) {
			out[i] = fmt.Errorf("storing run %s: not running any more: %w", r.ID, core.ErrConflict)
		}
	}
	return out
}

// serve sends the device's queued runs one after another; it stops at a
// run the agent could not take now (offline, still running), which the
// next kick or poll sends again, and after the last run queued when it
// claimed (a run queued later kicks the device again).
func (d *ScriptDispatcher) serve(ctx context.Context, id int64) {
	for ctx.Err() == nil {
		c, asked := ask(ctx, d.claims, id)
		if !asked {
			return
		}
		if c.err != nil {
			d.s.log.Warn("claiming a script run", "device", id, "err", c.err)
			return
		}
		if !c.ok || !d.send(ctx, c) || !c.more {
			return
		}
	}
}

// outgoing is a claimed run as the agent gets it: the action, its
// arguments, how long to wait for the answer, the result to decode into,
// and the secrets to mask in what comes back.
type outgoing struct {
	action  string
	args    any
	timeout time.Duration
	res     any // *protocol.ScriptResult or *protocol.PackageResult
	secrets map[string]string
}

// refusal is a run the dispatcher will not send, with why.
type refusal struct {
	log string
	ae  *protocol.ActionError
}

func (e *refusal) Error() string { return e.log }

// forged refuses a run whose MAC does not match.
var forged = &refusal{log: "refusing a run whose database record the server did not write (MAC mismatch)",
	ae: &protocol.ActionError{Code: protocol.CodeFailed, Message: core.Text{
		EN: "refused: this run's record in the database does not carry the server's authentication; it was not queued through Wacht",
		DE: "abgelehnt: der Eintrag dieses Laufs in der Datenbank trägt nicht die Authentifizierung des Servers; er wurde nicht über Wacht eingereiht"}}}

// send runs one claimed run on its agent and stores the outcome; false
// means the run went back to the queue.
func (d *ScriptDispatcher) send(ctx context.Context, c claimed) bool {
	r, j := c.r, c.j
	log := d.s.log.With("run", r.ID, "device", r.DeviceID, "job", j.ID)
	var out outgoing
	var err error
	if j.IsPackage() {
		out, err = d.s.packageCall(r, j, c.pkg, c.scErr, d.opts.Margin)
	} else {
		out, err = d.s.scriptCall(r, j, c.sc, c.scErr)
	}
	if rf, ok := err.(*refusal); ok {
		// Not queued by a Wacht server, or no longer what was queued:
		// refused, and loudly.
		log.Error(rf.log, "script", j.ScriptID, "version", j.ScriptVersion, "package", j.PackageID)
		d.finish(ctx, r, out.secrets, nil, rf.ae)
		return true
	}
	if err != nil {
		log.Error("preparing a run", "err", err)
		d.finish(ctx, r, out.secrets, nil, &protocol.ActionError{Code: protocol.CodeFailed,
			Message: core.Text{EN: "the server could not prepare the run: " + err.Error(), DE: "der Server konnte den Lauf nicht vorbereiten: " + err.Error()}})
		return true
	}
	cctx, cancel := context.WithTimeout(ctx, out.timeout+d.opts.Margin/2)
	err = d.remote.Do(cctx, r.DeviceID, out.action, out.args, out.res)
	cancel()
	var ae *protocol.ActionError
	switch {
	case err == nil:
	case errors.As(err, &ae) && ae.Code != protocol.CodeRunning:
		// The agent answered: a refusal, or interrupted.
	default:
		// Not reached, no answer in time, or still running there: ask
		// again later; the agent's journal answers a run it has.
		log.Info("run requeued", "err", err)
		if rerr := d.s.store.RequeueScriptRun(context.WithoutCancel(ctx), r.ID); rerr != nil {
			log.Error("requeueing a run", "err", rerr)
		}
		return false
	}
	if ae != nil {
		out.res = nil
	}
	d.finish(ctx, r, out.secrets, out.res, ae)
	return true
}

// scriptCall prepares a script run: its MAC checked, its secrets opened.
func (s *Service) scriptCall(r core.ScriptRun, j core.ScriptJob, sc core.Script, err error) (outgoing, error) {
	var secrets map[string]string
	if err == nil && len(j.Sealed) > 0 {
		err = errNoSealKey
		if s.secrets != nil {
			var b []byte
			if b, err = s.secrets.Open(j.Sealed); err == nil {
				err = json.Unmarshal(b, &secrets)
			}
		}
	}
	out := outgoing{secrets: secrets}
	if err == nil && (s.secrets == nil || !hmac.Equal(r.MAC, runMAC(s.secrets.Derive(runMACPurpose), r, j, sc))) {
		return out, forged
	}
	if err != nil {
		return out, err
	}
	out.action, out.res, out.timeout = protocol.ActionScript, &protocol.ScriptResult{}, time.Duration(sc.TimeoutSeconds)*time.Second
	out.args = protocol.ScriptArgs{RunID: r.ID, Language: sc.Language, Body: sc.Body, Params: j.Params, Secrets: secrets,
		TimeoutSeconds: sc.TimeoutSeconds, Signature: sc.Signature, RunAs: sc.RunAs}
	return out, nil
}

// finish stores a run's outcome, res being what the agent answered (nil
// with ae), with every secret masked again (an agent that did not mask
// them leaks nothing into the database). A package the installer asked to
// be run again later goes back to the queue (retryAfter).
func (d *ScriptDispatcher) finish(ctx context.Context, r core.ScriptRun, secrets map[string]string, res any, ae *protocol.ActionError) {
	mask := func(s string) string {
		keys := make([]string, 0, len(secrets))
		for _, v := range secrets {
			keys = append(keys, v)
		}
		sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
		for _, v := range keys {
			if v != "" {
				s = strings.ReplaceAll(s, v, protocol.ScriptMask)
			}
		}
		return s
	}
	now := d.s.now()
	r.FinishedAt = &now
	switch res := res.(type) {
	case *protocol.ScriptResult:
		code := res.ExitCode
		r.ExitCode = &code
		r.Stdout, r.Stderr, r.Truncated, r.TimedOut, r.DurationMS = mask(res.Stdout), mask(res.Stderr), res.Truncated, res.TimedOut, res.DurationMS
		r.State = core.RunDone
		if code != 0 || res.TimedOut {
			r.State = core.RunFailed
		}
	case *protocol.PackageResult:
		code := res.ExitCode
		r.ExitCode = &code
		r.Stdout, r.Stderr, r.Truncated, r.TimedOut, r.DurationMS = mask(res.Stdout), mask(res.Stderr), res.Truncated, res.TimedOut, res.DurationMS
		r.Meaning, r.RebootNeeded, r.SWState, r.SWVersion = res.Meaning, res.RebootNeeded, res.State, res.Version
		r.ErrorCode, r.Error = res.Code, core.Text{EN: mask(res.Message.EN), DE: mask(res.Message.DE)}
		switch res.Meaning {
		case core.ExitOK, core.ExitReboot:
			r.State = core.RunDone
		case core.ExitRetry:
			at := now.Add(retryAfter(r.Retries))
			if err := d.s.store.RetryScriptRun(context.WithoutCancel(ctx), r, at); err != nil {
				d.s.log.Error("requeueing a package run to retry", "run", r.ID, "err", err)
			}
			return
		default:
			r.State = core.RunFailed
		}
	default:
		r.State, r.ErrorCode = core.RunFailed, protocol.CodeFailed
		if ae != nil {
			r.ErrorCode = ae.Code
			if ae.Code == protocol.CodeInterrupted {
				r.State = core.RunInterrupted
			}
			r.Error = core.Text{EN: mask(ae.Message.EN), DE: mask(ae.Message.DE)}
		}
	}
	if err, _ := ask(context.WithoutCancel(ctx), d.finishes, r); err != nil {
		d.s.log.Error("storing a run's result", "run", r.ID, "err", err)
	}
}
