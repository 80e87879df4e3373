package agent

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// SoftwareFile keeps each desired software state's enforcement: its
// back-off after failed attempts and the attempt in flight, so that a
// restart neither resets the back-off nor runs an attempt twice.
const SoftwareFile = "software.json"

// Back-off of the desired software state: after a failed attempt the next
// waits swBackoff, doubling with each further failure up to swBackoffMax;
// an installer that says another installation runs (core.ExitRetry) is
// tried again after swRetry without growing the back-off.
const (
	swBackoff    = 15 * time.Minute
	swBackoffMax = 24 * time.Hour
	swRetry      = 10 * time.Minute
	swEvery      = time.Hour // how often each entry is checked
)

// swRecord is the persisted state of one entry (by check name).
type swRecord struct {
	// Hash identifies the entry's definition: a changed one (a new
	// package version, another state) starts afresh.
	Hash string `json:"hash"`
	// Failures counts the failed attempts since the entry was last in
	// its state or changed; NextAttempt is when the next may start.
	Failures    int       `json:"failures,omitempty"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// Why is the last failed attempt's reason, for the results while the
	// entry waits.
	Why *core.Text `json:"why,omitempty"`
	// Pending is the run ID of the attempt started and not finished:
	// after a restart the journal tells what became of it.
	Pending string `json:"pending,omitempty"`
	// LastRun is the last attempt's run ID time: each attempt gets a
	// later second, so that two attempts never share a run ID. It
	// survives a changed definition.
	LastRun time.Time `json:"last_run,omitzero"`
	// Reboot is when the host had booted when an attempt ended with
	// "restart needed": the entry warns until the host has restarted.
	Reboot time.Time `json:"reboot,omitzero"`
}

// swState keeps the records and which entries have an attempt running in
// this process. The clock is passed in.
type swState struct {
	path string // "" keeps the records in memory only
	log  *slog.Logger

	mu      sync.Mutex
	recs    map[string]*swRecord
	running map[string]bool
}

func newSwState(path string, log *slog.Logger) *swState {
	return &swState{path: path, log: log, running: map[string]bool{},
		recs: loadRecords[swRecord](path, log, "the desired software state", "back-offs start anew")}
}

func softwarePath(dir string) string { return filepath.Join(dir, SoftwareFile) }

// swHash identifies e's definition. The download ticket is left out: the
// server issues a new one with each policy it signs.
func swHash(e protocol.Software) string {
	if e.Package.File != nil {
		f := *e.Package.File
		f.Ticket = ""
		e.Package.File = &f
	}
	b, _ := json.Marshal(e)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// backoff is the wait after the failures-th failed attempt in a row.
func backoff(failures int, first, max time.Duration) time.Duration {
	d := first
	for i := 1; i < failures && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// recordLocked returns e's record, started afresh when e changed.
func (s *swState) recordLocked(e protocol.Software) *swRecord {
	r := s.recs[e.Check]
	if r == nil {
		r = &swRecord{}
		s.recs[e.Check] = r
	}
	if h := swHash(e); r.Hash != h {
		*r = swRecord{Hash: h, Pending: r.Pending, LastRun: r.LastRun}
		s.saveLocked()
	}
	return r
}

// get returns a copy of e's record.
func (s *swState) get(e protocol.Software) swRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return *s.recordLocked(e)
}

// claim marks e as being checked; false if it is already.
func (s *swState) claim(check string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[check] {
		return false
	}
	s.running[check] = true
	return true
}

// release ends claim.
func (s *swState) release(check string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.running, check)
}

// begin names an attempt for e at now and records it as pending before
// anything runs.
func (s *swState) begin(e protocol.Software, now time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recordLocked(e)
	at := now.UTC().Truncate(time.Second)
	if !at.After(r.LastRun) {
		at = r.LastRun.Add(time.Second)
	}
	r.LastRun = at
	r.Pending = protocol.TaskRunID(e.Check, "sw", at)
	s.saveLocked()
	return r.Pending
}

// swOutcome is how an attempt (or an evaluation) ended for the back-off.
type swOutcome int

const (
	swDone   swOutcome = iota // in the wanted state
	swFailed                  // failed: back off
	swBusy                    // another installation ran: retry soon
)

// end records the outcome of e's attempt (or evaluation) at now and
// returns the record: a failure backs off, "busy" waits retry, done
// clears the back-off. reboot, if not zero, is the boot time of a host
// that needs a restart.
func (s *swState) end(e protocol.Software, o swOutcome, why core.Text, now, reboot time.Time, first, retry time.Duration) swRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.recordLocked(e)
	r.Pending = ""
	switch o {
	case swDone:
		r.Failures, r.NextAttempt, r.Why = 0, time.Time{}, nil
		if !reboot.IsZero() {
			r.Reboot = reboot
		}
	case swFailed:
		r.Failures++
		r.NextAttempt, r.Why = now.Add(backoff(r.Failures, first, swBackoffMax)), &why
	case swBusy:
		r.NextAttempt, r.Why = now.Add(retry), &why
	}
	s.saveLocked()
	return *r
}

// rebooted clears e's pending restart.
func (s *swState) rebooted(e protocol.Software) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.recordLocked(e); !r.Reboot.IsZero() {
		r.Reboot = time.Time{}
		s.saveLocked()
	}
}

// settle drops e's pending attempt when nothing ran for it.
func (s *swState) settle(check string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.recs[check]; r != nil && r.Pending != "" {
		r.Pending = ""
		s.saveLocked()
	}
}

// pending returns the attempts in flight when the agent stopped, by
// check name.
func (s *swState) pending() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for c, r := range s.recs {
		if r.Pending != "" {
			out[c] = r.Pending
		}
	}
	return out
}

// forget drops the records of entries no longer in the policy, except an
// attempt still pending (its outcome is settled at the next start).
func (s *swState) forget(entries []protocol.Software) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c, r := range s.recs {
		if r.Pending == "" && !slices.ContainsFunc(entries, func(e protocol.Software) bool { return e.Check == c }) {
			delete(s.recs, c)
		}
	}
	s.saveLocked()
}

func (s *swState) saveLocked() { saveRecords(s.path, s.recs, s.log, "the desired software state") }
