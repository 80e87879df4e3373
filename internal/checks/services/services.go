// Package services is the "services" check: either every service set to
// start automatically is running (mode "auto", with an exclusion list for
// services that are automatic yet stop by design), or the named services are
// running (mode "named"). Stopped services can be restarted automatically
// within limits (in a row and per 24 h), with counters kept in the check
// state folder; each restart is reported.
//
// The service managers (the Windows service control manager, systemd over
// D-Bus, SysV init scripts where there is no systemd, launchd on macOS)
// are internal/platform/svcmgr's.
package services

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/svcmgr"
)

// Name is the check's registered name.
const Name = "services"

// stateFile keeps the restart counters in the state folder.
const stateFile = "services-restarts.json"

func init() {
	check.Register(checkspec.Services, func(params json.RawMessage) (check.Check, error) {
		return newCheck(params, newManager, time.Now)
	})
}

func newManager(ctx context.Context) (manager, error) { return svcmgr.New(ctx) }

// service is one service as the manager reports it.
type service = svcmgr.Service

// manager is the part of svcmgr.Manager the check needs.
type manager interface {
	// List returns every service the manager knows.
	List(ctx context.Context) ([]service, error)
	// Start starts a stopped service and returns once the manager reports
	// the start done (or failed).
	Start(ctx context.Context, name string) error
	// Close releases the manager's connection.
	Close() error
}

// params are the check's JSON parameters.
type params struct {
	Mode     string   `json:"mode"`     // "auto" (default) or "named"
	Services []string `json:"services"` // mode named: the services that must run
	// Exclude lists services (patterns with * and ?, case-insensitive) that
	// mode auto leaves out, on top of the built-in list unless
	// NoDefaultExclude is set.
	Exclude          []string `json:"exclude"`
	NoDefaultExclude bool     `json:"no_default_exclude"`
	Restart          bool     `json:"restart"`
	MaxInRow         *int     `json:"max_restarts_in_row"`
	MaxPerDay        *int     `json:"max_restarts_per_day"`
}

type svcCheck struct {
	p          params
	maxInRow   int
	maxPerDay  int
	newManager func(ctx context.Context) (manager, error)
	now        func() time.Time
}

func newCheck(raw json.RawMessage, nm func(ctx context.Context) (manager, error), now func() time.Time) (*svcCheck, error) {
	c := &svcCheck{p: params{Mode: "auto"}, newManager: nm, now: now, maxInRow: 2, maxPerDay: 4}
	if err := checkspec.Services.Decode(raw, &c.p); err != nil && !errors.Is(err, check.ErrNotConfigured) {
		return nil, err // without parameters the defaults stand
	}
	if c.p.MaxInRow != nil {
		c.maxInRow = *c.p.MaxInRow
	}
	if c.p.MaxPerDay != nil {
		c.maxPerDay = *c.p.MaxPerDay
	}
	return c, nil
}

func (c *svcCheck) Init() error {
	switch c.p.Mode {
	case "", "auto": // "" takes the default, as the declaration says
	case "named":
		if len(c.p.Services) == 0 {
			return errors.New(`mode "named" needs a list of services`)
		}
	default:
		return fmt.Errorf("unknown mode %q (want auto or named)", c.p.Mode)
	}
	if c.maxInRow < 0 || c.maxPerDay < 0 {
		return errors.New("restart limits must not be negative")
	}
	for _, p := range c.p.Exclude {
		if _, err := filepath.Match(p, ""); err != nil {
			return fmt.Errorf("exclude pattern %q: %w", p, err)
		}
	}
	return nil
}

// excluded reports whether name matches one of the patterns.
func excluded(name string, patterns []string) bool {
	n := strings.ToLower(name)
	for _, p := range patterns {
		if ok, _ := filepath.Match(strings.ToLower(p), n); ok {
			return true
		}
	}
	return false
}

