// Package backup is the "backup" check: it asks each configured or detected
// backup product for its recent jobs and decides whether backups succeed as
// the service provider expects (on which weekdays, how many jobs, whether
// "completed with warnings" counts, how old the last success may be).
//
// Each product instance gives two results. The continuous one, keyed
// "<product>" or "<product>:<name>", names the last successful and the last
// failed job (with the product's reason) and fails when the last success is
// too old, too few succeeded, or the newest job failed. The daily verdict,
// keyed "daily:<product key>", says whether the backup of the last expected
// day "succeeded", "failed" or is "missing": a backup day runs from
// daily_verdict_at (default 06:00, agent local time) to the same time the
// next day, so night jobs after midnight count for the evening before. The
// verdict is a pure function of the job history and the clock, so every run
// reports it again and it changes only at daily_verdict_at; schedule the
// check daily after that time (or 24x7) and the daily report and the
// technicians see one clear yes or no per backup day. A product that
// cannot be read says so in both results. The generic rule knows only the
// newest file, so it has no daily verdict.
//
// Supported: restic and borg repositories (their JSON output), a generic
// "newest file younger than N hours" rule, macOS Time Machine (tmutil
// listbackups), Windows Server Backup and Veeam (their job events, read
// through internal/platform/wevtapi), and Acronis Backup / Cyber Protect on
// Windows, Linux and macOS, best effort and labelled "Acronis (best
// effort)": its activities as its command-line tool acrocmd lists them
// (see acronis.go). Acronis without its tool is "not found", never a pass.
//
// Parameters; without "products" (or without any parameters) the check
// auto-detects Windows Server Backup, Veeam, Acronis (Windows, macOS) and
// Time Machine, and stays out of the default set on systems where nothing
// can be detected:
//
//	{
//	  "products": [
//	    {"type": "restic", "name": "nas", "repository": "sftp:backup@nas:/srv/restic", "password_file": "/etc/wacht/restic.pw"},
//	    {"type": "borg", "repository": "/mnt/backup/borg", "password_file": "/etc/wacht/borg.pw"},
//	    {"type": "generic", "name": "dump", "path": "D:\\SQL-Dumps", "max_age_hours": 8},
//	    {"type": "veeam", "warnings_ok": false},
//	    {"type": "acronis", "binary": "/usr/sbin/acrocmd"}
//	  ],
//	  "expected_days": ["mon", "tue", "wed", "thu", "fri"],
//	  "max_age_hours": 26,
//	  "min_successes": 1,
//	  "warnings_ok": true,
//	  "daily_verdict_at": "06:00"
//	}
//
// The last success may be max_age_hours old, not counting days outside
// expected_days; at least min_successes successes must fall in that
// window (and in each expected backup day for the daily verdict); a job
// that failed after the last success fails the check.
// Secrets are only read from files (or, for restic, an environment
// variable's name) and never appear in results.
package backup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Name is the check's registered name.
const Name = "backup"

func init() {
	check.Register(checkspec.Backup, func(raw json.RawMessage) (check.Check, error) {
		return newCheck(raw, osEnv())
	})
	check.AllowBuiltin(toolPaths...)
	check.AllowBuiltin(acrocmdPaths...)
	check.AllowBuiltin(osTools...)
}

// Product kinds.
const (
	Restic        = "restic"
	Borg          = "borg"
	Generic       = "generic"
	TimeMachine   = "timemachine"
	WindowsBackup = "windows_server_backup"
	Veeam         = "veeam"
	Acronis       = "acronis"
)

// outcome is how a job ended.
type outcome int

const (
	success outcome = iota
	warning         // completed with warnings
	failed
)

// job is one backup run as the product reports it.
type job struct {
	Name    string // job or archive name
	Time    time.Time
	Outcome outcome
	Reason  string // why it failed, when the product says
}

// ProductConfig is one product instance in the parameters. Secrets are
// given as file paths (or an environment variable's name), never inline.
type ProductConfig struct {
	Type string `json:"type"`
	Name string `json:"name,omitempty"` // distinguishes several instances

	// restic and borg
	Repository   string `json:"repository,omitempty"`
	PasswordFile string `json:"password_file,omitempty"` // restic password / borg passphrase file
	PasswordEnv  string `json:"password_env,omitempty"`  // restic: name of a variable in the agent's environment
	Binary       string `json:"binary,omitempty"`        // path to restic/borg; default from PATH

	// generic
	Path string `json:"path,omitempty"`

	// per-product overrides of the defaults below
	MaxAgeHours  *float64 `json:"max_age_hours,omitempty"`
	ExpectedDays []string `json:"expected_days,omitempty"`
	MinSuccesses *int     `json:"min_successes,omitempty"`
	WarningsOK   *bool    `json:"warnings_ok,omitempty"`
}

