package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// runCatalog holds the strings of a check run's progress; init merges it
// into catalog. run.running and run.late are fmt formats.
var runCatalog = map[string]map[string]string{
	langEN: {
		"run.running": "Running checks… %d of %d reported.",
		"run.done":    "The checks ran; the table shows their results.",
		"run.late":    "%d of %d checks reported so far; the others appear in the table when the agent sends them.",
	},
	langDE: {
		"run.running": "Prüfungen laufen … %d von %d gemeldet.",
		"run.done":    "Die Prüfungen sind gelaufen; die Tabelle zeigt ihre Ergebnisse.",
		"run.late":    "Bisher haben %d von %d Prüfungen gemeldet; die anderen erscheinen in der Tabelle, sobald der Agent sie sendet.",
	},
}

func init() {
	for lang, m := range runCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}

// runPollFor is how long the device page follows a check run: longer than
// the longest usual check (the cpu check's 10 s window, a slow website).
const runPollFor = 2 * time.Minute

// runProgress is the "running…" line of a check run started at Since with
// Checks checks; it polls itself while Polling.
type runProgress struct {
	Text    string
	Kind    string // ok, warning
	Polling bool
	Next    string // the poll's URL
}

// startedChecks is how many checks the agent's answer says it started (0
// for agents that answer after the run, {"results": n}) and when by the
// agent's clock (zero from agents before that).
func startedChecks(res protocol.CommandResult) protocol.RunChecksStarted {
	var s protocol.RunChecksStarted
	if json.Unmarshal(res.Output, &s) != nil {
		return protocol.RunChecksStarted{}
	}
	return s
}

// runProgressView counts the device's checks whose result is at or after
// since (the run's start by the agent's clock, whose results' times it
// compares with): done when all have, late runPollFor after started (the
// server's clock).
func runProgressView(l Lang, checks []checkView, id int64, since, started time.Time, n int, now time.Time) runProgress {
	reported := map[string]bool{}
	for _, c := range checks {
		if !c.At.Before(since) {
			reported[c.Name] = true
		}
	}
	got := min(len(reported), n)
	switch {
	case got >= n:
		return runProgress{Text: l.T("run.done"), Kind: "ok"}
	case now.Sub(started) > runPollFor:
		return runProgress{Text: fmt.Sprintf(l.T("run.late"), got, n), Kind: "warning"}
	}
	return runProgress{Text: fmt.Sprintf(l.T("run.running"), got, n), Kind: "ok", Polling: true,
		Next: fmt.Sprintf("/devices/%d/run-progress?since=%d&started=%d&checks=%d", id, since.UnixMilli(), started.UnixMilli(), n)}
}

// runProgressPartial answers the running line's poll, and tells the
// check table to refresh (HX-Trigger), so results show as they arrive.
func (s *server) runProgressPartial(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	since, err := strconv.ParseInt(q.Get("since"), 10, 64)
	if err != nil || since <= 0 {
		s.renderError(w, r, rc.lang, fmt.Errorf("since: %w", core.ErrInvalid))
		return
	}
	started := since // pages from before the agent's clock was used
	if v := q.Get("started"); v != "" {
		if started, err = strconv.ParseInt(v, 10, 64); err != nil || started <= 0 {
			s.renderError(w, r, rc.lang, fmt.Errorf("started: %w", core.ErrInvalid))
			return
		}
	}
	n, err := strconv.Atoi(q.Get("checks"))
	if err != nil || n < 1 || n > 10000 {
		s.renderError(w, r, rc.lang, fmt.Errorf("checks: %w", core.ErrInvalid))
		return
	}
	v, err := s.deviceView(r, rc)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v.Page = runProgressView(rc.lang, v.Checks, v.Device.ID, time.UnixMilli(since), time.UnixMilli(started), n, s.now())
	w.Header().Set("HX-Trigger", "checks-refresh")
	s.render(w, http.StatusOK, "run-progress", v)
}
