// Package logins is the "logins" check: failed log-ins within a sliding
// window. It reads sshd and sshd-session (OpenSSH ≥ 9.8), PAM, su and sudo
// failures from the systemd journal or auth.log/secure, authentication
// failures from the macOS unified log, and Windows Security events 4625
// (failed log-on) and 4740 (account locked out). Where Windows does not
// audit failed log-ons the check says so instead of reporting zero.
//
// The value is the number of failures within the window (default 15
// minutes); 10 warn and 30 fail by default, and any account lock-out warns.
// The message names the top accounts and source addresses; the result's
// structured data (protocol.Logins) lists every account and address. Bookmarks and
// the failures still inside the window live in the check state directory,
// so restarts neither double-count nor forget.
package logins

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Name is the check's registered name.
const Name = "logins"

func init() {
	check.Register(checkspec.Logins, func(raw json.RawMessage) (check.Check, error) {
		return newCheck(raw, osSources, osAudit)
	})
}

type params struct {
	// Source forces a Linux log source: "journal" or "files".
	Source string `json:"source,omitempty"`
	// Files are auth log files (default /var/log/auth.log,
	// /var/log/secure), or a daemon's own log (sshd -E).
	Files []string `json:"files,omitempty"`
	// Window is the span failures are counted over (default 15m).
	Window logsrc.Duration `json:"window,omitempty"`
	// Warn and Fail are failure counts within the window (default 10, 30).
	Warn float64 `json:"warn,omitempty"`
	Fail float64 `json:"fail,omitempty"`
	// Top is how many accounts and addresses the message names (default 5).
	Top int `json:"top,omitempty"`
}

const (
	stateFile = "logins.json"
	// maxKept bounds the failures kept for the window (a brute-force run
	// logs thousands a minute); beyond it the oldest are dropped.
	maxKept = 20000
)

var defaultFiles = []string{"/var/log/auth.log", "/var/log/secure"}

type sourcesFunc func(p params) ([]logsrc.Source, error)

// auditFunc reports whether failed log-ons are audited; nil where the OS
// always logs them.
type auditFunc func(ctx context.Context) (bool, error)

type loginCheck struct {
	p       params
	sources sourcesFunc
	audit   auditFunc
	now     func() time.Time
}

func newCheck(raw json.RawMessage, sources sourcesFunc, audit auditFunc) (*loginCheck, error) {
	// Each parameter left out takes its declared default on its own, so
	// that {"warn": 5} means warn 5 and fail 30 as the declaration says.
	c := &loginCheck{sources: sources, audit: audit, now: time.Now,
		p: params{Window: logsrc.Duration(15 * time.Minute), Warn: 10, Fail: 30, Top: 5}}
	if err := checkspec.Logins.Decode(raw, &c.p); err != nil && !errors.Is(err, check.ErrNotConfigured) {
		return nil, err // without parameters the defaults stand
	}
	return c, nil
}

func (c *loginCheck) Init() error {
	switch c.p.Source {
	case "", "journal", "files":
	default:
		return fmt.Errorf("source %q: want journal or files", c.p.Source)
	}
	if c.p.Window < logsrc.Duration(time.Minute) {
		return errors.New("window must be at least one minute")
	}
	if c.p.Warn < 1 || c.p.Fail < 1 || c.p.Top < 1 {
		return errors.New("warn, fail and top must be at least 1")
	}
	if c.p.Warn > c.p.Fail {
		return fmt.Errorf("warning threshold %v is above failure threshold %v", c.p.Warn, c.p.Fail)
	}
	return nil
}

type state struct {
	Bookmarks logsrc.Bookmarks `json:"bookmarks"`
	Recent    []failure        `json:"recent,omitempty"`
}

func (c *loginCheck) Run(ctx context.Context, r check.Reporter) error {
	srcs, err := c.sources(c.p)
	if nse := (*logsrc.NoSourceError)(nil); errors.As(err, &nse) {
		r.Report(check.Result{Status: core.StatusUnsupported, Message: core.Text{
			EN: "Failed log-ins cannot be read here: " + nse.EN(),
			DE: "Fehlgeschlagene Anmeldungen können hier nicht gelesen werden: " + nse.DE(),
		}})
		return nil
	}
	if err != nil {
		return err
	}
	if c.audit != nil {
		on, err := c.audit(ctx)
		if err != nil {
			return msg.Wrap("reading the audit policy", "Lesen der Überwachungsrichtlinie", err)
		}
		if !on {
			r.Report(check.Result{Status: core.StatusWarning, Message: core.Text{
				EN: "Auditing of failed log-ins is off, so failed log-ins cannot be counted (enable “Audit Logon: Failure” in the audit policy)",
				DE: "Die Überwachung fehlgeschlagener Anmeldungen ist aus, daher können sie nicht gezählt werden (in der Überwachungsrichtlinie „Anmelden: Fehler“ aktivieren)",
			}})
			return nil
		}
	}
	dir, err := check.StateDir()
	if err != nil {
		return err
	}
	path := filepath.Join(dir, stateFile)
	var st state
	if err := logsrc.LoadState(path, &st); err != nil {
		return err
	}
	now := c.now()
	window := time.Duration(c.p.Window)
	entries, bms, err := logsrc.ReadAll(ctx, srcs, st.Bookmarks, now.Add(-window))
	if err != nil {
		return err
	}
	recent := prune(append(st.Recent, parseFailures(entries)...), now.Add(-window))
	r.Report(c.result(recent))
	for name, b := range st.Bookmarks {
		if _, ok := bms[name]; !ok {
			bms[name] = b
		}
	}
	return logsrc.SaveState(path, state{Bookmarks: bms, Recent: recent})
}