// targets picks the services the check watches and the named ones missing.
func (c *svcCheck) targets(all []service) (ts []service, missing []string) {
	if c.p.Mode == "named" {
		for _, n := range c.p.Services {
			found := false
			for _, s := range all {
				if strings.EqualFold(s.Name, n) || strings.EqualFold(s.Name, n+".service") {
					ts = append(ts, s)
					found = true
					break
				}
			}
			if !found {
				missing = append(missing, n)
			}
		}
		return ts, missing
	}
	ex := c.p.Exclude
	if !c.p.NoDefaultExclude {
		ex = append(append([]string(nil), ex...), defaultExclude...)
	}
	for _, s := range all {
		// An unreadable service may be an automatic one: watched unless
		// excluded by name.
		if (s.Auto || s.Err != "") && !excluded(s.Name, ex) {
			ts = append(ts, s)
		}
	}
	sort.Slice(ts, func(i, j int) bool { return strings.ToLower(ts[i].Name) < strings.ToLower(ts[j].Name) })
	return ts, nil
}

// counter is one service's restart history.
type counter struct {
	InRow int     `json:"in_row"`
	Times []int64 `json:"times"` // Unix seconds of restarts in the last 24 h
}

func loadCounters(path string) map[string]*counter {
	m := map[string]*counter{}
	b, err := os.ReadFile(path)
	if err != nil {
		return m
	}
	if json.Unmarshal(b, &m) != nil || m == nil {
		// A torn file only loses restart counts; start over.
		return map[string]*counter{}
	}
	return m
}

func saveCounters(path string, m map[string]*counter) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encoding restart counters: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("writing restart counters: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing restart counters: %w", err)
	}
	return nil
}

func (c *svcCheck) Run(ctx context.Context, r check.Reporter) error {
	m, err := c.newManager(ctx)
	if err != nil {
		return err
	}
	defer m.Close()
	all, err := m.List(ctx)
	if err != nil {
		return msg.Wrap("listing services", "Auflisten der Dienste", err)
	}
	ts, missing := c.targets(all)
	if len(ts) == 0 && len(missing) == 0 {
		r.Report(c.nothingToWatch(all))
		return nil
	}

	var notes []note
	if c.p.Restart {
		dir, err := check.StateDir()
		if err != nil {
			return fmt.Errorf("restarting services needs a state folder: %w", err)
		}
		path := filepath.Join(dir, stateFile)
		counters := loadCounters(path)
		var restarted bool
		notes, restarted = c.restart(ctx, m, ts, counters)
		if err := saveCounters(path, counters); err != nil {
			return err
		}
		if restarted {
			if all, err = m.List(ctx); err != nil {
				return msg.Wrap("listing services after restart", "Auflisten der Dienste nach dem Neustart", err)
			}
			ts, missing = c.targets(all)
		}
	}
	r.Report(summarize(c.p.Mode, ts, missing, notes))
	return nil
}

// nothingToWatch words a mode "auto" check that found no service to watch.
// Only the policy's own exclusions make that a clean result; an empty list
// from the service manager, or no automatic service at all, means the
// check could not look at anything, which is unknown, never OK.
func (c *svcCheck) nothingToWatch(all []service) check.Result {
	auto, byPolicy := 0, 0
	for _, s := range all {
		if s.Auto {
			auto++
			if excluded(s.Name, c.p.Exclude) {
				byPolicy++
			}
		}
	}
	switch {
	case len(all) == 0:
		return check.Result{Status: core.StatusUnknown, Unit: "services", Message: core.Text{
			EN: "No services found to watch: the service manager listed no services",
			DE: "Keine Dienste zum Überwachen gefunden: die Dienstverwaltung hat keine Dienste aufgelistet",
		}}
	case byPolicy > 0:
		return check.Result{Status: core.StatusOK, Value: check.Float(0), Unit: "services", Message: core.Text{
			EN: fmt.Sprintf("No automatic services to watch: the policy excludes all %d", auto),
			DE: fmt.Sprintf("Keine automatischen Dienste zu überwachen: die Richtlinie schließt alle %d aus", auto),
		}}
	case auto > 0:
		return check.Result{Status: core.StatusUnknown, Unit: "services", Message: core.Text{
			EN: fmt.Sprintf("No services found to watch: all %d automatic services are on the built-in exclusion list", auto),
			DE: fmt.Sprintf("Keine Dienste zum Überwachen gefunden: alle %d automatischen Dienste stehen auf der eingebauten Ausschlussliste", auto),
		}}
	}
	return check.Result{Status: core.StatusUnknown, Unit: "services", Message: core.Text{
		EN: fmt.Sprintf("No services found to watch: none of the %d services the service manager listed starts automatically", len(all)),
		DE: fmt.Sprintf("Keine Dienste zum Überwachen gefunden: keiner der %d Dienste, die die Dienstverwaltung aufgelistet hat, startet automatisch", len(all)),
	}}
}

