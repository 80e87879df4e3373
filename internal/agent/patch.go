package agent

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/patch"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/updates"
)

// PatchFile keeps the agent's patch state (issue 19): each source's last
// scan, the missing updates with their first sighting and failures, the
// install attempts of the last 90 days, the install in flight and the
// report the server has not acknowledged yet.
const PatchFile = "patches.json"

// Timing of patch management.
const (
	// patchRetry: a run skipped because another installer ran, the
	// connection is metered or the disk is full is tried again after
	// this, inside the window.
	patchRetry = 10 * time.Minute
	// The first wait after a report the server did not acknowledge,
	// doubling up to patchReportMax; a newer report replaces it.
	patchReportRetry = time.Minute
	patchReportMax   = 6 * time.Hour
	patchKeep        = 90 * 24 * time.Hour // attempts kept and resent
	// patchRebootAgain: a restart the agent started is not started again
	// before this passed (the OS may refuse or the machine may not go).
	patchRebootAgain = time.Hour
	// patchGoodbyeWait: a restart due while no session is up waits this
	// long for one to say goodbye on, then goes ahead.
	patchGoodbyeWait = 10 * time.Minute
	// patchScanTimeout bounds one scan of every source: a source that
	// hangs reports its error instead of stopping the schedule.
	patchScanTimeout = time.Hour
)

// Triggers of install attempts (core.PatchAttempt.Trigger).
const (
	TriggerSchedule = "schedule"
	TriggerManual   = "manual"
	TriggerResume   = "resume"
)

// Codes of skipped attempts.
const (
	codeBusy     = "busy"
	codeMetered  = "metered"
	codeDiskFull = "disk-full"
)

// patchState is patches.json.
type patchState struct {
	ScannedAt time.Time                `json:"scanned_at,omitzero"`
	Sources   []core.PatchSourceStatus `json:"sources,omitempty"`
	Missing   []core.MissingUpdate     `json:"missing,omitempty"`
	Attempts  []core.PatchAttempt      `json:"attempts,omitempty"`
	// Installing is the marker written before each install: the attempts
	// started and not finished. Found at a start, they were interrupted.
	Installing []core.PatchAttempt `json:"installing,omitempty"`
	// Resume lists keys whose install was interrupted: the next run in a
	// window retries them with Trigger "resume".
	Resume []string `json:"resume,omitempty"`
	// LastRun is the start of the last window the schedule ran in;
	// RetryAt a skipped run's retry, inside the window until RetryUntil.
	LastRun    time.Time        `json:"last_run,omitzero"`
	RetryAt    time.Time        `json:"retry_at,omitzero"`
	RetryUntil time.Time        `json:"retry_until,omitzero"`
	Reboot     core.RebootState `json:"reboot"`
	// A restart planned after installs: at RebootAt (the window's end, the
	// deadline of "ask"); the users were asked Asked times, next at AskAt.
	RebootAt time.Time `json:"reboot_at,omitzero"`
	AskAt    time.Time `json:"ask_at,omitzero"`
	Asked    int       `json:"asked,omitempty"`
	// RebootIssued is when the agent last started a restart.
	RebootIssued time.Time `json:"reboot_issued,omitzero"`
	// Report is the newest report the server has not acknowledged.
	Report *patchPending `json:"report,omitempty"`
}

// patchPending is a report waiting for its acknowledgement.
type patchPending struct {
	ID     string               `json:"id"`
	Report protocol.PatchReport `json:"report"`
}

// rebooter restarts the machine and tells its users; tests replace it,
// so that no test ever restarts anything.
type rebooter interface {
	// notify shows msg to the logged-on users.
	notify(ctx context.Context, msg core.Text) error
	// reboot restarts the machine in about a minute, telling the users msg.
	reboot(ctx context.Context, msg core.Text) error
}

// patcher is the agent's patch runtime.
type patcher struct {
	path    string // "" keeps the state in memory only
	log     *slog.Logger
	sources func() []updates.Source
	reboot  func(context.Context) core.RebootState
	boot    rebooter

	acks     chan protocol.Envelope // TypePatchAck, from the read loop
	kick     chan struct{}          // a scan is wanted or the policy changed
	sendKick chan struct{}          // a report is waiting or a session began

	run sync.Mutex // one scan or install at a time

	mu          sync.Mutex
	st          patchState
	installing  bool // an install runs: the install action answers busy
	scanWanted  bool
	noLinkSince time.Time // a restart is due and waits for a session
	failures    int       // reports unacknowledged in a row
	sendAt      time.Time // the next report attempt after a failure
}