// key is the product instance's result key.
func (p ProductConfig) key() string {
	if p.Name != "" {
		return p.Type + ":" + p.Name
	}
	return p.Type
}

type params struct {
	Products     []ProductConfig `json:"products"`
	ExpectedDays []string        `json:"expected_days"` // "mon".."sun" (or German "mo".."so"); empty = every day
	MaxAgeHours  float64         `json:"max_age_hours"`
	MinSuccesses int             `json:"min_successes"`
	WarningsOK   *bool           `json:"warnings_ok"`
	// DailyVerdictAt ("HH:MM", agent local time) is when a backup day ends
	// and its verdict is due; default 06:00.
	DailyVerdictAt string `json:"daily_verdict_at"`
}

// rule is the verdict's settings for one product.
type rule struct {
	Expected   [7]bool // by time.Weekday
	MaxAge     time.Duration
	MinSuccess int
	WarningsOK bool
}

func newRule(days []string, maxAge float64, minSucc int, warnOK bool) (rule, error) {
	r := rule{MaxAge: time.Duration(maxAge * float64(time.Hour)), MinSuccess: minSucc, WarningsOK: warnOK}
	if maxAge <= 0 {
		return r, fmt.Errorf("max_age_hours must be positive, got %v", maxAge)
	}
	if minSucc < 1 {
		return r, fmt.Errorf("min_successes must be at least 1, got %d", minSucc)
	}
	if len(days) == 0 {
		for i := range r.Expected {
			r.Expected[i] = true
		}
	}
	for _, d := range days {
		wd, ok := checkspec.Weekday(d)
		if !ok {
			return r, fmt.Errorf("unknown weekday %q in expected_days (use mon, tue, wed, thu, fri, sat, sun)", d)
		}
		r.Expected[wd] = true
	}
	return r, nil
}

// env is the OS access of the check: where products are detected and how
// their state is read. Tests replace it.
type env struct {
	now    func() time.Time
	detect func(ctx context.Context) []ProductConfig // cheap auto-detection for nil params
	// readers by product type; a missing entry means "not on this OS".
	readers map[string]reader
}

// reader returns the recent jobs of one product instance.
type reader func(ctx context.Context, p ProductConfig, now time.Time) ([]job, error)

type backupCheck struct {
	p         params
	env       env
	rules     map[string]rule
	auto      bool
	verdictAt time.Duration // offset of DailyVerdictAt from midnight
}

func newCheck(raw json.RawMessage, e env) (*backupCheck, error) {
	c := &backupCheck{env: e, p: params{MaxAgeHours: 26, MinSuccesses: 1, DailyVerdictAt: "06:00"}}
	err := checkspec.Backup.Decode(raw, &c.p)
	if errors.Is(err, check.ErrNotConfigured) && e.detect != nil {
		c.auto = true
		return c, nil
	}
	if err != nil {
		// ErrNotConfigured: nothing on this OS can be found without being
		// told where (restic, borg and generic need a repository or path).
		return nil, err
	}
	if len(c.p.Products) == 0 && e.detect == nil {
		return nil, check.ErrNotConfigured
	}
	c.auto = len(c.p.Products) == 0
	return c, nil
}

// Init validates the parameters.
func (c *backupCheck) Init() error {
	c.rules = map[string]rule{}
	if _, err := c.ruleFor(ProductConfig{}); err != nil {
		return err
	}
	if c.p.DailyVerdictAt == "" {
		c.p.DailyVerdictAt = "06:00" // the declared default
	}
	at, err := parseVerdictAt(c.p.DailyVerdictAt)
	if err != nil {
		return err
	}
	c.verdictAt = at
	seen := map[string]bool{}
	for _, p := range c.p.Products {
		if err := validate(p); err != nil {
			return err
		}
		if seen[p.key()] {
			return fmt.Errorf("product %s listed twice; give each a distinct name", p.key())
		}
		seen[p.key()] = true
		if _, err := c.ruleFor(p); err != nil {
			return fmt.Errorf("product %s: %w", p.key(), err)
		}
	}
	return nil
}