// note is one restart outcome, worded.
type note struct {
	name   string
	en, de string
}

// restart starts stopped targets within the limits and updates counters.
// A running target resets its in-a-row count.
func (c *svcCheck) restart(ctx context.Context, m manager, ts []service, counters map[string]*counter) (notes []note, any bool) {
	now := c.now()
	for _, s := range ts {
		if s.Err != "" {
			continue // state unknown: nothing to restart
		}
		k := counters[s.Name]
		if k == nil {
			k = &counter{}
		}
		var recent []int64
		for _, t := range k.Times {
			if now.Sub(time.Unix(t, 0)) < 24*time.Hour {
				recent = append(recent, t)
			}
		}
		k.Times = recent
		if s.Running {
			k.InRow = 0
		} else {
			switch {
			case k.InRow >= c.maxInRow:
				notes = append(notes, note{s.Name,
					fmt.Sprintf("%s not restarted: %d restarts in a row did not help", s.Name, k.InRow),
					fmt.Sprintf("%s nicht neu gestartet: %d Neustarts in Folge haben nicht geholfen", s.Name, k.InRow)})
			case len(k.Times) >= c.maxPerDay:
				notes = append(notes, note{s.Name,
					fmt.Sprintf("%s not restarted: limit of %d restarts in 24 h reached", s.Name, c.maxPerDay),
					fmt.Sprintf("%s nicht neu gestartet: Grenze von %d Neustarts in 24 h erreicht", s.Name, c.maxPerDay)})
			default:
				k.InRow++
				k.Times = append(k.Times, now.Unix())
				any = true
				if err := m.Start(ctx, s.Name); err != nil {
					notes = append(notes, note{s.Name,
						fmt.Sprintf("restart of %s failed (attempt %d of %d in a row): %v", s.Name, k.InRow, c.maxInRow, err),
						fmt.Sprintf("Neustart von %s fehlgeschlagen (Versuch %d von %d in Folge): %v", s.Name, k.InRow, c.maxInRow, err)})
				} else {
					notes = append(notes, note{s.Name,
						fmt.Sprintf("restarted %s (restart %d of at most %d in a row, %d of %d in 24 h)", s.Name, k.InRow, c.maxInRow, len(k.Times), c.maxPerDay),
						fmt.Sprintf("%s neu gestartet (Neustart %d von höchstens %d in Folge, %d von %d in 24 h)", s.Name, k.InRow, c.maxInRow, len(k.Times), c.maxPerDay)})
				}
			}
		}
		if k.InRow == 0 && len(k.Times) == 0 {
			delete(counters, s.Name)
		} else {
			counters[s.Name] = k
		}
	}
	return notes, any
}