func newPatcher(path string, log *slog.Logger, sources func() []updates.Source, reboot func(context.Context) core.RebootState, boot rebooter) *patcher {
	p := &patcher{path: path, log: log, sources: sources, reboot: reboot, boot: boot,
		acks: make(chan protocol.Envelope, 4), kick: make(chan struct{}, 1), sendKick: make(chan struct{}, 1)}
	p.st, _ = loadJSON[patchState](path, log, "the patch state", "scanning anew")
	return p
}

func patchPath(dir string) string { return filepath.Join(dir, PatchFile) }

func (p *patcher) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// wakeSend wakes the report sender.
func (p *patcher) wakeSend() {
	select {
	case p.sendKick <- struct{}{}:
	default:
	}
}

func (p *patcher) saveLocked() { saveJSON(p.path, p.st, p.log, "the patch state") }

// state returns a copy of the state.
func (p *patcher) state() patchState {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.st
	st.Missing = slices.Clone(st.Missing)
	st.Attempts = slices.Clone(st.Attempts)
	st.Sources = slices.Clone(st.Sources)
	return st
}

// recover records the attempts in flight when the agent stopped as
// interrupted, honestly, and marks their updates for a retry in the
// window. It returns how many there were.
func (p *patcher) recover(now time.Time, maxFailures int) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.st.Installing)
	if n == 0 {
		return 0
	}
	for _, a := range p.st.Installing {
		a.Result, a.FinishedAt = core.PatchInterrupted, now.UTC()
		a.Message = core.Text{
			EN: "The agent stopped during the installation (a restart, a crash or the service was stopped); it retries the update in the next install window.",
			DE: "Der Agent wurde während der Installation beendet (Neustart, Absturz oder der Dienst wurde gestoppt); er versucht das Update im nächsten Installationsfenster erneut.",
		}
		p.addAttemptLocked(a, now)
		p.failedLocked(a.Key, a.Message, maxFailures)
		if !slices.Contains(p.st.Resume, a.Key) {
			p.st.Resume = append(p.st.Resume, a.Key)
		}
	}
	p.st.Installing = nil
	p.newReportLocked()
	p.saveLocked()
	return n
}

// addAttemptLocked records a finished attempt and drops those older than
// 90 days and beyond protocol.MaxPatchAttempts (the oldest first).
func (p *patcher) addAttemptLocked(a core.PatchAttempt, now time.Time) {
	a.Title = truncate(a.Title, protocol.MaxPatchText-4)
	a.Message = core.Text{EN: truncate(a.Message.EN, protocol.MaxPatchText-4), DE: truncate(a.Message.DE, protocol.MaxPatchText-4)}
	p.st.Attempts = append(p.st.Attempts, a)
	p.st.Attempts = slices.DeleteFunc(p.st.Attempts, func(x core.PatchAttempt) bool { return now.Sub(x.StartedAt) > patchKeep })
	if over := len(p.st.Attempts) - protocol.MaxPatchAttempts; over > 0 {
		p.st.Attempts = slices.Delete(p.st.Attempts, 0, over)
	}
}

// failedLocked counts a failure of key's update; at maxFailures it is stuck.
func (p *patcher) failedLocked(key string, why core.Text, maxFailures int) {
	for i := range p.st.Missing {
		if u := &p.st.Missing[i]; u.Key == key {
			u.Failures++
			u.LastError = &why
			u.Stuck = u.Failures >= maxFailures
		}
	}
}

// newReportLocked makes the current state the report to send; it replaces
// one not yet acknowledged (each report is the whole state).
func (p *patcher) newReportLocked() {
	r := protocol.PatchReport{ScannedAt: p.st.ScannedAt, Sources: slices.Clone(p.st.Sources),
		Missing: slices.Clone(p.st.Missing), Attempts: slices.Clone(p.st.Attempts), Reboot: p.st.Reboot}
	if r.Sources == nil {
		r.Sources = []core.PatchSourceStatus{}
	}
	if r.Missing == nil {
		r.Missing = []core.MissingUpdate{}
	}
	if len(r.Missing) > protocol.MaxPatchUpdates {
		r.Missing = r.Missing[:protocol.MaxPatchUpdates]
	}
	if over := len(r.Attempts) - protocol.MaxPatchAttempts; over > 0 {
		r.Attempts = r.Attempts[over:]
	}
	p.st.Report = &patchPending{ID: uuid.NewString(), Report: r}
	p.failures, p.sendAt = 0, time.Time{}
	p.wakeSend()
}