func validate(p ProductConfig) error {
	switch p.Type {
	case Restic, Borg:
		if p.Repository == "" {
			return fmt.Errorf("product %s needs a repository", p.key())
		}
		if p.Type == Borg && p.PasswordEnv != "" {
			return fmt.Errorf("product %s: borg takes password_file, not password_env", p.key())
		}
	case Generic:
		if p.Path == "" {
			return fmt.Errorf("product %s needs a path", p.key())
		}
	case TimeMachine, WindowsBackup, Veeam, Acronis:
	case "":
		return errors.New("a product needs a type")
	default:
		return fmt.Errorf("unknown product type %q (supported: restic, borg, generic, timemachine, windows_server_backup, veeam, acronis)", p.Type)
	}
	return nil
}

func (c *backupCheck) ruleFor(p ProductConfig) (rule, error) {
	days, maxAge, minS := c.p.ExpectedDays, c.p.MaxAgeHours, c.p.MinSuccesses
	warnOK := c.p.WarningsOK == nil || *c.p.WarningsOK
	if p.ExpectedDays != nil {
		days = p.ExpectedDays
	}
	if p.MaxAgeHours != nil {
		maxAge = *p.MaxAgeHours
	}
	if p.MinSuccesses != nil {
		minS = *p.MinSuccesses
	}
	if p.WarningsOK != nil {
		warnOK = *p.WarningsOK
	}
	return newRule(days, maxAge, minS, warnOK)
}

// Run reads every product and reports its verdict.
func (c *backupCheck) Run(ctx context.Context, r check.Reporter) error {
	products := c.p.Products
	if c.auto {
		products = c.env.detect(ctx)
		if len(products) == 0 {
			r.Report(check.Result{Key: "none", Status: core.StatusWarning, Message: core.Text{
				EN: "No supported backup product found",
				DE: "Kein unterstütztes Backup-Produkt gefunden",
			}})
			return nil
		}
	}
	now := c.env.now()
	for _, p := range products {
		ru, err := c.ruleFor(p)
		if err != nil {
			return err
		}
		rd := c.env.readers[p.Type]
		if rd == nil {
			r.Report(check.Result{Key: p.key(), Status: core.StatusUnsupported, Message: core.Text{
				EN: fmt.Sprintf("%s is not supported on this operating system", label(p)),
				DE: fmt.Sprintf("%s wird auf diesem Betriebssystem nicht unterstützt", label(p)),
			}})
			continue
		}
		jobs, err := rd(ctx, p, now)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			st := core.StatusError
			if errors.Is(err, errors.ErrUnsupported) {
				st = core.StatusUnsupported
			}
			why := check.ErrorText(err)
			res := check.Result{Key: p.key(), Status: st, Message: core.Text{
				EN: fmt.Sprintf("%s could not be read: %s", label(p), why.EN),
				DE: fmt.Sprintf("%s konnte nicht gelesen werden: %s", label(p), why.DE),
			}}
			r.Report(res)
			if !latestOnly[p.Type] {
				// No earlier day's verdict stays standing unchecked.
				res.Key = DailyPrefix + p.key()
				r.Report(res)
			}
			continue
		}
		r.Report(evaluate(p, jobs, ru, now))
		if !latestOnly[p.Type] {
			r.Report(dailyVerdict(p, jobs, ru, now, c.verdictAt))
		}
	}
	return nil
}

// label names a product instance for messages.
func label(p ProductConfig) string {
	names := map[string]string{
		Restic: "restic", Borg: "Borg", Generic: "Backup folder", TimeMachine: "Time Machine",
		WindowsBackup: "Windows Server Backup", Veeam: "Veeam", Acronis: acronisLabel,
	}
	l := names[p.Type]
	if l == "" {
		l = p.Type
	}
	switch {
	case p.Name != "":
		return l + " " + p.Name
	case p.Repository != "":
		return l + " " + p.Repository
	case p.Path != "":
		return l + " " + p.Path
	}
	return l
}