// summarize words one result for the whole check: the value is the number
// of watched services not running (named ones missing count too). Watched
// services the manager could not read make an otherwise clean result
// unknown: the check could not look at them.
func summarize(mode string, ts []service, missing []string, notes []note) check.Result {
	var downEN, downDE []string
	var unread []service
	for _, s := range ts {
		switch {
		case s.Err != "":
			unread = append(unread, s)
		case !s.Running:
			state := svcmgr.StateText(s.State)
			downEN = append(downEN, fmt.Sprintf("%s (%s)", s.Name, state.EN))
			downDE = append(downDE, fmt.Sprintf("%s (%s)", s.Name, state.DE))
		}
	}
	bad := len(downEN) + len(missing)
	res := check.Result{Value: check.Float(float64(bad)), Unit: "services"}
	if bad == 0 && len(unread) > 0 {
		en, de := unreadable(unread, len(ts))
		return check.Result{Status: core.StatusUnknown, Unit: "services", Message: core.Text{EN: en, DE: de}}
	}
	// German needs the dative after "von": "3 von 5 überwachten Diensten".
	kindEN, kindDE, kindDEDat := "automatic services", "automatischen Dienste", "automatischen Diensten"
	if mode == "named" {
		kindEN, kindDE, kindDEDat = "watched services", "überwachten Dienste", "überwachten Diensten"
	}
	var en, de []string
	switch {
	case bad == 0:
		res.Status = core.StatusOK
		en = append(en, fmt.Sprintf("All %d %s are running", len(ts), kindEN))
		de = append(de, fmt.Sprintf("Alle %d %s laufen", len(ts), kindDE))
	default:
		res.Status = core.StatusFailure
		total := len(ts) + len(missing)
		if len(downEN) > 0 {
			en = append(en, fmt.Sprintf("%d of %d %s are not running: %s", len(downEN), total, kindEN, strings.Join(downEN, ", ")))
			de = append(de, fmt.Sprintf("%d von %d %s laufen nicht: %s", len(downDE), total, kindDEDat, strings.Join(downDE, ", ")))
		}
		if len(missing) > 0 {
			en = append(en, "not found: "+strings.Join(missing, ", "))
			de = append(de, "nicht gefunden: "+strings.Join(missing, ", "))
		}
	}
	if len(unread) > 0 {
		e, d := unreadable(unread, len(ts))
		en, de = append(en, e), append(de, d)
	}
	for _, n := range notes {
		en, de = append(en, n.en), append(de, n.de)
	}
	if bad == 0 && len(notes) > 0 {
		// Running again thanks to a restart: worth a look, not an outage.
		res.Status = core.StatusWarning
	}
	res.Message = core.Text{EN: strings.Join(en, "; "), DE: strings.Join(de, "; ")}
	return res
}

// unreadable words the services that could not be read, grouped by reason,
// naming at most five per reason.
func unreadable(ss []service, total int) (en, de string) {
	byErr := map[string][]string{}
	var errs []string
	for _, s := range ss {
		if byErr[s.Err] == nil {
			errs = append(errs, s.Err)
		}
		byErr[s.Err] = append(byErr[s.Err], s.Name)
	}
	sort.Strings(errs)
	var partsEN, partsDE []string
	for _, e := range errs {
		names := byErr[e]
		listEN, listDE := strings.Join(names, ", "), strings.Join(names, ", ")
		if len(names) > 5 {
			listEN = fmt.Sprintf("%s and %d more", strings.Join(names[:5], ", "), len(names)-5)
			listDE = fmt.Sprintf("%s und %d weitere", strings.Join(names[:5], ", "), len(names)-5)
		}
		partsEN = append(partsEN, fmt.Sprintf("%s (%s)", listEN, e))
		partsDE = append(partsDE, fmt.Sprintf("%s (%s)", listDE, e))
	}
	return fmt.Sprintf("%d of %d services could not be read: %s", len(ss), total, strings.Join(partsEN, "; ")),
		fmt.Sprintf("%d von %d Diensten konnten nicht gelesen werden: %s", len(ss), total, strings.Join(partsDE, "; "))
}