// ScanUpdates scans every source but the disabled ones and returns each
// source's status and the missing updates, carrying FirstSeen, failures
// and the last error over from prev by key. A source's error is its
// status with the reason, never an empty list; ErrUnsupported makes it
// unsupported. `wacht-agent updates` uses it too.
func ScanUpdates(ctx context.Context, srcs []updates.Source, disabled []string, prev []core.MissingUpdate, maxFailures int, now time.Time) ([]core.PatchSourceStatus, []core.MissingUpdate) {
	old := make(map[string]core.MissingUpdate, len(prev))
	for _, u := range prev {
		old[u.Key] = u
	}
	var sts []core.PatchSourceStatus
	var missing []core.MissingUpdate
	seen := map[string]bool{}
	for _, s := range srcs {
		st := core.PatchSourceStatus{Source: s.Name(), ScannedAt: now.UTC()}
		if slices.Contains(disabled, s.Name()) {
			st.Status = core.ScanDisabled
			sts = append(sts, st)
			// A disabled source's updates are not watched any more.
			continue
		}
		us, err := s.Scan(ctx)
		if sv, ok := s.(updates.Serverer); ok && err == nil {
			st.Server = sv.Server() // the customer's WSUS, if group policy names one
		}
		switch {
		case errors.Is(err, errors.ErrUnsupported):
			st.Status = core.ScanUnsupported
			st.Message = localized(err)
		case err != nil:
			st.Status = core.ScanError
			t := localized(err)
			st.Message = core.Text{EN: truncate(t.EN, protocol.MaxPatchText-4), DE: truncate(t.DE, protocol.MaxPatchText-4)}
			// What this source missed before stays missing: a failed scan
			// says nothing about it.
			for _, u := range prev {
				if u.Source == s.Name() && !seen[u.Key] {
					seen[u.Key] = true
					missing = append(missing, u)
				}
			}
		default:
			st.Status = core.ScanOK
			for _, u := range us {
				u = patch.Enrich(u)
				if u.Source == "" {
					u.Source = s.Name()
				}
				if u.Key == "" {
					u.Key = core.UpdateKey(u.Source, u.ID, u.Version)
				}
				if seen[u.Key] || len(u.Key) > protocol.MaxPatchText || len(u.ID) > protocol.MaxPatchText {
					continue // the server would refuse the whole report
				}
				if len(u.URL) > protocol.MaxPatchText {
					u.URL = ""
				}
				seen[u.Key] = true
				if len(u.CVEs) > protocol.MaxPatchCVEs {
					u.CVEs = u.CVEs[:protocol.MaxPatchCVEs]
				}
				u.Title = truncate(u.Title, protocol.MaxPatchText-4)
				m := core.MissingUpdate{Update: u, FirstSeen: now.UTC()}
				if o, ok := old[u.Key]; ok {
					m.FirstSeen, m.Failures, m.LastError = o.FirstSeen, o.Failures, o.LastError
				}
				m.Stuck = maxFailures > 0 && m.Failures >= maxFailures
				missing = append(missing, m)
				st.Missing++
			}
		}
		sts = append(sts, st)
	}
	return sts, missing
}

// installOrder sorts updates as they are installed: by source in the
// order of the sources, then the most urgent classification and the
// highest severity first, then by title.
func installOrder(us []core.MissingUpdate, srcs []string) {
	rank := func(c string) int {
		if i := slices.Index(core.Classifications, c); i >= 0 {
			return i
		}
		return len(core.Classifications)
	}
	slices.SortStableFunc(us, func(a, b core.MissingUpdate) int {
		return cmp.Or(
			cmp.Compare(slices.Index(srcs, a.Source), slices.Index(srcs, b.Source)),
			cmp.Compare(rank(a.Classification), rank(b.Classification)),
			-cmp.Compare(core.SeverityRank(a.Severity), core.SeverityRank(b.Severity)),
			strings.Compare(a.Title, b.Title),
		)
	})
}

// skipReason says whether err stops an install for now without it being
// the updates' fault, and why.
func skipReason(err error) (code string, why core.Text, ok bool) {
	switch {
	case errors.Is(err, updates.ErrBusy):
		return codeBusy, core.Text{EN: "Not installed: another installation is running; retried in the window.",
			DE: "Nicht installiert: eine andere Installation läuft; erneuter Versuch im Fenster."}, true
	case errors.Is(err, updates.ErrMetered):
		return codeMetered, core.Text{EN: "Not installed: the network connection is metered; retried in the window.",
			DE: "Nicht installiert: die Netzwerkverbindung ist getaktet; erneuter Versuch im Fenster."}, true
	case errors.Is(err, updates.ErrDiskFull):
		return codeDiskFull, core.Text{EN: "Not installed: not enough free disk space; retried in the window.",
			DE: "Nicht installiert: nicht genug freier Speicherplatz; erneuter Versuch im Fenster."}, true
	}
	return "", core.Text{}, false
}