// effectiveAge is how long ago t was, not counting the hours of days on
// which no backup is expected: a Friday night backup is still fresh on
// Monday morning when only weekdays are expected.
func effectiveAge(t, now time.Time, ru rule) time.Duration {
	if !t.Before(now) {
		return 0
	}
	var age time.Duration
	for cur := t; cur.Before(now); {
		y, m, d := cur.Date()
		next := time.Date(y, m, d+1, 0, 0, 0, 0, cur.Location())
		if next.After(now) {
			next = now
		}
		if ru.Expected[cur.Weekday()] {
			age += next.Sub(cur)
		}
		cur = next
	}
	return age
}

// evaluate turns a product's jobs into its result.
func evaluate(p ProductConfig, jobs []job, ru rule, now time.Time) check.Result {
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].Time.Before(jobs[j].Time) })
	ok := func(j job) bool { return j.Outcome == success || (j.Outcome == warning && ru.WarningsOK) }
	var lastOK, lastBad *job
	recent := 0
	for i := range jobs {
		j := &jobs[i]
		if ok(*j) {
			lastOK = j
			if effectiveAge(j.Time, now, ru) <= ru.MaxAge {
				recent++
			}
		} else {
			lastBad = j
		}
	}
	name := label(p)
	res := check.Result{Key: p.key(), Status: core.StatusOK}
	var en, de []string
	hoursAge := func(t time.Time) (string, string) { return msg.Num(now.Sub(t).Hours(), 1) }
	switch {
	case lastOK == nil:
		res.Status = core.StatusFailure
		en = append(en, fmt.Sprintf("%s: no successful backup found", name))
		de = append(de, fmt.Sprintf("%s: kein erfolgreiches Backup gefunden", name))
	default:
		age := now.Sub(lastOK.Time)
		res.Value, res.Unit = check.Float(age.Hours()), "h"
		hEN, hDE := hoursAge(lastOK.Time)
		en = append(en, fmt.Sprintf("%s: last successful backup %s (%s h ago)", name, fmtTime(lastOK.Time, false), hEN))
		de = append(de, fmt.Sprintf("%s: letztes erfolgreiches Backup %s (vor %s h)", name, fmtTime(lastOK.Time, true), hDE))
		if lastOK.Outcome == warning {
			en[len(en)-1] += " with warnings"
			de[len(de)-1] += " mit Warnungen"
		}
		if effectiveAge(lastOK.Time, now, ru) > ru.MaxAge {
			res.Status = core.StatusFailure
			mEN, mDE := msg.Num(ru.MaxAge.Hours(), 0)
			en = append(en, fmt.Sprintf("older than the allowed %s h", mEN))
			de = append(de, fmt.Sprintf("älter als die erlaubten %s h", mDE))
		} else if recent < ru.MinSuccess {
			res.Status = core.StatusFailure
			en = append(en, fmt.Sprintf("%d of %d expected successful jobs", recent, ru.MinSuccess))
			de = append(de, fmt.Sprintf("%d von %d erwarteten erfolgreichen Jobs", recent, ru.MinSuccess))
		}
	}
	if lastBad != nil {
		what, was := "failed", "fehlgeschlagen"
		if lastBad.Outcome == warning {
			what, was = "completed with warnings (not counted as success)", "mit Warnungen beendet (zählt nicht als Erfolg)"
		}
		jEN, jDE := "", ""
		if lastBad.Name != "" {
			jEN, jDE = " ("+lastBad.Name+")", " ("+lastBad.Name+")"
		}
		en = append(en, fmt.Sprintf("last failed job %s%s %s", fmtTime(lastBad.Time, false), jEN, what))
		de = append(de, fmt.Sprintf("letzter fehlgeschlagener Job %s%s %s", fmtTime(lastBad.Time, true), jDE, was))
		if lastBad.Reason != "" {
			en[len(en)-1] += ": " + lastBad.Reason
			de[len(de)-1] += ": " + lastBad.Reason
		}
		if lastOK == nil || lastBad.Time.After(lastOK.Time) {
			// The newest job failed: the next success is not certain.
			res.Status = core.StatusFailure
		}
	}
	res.Message = core.Text{EN: strings.Join(en, "; "), DE: strings.Join(de, "; ")}
	return res
}

// fmtTime formats a job time in the agent's local zone, German style for de.
func fmtTime(t time.Time, de bool) string {
	t = t.Local()
	if de {
		return t.Format("02.01.2006 15:04")
	}
	return t.Format("2006-01-02 15:04")
}