// prune keeps the failures after cutoff, newest maxKept, in time order.
func prune(fs []failure, cutoff time.Time) []failure {
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Time.Before(fs[j].Time) })
	i := sort.Search(len(fs), func(i int) bool { return fs[i].Time.After(cutoff) })
	fs = fs[i:]
	if len(fs) > maxKept {
		fs = fs[len(fs)-maxKept:]
	}
	return fs
}

func (c *loginCheck) result(recent []failure) check.Result {
	var n, locks int
	users, addrs, locked := map[string]int{}, map[string]int{}, map[string]int{}
	for _, f := range recent {
		if f.Lockout {
			locks++
			locked[f.User]++
			continue
		}
		n++
		if f.User != "" {
			users[f.User]++
		}
		if f.Addr != "" {
			addrs[f.Addr]++
		}
	}
	st := core.StatusOK
	switch {
	case float64(n) >= c.p.Fail:
		st = core.StatusFailure
	case float64(n) >= c.p.Warn || locks > 0:
		st = core.StatusWarning
	}
	win := time.Duration(c.p.Window)
	wen, wde := windowText(win)
	nen, nde := msg.Num(float64(n), 0)
	var en, de string
	switch n {
	case 0:
		en, de = "No failed log-ins in the last "+wen, "Keine fehlgeschlagenen Anmeldungen in den letzten "+wde
	case 1:
		en, de = "1 failed log-in in the last "+wen, "1 fehlgeschlagene Anmeldung in den letzten "+wde
	default:
		en, de = nen+" failed log-ins in the last "+wen, nde+" fehlgeschlagene Anmeldungen in den letzten "+wde
	}
	warnEN, warnDE := msg.Num(c.p.Warn, 0)
	failEN, failDE := msg.Num(c.p.Fail, 0)
	en += fmt.Sprintf(" (warning from %s, failure from %s)", warnEN, failEN)
	de += fmt.Sprintf(" (Warnung ab %s, Fehler ab %s)", warnDE, failDE)
	if len(users) > 0 {
		en += ". Top accounts: " + top(users, c.p.Top)
		de += ". Häufigste Konten: " + top(users, c.p.Top)
	}
	if len(addrs) > 0 {
		en += ". Top sources: " + top(addrs, c.p.Top)
		de += ". Häufigste Quellen: " + top(addrs, c.p.Top)
	}
	if locks > 0 {
		en += ". Locked-out accounts: " + top(locked, c.p.Top)
		de += ". Gesperrte Konten: " + top(locked, c.p.Top)
	}
	return check.Result{Status: st, Value: check.Float(float64(n)), Unit: "failures", Message: core.Text{EN: en, DE: de},
		Data: loginData(n, win, recent)}
}

// loginData is the failures as the result's structured data
// (protocol.Logins): one entry per account and address, lock-outs first,
// then most failures first; times in the agent's zone. It cannot fail to
// encode; should it, the result goes without (the message stays).
func loginData(n int, window time.Duration, recent []failure) json.RawMessage {
	type key struct {
		user, addr string
		lock       bool
	}
	idx := map[key]int{}
	d := protocol.Logins{WindowSeconds: int(window / time.Second), Total: n}
	for _, f := range recent {
		k := key{f.User, f.Addr, f.Lockout}
		at := f.Time.In(time.Local)
		i, ok := idx[k]
		if !ok {
			idx[k] = len(d.Logins)
			d.Logins = append(d.Logins, protocol.Login{Account: f.User, Address: f.Addr, First: at, Last: at, LockedOut: f.Lockout})
			i = len(d.Logins) - 1
		}
		l := &d.Logins[i]
		l.Count++
		if at.Before(l.First) {
			l.First = at
		}
		if at.After(l.Last) {
			l.Last = at
		}
	}
	sort.SliceStable(d.Logins, func(i, j int) bool {
		a, b := d.Logins[i], d.Logins[j]
		switch {
		case a.LockedOut != b.LockedOut:
			return a.LockedOut // few and grave: never cut off
		case a.Count != b.Count:
			return a.Count > b.Count
		case a.Account != b.Account:
			return a.Account < b.Account
		}
		return a.Address < b.Address
	})
	b, err := protocol.EncodeLogins(d)
	if err != nil {
		return nil
	}
	return b
}

// top lists the k most frequent keys as "root (7), admin (3)", ties by name.
func top(m map[string]int, k int) string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > k {
		keys = keys[:k]
	}
	parts := make([]string, len(keys))
	for i, key := range keys {
		name := key
		if name == "" {
			name = "?"
		}
		parts[i] = fmt.Sprintf("%s (%d)", name, m[key])
	}
	return strings.Join(parts, ", ")
}

func windowText(d time.Duration) (en, de string) {
	if d%time.Hour == 0 {
		h := int(d / time.Hour)
		if h == 1 {
			return "hour", "Stunde"
		}
		return fmt.Sprintf("%d hours", h), fmt.Sprintf("%d Stunden", h)
	}
	m := int(d / time.Minute)
	return fmt.Sprintf("%d minutes", m), fmt.Sprintf("%d Minuten", m)
}

// fileSources reads the configured or default auth log files that exist.
func fileSources(p params) ([]logsrc.Source, error) {
	return logsrc.FileSources(p.Files, defaultFiles)
}

// linuxSources picks the journal's auth and authpriv facilities when
// journald runs (or when asked to), else the auth log files.
func linuxSources(p params, journald bool, run logsrc.Runner) ([]logsrc.Source, error) {
	// Matches on one field are ORed by journalctl.
	return logsrc.LinuxSources(p.Source, p.Files, defaultFiles, journald, run, "SYSLOG_FACILITY=4", "SYSLOG_FACILITY=10")
}