// installResult is what one install run did.
type installResult struct {
	installed, failed, skipped int
	rebootNeeded               bool
}

// install installs us (trigger per key: resume for interrupted ones),
// source by source, writing the in-flight marker before each source's
// run and recording every attempt as it ends. The caller holds p.run.
func (p *patcher) install(ctx context.Context, us []core.MissingUpdate, trigger string, maxFailures int, now func() time.Time) installResult {
	var res installResult
	srcs := map[string]updates.Source{}
	var order []string
	for _, s := range p.sources() {
		srcs[s.Name()] = s
		order = append(order, s.Name())
	}
	installOrder(us, order)
	for len(us) > 0 && ctx.Err() == nil {
		name := us[0].Source
		n := 1
		for n < len(us) && us[n].Source == name {
			n++
		}
		group := us[:n]
		us = us[n:]
		src := srcs[name]
		started := now().UTC()
		marker := make([]core.PatchAttempt, len(group))
		batch := make([]core.Update, len(group))
		p.mu.Lock()
		for i, u := range group {
			t := trigger
			if slices.Contains(p.st.Resume, u.Key) {
				t = TriggerResume
			}
			marker[i] = core.PatchAttempt{Key: u.Key, Source: u.Source, Title: u.Title, KB: u.KB, StartedAt: started, Trigger: t}
			batch[i] = u.Update
		}
		if src == nil {
			for _, a := range marker {
				why := core.Text{EN: "The source " + name + " is not available on this device any more.",
					DE: "Die Quelle " + name + " ist auf diesem Gerät nicht mehr verfügbar."}
				a.Result, a.FinishedAt, a.Message = core.PatchFailed, started, why
				p.addAttemptLocked(a, started)
				p.failedLocked(a.Key, why, maxFailures)
				res.failed++
			}
			p.saveLocked()
			p.mu.Unlock()
			continue
		}
		p.st.Installing = marker
		p.saveLocked()
		p.mu.Unlock()

		done := map[string]bool{}
		record := func(r updates.Result) {
			p.mu.Lock()
			defer p.mu.Unlock()
			i := slices.IndexFunc(p.st.Installing, func(a core.PatchAttempt) bool { return a.Key == r.Key })
			if i < 0 || done[r.Key] {
				return
			}
			done[r.Key] = true
			a := p.st.Installing[i]
			p.st.Installing = slices.Delete(p.st.Installing, i, i+1)
			a.FinishedAt, a.Code, a.Message, a.RebootNeeded = now().UTC(), r.Code, r.Message, r.RebootNeeded
			if r.OK {
				a.Result = core.PatchInstalled
				res.installed++
				p.st.Missing = slices.DeleteFunc(p.st.Missing, func(u core.MissingUpdate) bool { return u.Key == r.Key })
			} else {
				a.Result = core.PatchFailed
				res.failed++
				p.failedLocked(r.Key, r.Message, maxFailures)
			}
			res.rebootNeeded = res.rebootNeeded || r.RebootNeeded
			p.st.Resume = slices.DeleteFunc(p.st.Resume, func(k string) bool { return k == r.Key })
			p.addAttemptLocked(a, a.FinishedAt)
			p.saveLocked()
		}
		results, err := src.Install(ctx, batch, record)
		for _, r := range results {
			record(r)
		}
		if ctx.Err() != nil {
			// Stopping: the marker stays, and the next start records
			// these attempts as interrupted.
			return res
		}
		p.mu.Lock()
		left := p.st.Installing
		p.st.Installing = nil
		fin := now().UTC()
		for _, a := range left {
			a.FinishedAt = fin
			if code, why, ok := skipReason(err); ok {
				a.Result, a.Code, a.Message = core.PatchSkipped, code, why
				res.skipped++
				p.addAttemptLocked(a, fin)
				continue
			}
			why := core.Text{EN: "The source reported no result for this update.", DE: "Die Quelle meldete kein Ergebnis für dieses Update."}
			if err != nil {
				t := localized(err)
				why = core.Text{EN: "Installation failed: " + truncate(t.EN, protocol.MaxPatchText-40),
					DE: "Installation fehlgeschlagen: " + truncate(t.DE, protocol.MaxPatchText-40)}
			}
			a.Result, a.Message = core.PatchFailed, why
			res.failed++
			p.addAttemptLocked(a, fin)
			p.failedLocked(a.Key, why, maxFailures)
		}
		p.saveLocked()
		p.mu.Unlock()
	}
	return res
}

// candidates are the updates a scheduled run installs: approved by the
// policy and the technicians' decisions, and not stuck.
func (p *patcher) candidates(pol *protocol.PatchPolicy, eff core.PatchPolicy) []core.MissingUpdate {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []core.MissingUpdate
	for _, u := range p.st.Missing {
		if !u.Stuck && patch.Approved(patch.Approve(eff, pol.Decisions, u.Update)) {
			out = append(out, u)
		}
	}
	return out
}

// checkKeys splits keys into the missing updates to install and the
// refused ones with the reason: unknown to the last scan, or excluded by
// the policy.
func (p *patcher) checkKeys(keys []string, eff core.PatchPolicy) ([]core.MissingUpdate, map[string]core.Text) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var ok []core.MissingUpdate
	refused := map[string]core.Text{}
	for _, k := range keys {
		i := slices.IndexFunc(p.st.Missing, func(u core.MissingUpdate) bool { return u.Key == k })
		switch {
		case i < 0:
			refused[k] = core.Text{EN: "The last scan did not find this update missing on this device.",
				DE: "Die letzte Suche fand dieses Update auf diesem Gerät nicht als fehlend."}
		case patch.Excluded(eff.Exclusions, p.st.Missing[i].Update):
			refused[k] = core.Text{EN: "The device's patch policy excludes this update.",
				DE: "Die Patch-Richtlinie des Geräts schließt dieses Update aus."}
		case slices.ContainsFunc(ok, func(u core.MissingUpdate) bool { return u.Key == k }):
		default:
			ok = append(ok, p.st.Missing[i])
		}
	}
	return ok, refused
}

// scan scans now and keeps the outcome, with the restart state.
func (p *patcher) scan(ctx context.Context, eff core.PatchPolicy, now time.Time) {
	prev := p.state()
	sctx, cancel := context.WithTimeout(ctx, patchScanTimeout)
	defer cancel()
	sts, missing := ScanUpdates(sctx, p.sources(), eff.DisabledSources, prev.Missing, eff.MaxFailures, now)
	rs := p.reboot(sctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st.ScannedAt, p.st.Sources, p.st.Missing = now.UTC(), sts, missing
	p.setRebootLocked(rs, now)
	p.newReportLocked()
	p.saveLocked()
}

// setRebootLocked keeps the OS's restart state, with the earliest time the
// agent knew it pending.
func (p *patcher) setRebootLocked(rs core.RebootState, now time.Time) {
	if rs.Pending {
		since := p.st.Reboot.Since
		if !p.st.Reboot.Pending || since.IsZero() {
			since = cmp.Or(rs.Since, now.UTC())
		}
		if !rs.Since.IsZero() && rs.Since.Before(since) {
			since = rs.Since
		}
		rs.Since = since
	} else {
		rs.Since = time.Time{}
		p.st.RebootAt, p.st.AskAt, p.st.Asked = time.Time{}, time.Time{}, 0
	}
	p.st.Reboot = rs
}

// ack takes the acknowledgement of report id.
func (p *patcher) acked(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st.Report != nil && p.st.Report.ID == id {
		p.st.Report = nil
		p.saveLocked()
	}
	p.failures, p.sendAt = 0, time.Time{}
}

// unanswered schedules the next attempt of the waiting report.
func (p *patcher) unanswered(now time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.failures++
	p.sendAt = now.Add(backoff(p.failures, patchReportRetry, patchReportMax))
	return p.sendAt
}

// pending returns the report to send at now, or when to look again.
func (p *patcher) pending(now time.Time) (*patchPending, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st.Report == nil {
		return nil, time.Time{}
	}
	if now.Before(p.sendAt) {
		return nil, p.sendAt
	}
	r := *p.st.Report
	return &r, time.Time{}
}

// tryBegin marks an install as running; false if one runs already.
func (p *patcher) tryBegin() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.installing {
		return false
	}
	p.installing = true
	return true
}

func (p *patcher) end() {
	p.mu.Lock()
	p.installing = false
	p.mu.Unlock()
}

// deferLocked counts one deferral of an "ask" restart (a notice, or a
// user's "later" in the tray) and plans the next reminder, the ones left
// spread evenly up to the deadline; after the last none is planned.
func (p *patcher) deferLocked(now time.Time, deferrals int) {
	asked := p.st.Asked
	p.st.Asked++
	if deferrals-asked <= 0 {
		p.st.AskAt = time.Time{} // no reminder left: the deadline forces it
	} else {
		p.st.AskAt = now.Add(p.st.RebootAt.Sub(now) / time.Duration(deferrals-asked+1)).UTC()
	}
	p.saveLocked()
}
