package services

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/core"
)

type collect []check.Result

func (c *collect) Report(r check.Result) { *c = append(*c, r) }

// TestTargets: mode auto watches the automatic services, not the excluded
// ones, sorted by name.
func TestTargets(t *testing.T) {
	svcs := []service{
		{Name: "com.teamviewer.service", Auto: true, State: "not running, last exit status 78"},
		{Name: "com.apple.mDNSResponder", Running: true},
		{Name: "com.example.gone", Auto: true, State: "not loaded"},
		{Name: "Sense", Err: "OpenService: Access is denied."},
		{Name: "gupdate", Auto: true},
	}
	c := &svcCheck{p: params{Mode: "auto", Exclude: []string{"GUP*"}}}
	ts, _ := c.targets(svcs)
	var got []string
	for _, s := range ts {
		got = append(got, s.Name)
	}
	if want := "com.example.gone|com.teamviewer.service|Sense"; strings.Join(got, "|") != want {
		t.Errorf("targets %s, want %s", strings.Join(got, "|"), want)
	}
}

func TestExclusions(t *testing.T) {
	if !excluded("hwclock.sh", sysvExclude) || !excluded("getty@tty1.service", systemdExclude) {
		t.Error("linux exclusions")
	}
	if !excluded("clr_optimization_v4.0.30319_64", windowsExclude) || !excluded("OneSyncSvc_5a1c2", windowsExclude) || excluded("Spooler", windowsExclude) {
		t.Error("windows exclusions")
	}
}

// fakeManager is an in-memory service manager; Start marks a service
// running unless it is in failing.
type fakeManager struct {
	svcs    []service
	failing map[string]bool
	starts  []string
	listErr error // List fails with it
}

func (f *fakeManager) List(context.Context) ([]service, error) {
	return append([]service(nil), f.svcs...), f.listErr
}

func (f *fakeManager) Start(_ context.Context, name string) error {
	f.starts = append(f.starts, name)
	if f.failing[name] {
		return errors.New("service exited with code 1067")
	}
	for i := range f.svcs {
		if f.svcs[i].Name == name {
			f.svcs[i].Running, f.svcs[i].State = true, "running"
		}
	}
	return nil
}

func (f *fakeManager) Close() error { return nil }

func (f *fakeManager) stop(name string) {
	for i := range f.svcs {
		if f.svcs[i].Name == name {
			f.svcs[i].Running, f.svcs[i].State = false, "stopped"
		}
	}
}

func newFake() *fakeManager {
	return &fakeManager{svcs: []service{
		{Name: "Spooler", Auto: true, Running: true, State: "running"},
		{Name: "gupdate", Auto: true, State: "stopped"},
		{Name: "Veeam", Auto: true, Running: true, State: "running"},
		{Name: "Fax", State: "stopped"},
	}, failing: map[string]bool{}}
}

func run(t *testing.T, raw string, f *fakeManager, now func() time.Time) check.Result {
	t.Helper()
	c, err := newCheck(json.RawMessage(raw), func(context.Context) (manager, error) { return f, nil }, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Init(); err != nil {
		t.Fatal(err)
	}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d results", len(got))
	}
	return got[0]
}

func TestAutoModeWithExclusions(t *testing.T) {
	f := newFake()
	r := run(t, `{"exclude":["GUPDATE"]}`, f, time.Now)
	if r.Status != core.StatusOK || *r.Value != 0 || r.Message.EN != "All 2 automatic services are running" || r.Message.DE != "Alle 2 automatischen Dienste laufen" {
		t.Fatalf("%+v", r)
	}
	f.stop("Veeam")
	r = run(t, `{"exclude":["spool*","gupdate"]}`, f, time.Now)
	if r.Status != core.StatusFailure || *r.Value != 1 || r.Message.EN != "1 of 1 automatic services are not running: Veeam (stopped)" {
		t.Fatalf("%+v", r)
	}
	r = run(t, `{"no_default_exclude":true}`, f, time.Now)
	if *r.Value != 2 || !strings.Contains(r.Message.EN, "gupdate (stopped), Veeam (stopped)") {
		t.Fatalf("%+v", r)
	}
}

func TestNamedMode(t *testing.T) {
	f := newFake()
	r := run(t, `{"mode":"named","services":["spooler","Fax","Nope"]}`, f, time.Now)
	if r.Status != core.StatusFailure || *r.Value != 2 ||
		r.Message.EN != "1 of 3 watched services are not running: Fax (stopped); not found: Nope" ||
		r.Message.DE != "1 von 3 überwachten Diensten laufen nicht: Fax (beendet); nicht gefunden: Nope" {
		t.Fatalf("%+v", r)
	}
	for _, raw := range []string{`{"mode":"named"}`, `{"mode":"all"}`, `{"max_restarts_in_row":-1}`, `{"exclude":["["]}`} {
		if c, err := newCheck(json.RawMessage(raw), nil, time.Now); err == nil && c.Init() == nil {
			t.Errorf("%s accepted", raw)
		}
	}
}

func TestRestartLimits(t *testing.T) {
	check.SetStateDir(t.TempDir())
	t.Cleanup(func() { check.SetStateDir("") })
	now := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	f := newFake()
	raw := `{"mode":"named","services":["Veeam"],"restart":true}`

	// Stopped → restarted → running: a warning naming the restart.
	f.stop("Veeam")
	r := run(t, raw, f, clock)
	if r.Status != core.StatusWarning || *r.Value != 0 || !strings.Contains(r.Message.EN, "restarted Veeam (restart 1 of at most 2 in a row, 1 of 4 in 24 h)") ||
		!strings.Contains(r.Message.DE, "Veeam neu gestartet (Neustart 1 von höchstens 2 in Folge, 1 von 4 in 24 h)") {
		t.Fatalf("first restart: %+v", r)
	}
	// It stops again before the next run: second restart in a row.
	now = now.Add(time.Minute)
	f.stop("Veeam")
	r = run(t, raw, f, clock)
	if !strings.Contains(r.Message.EN, "restart 2 of at most 2 in a row, 2 of 4 in 24 h") {
		t.Fatalf("second restart: %+v", r)
	}
	// Third time in a row: no more restarts, failure.
	now = now.Add(time.Minute)
	f.stop("Veeam")
	r = run(t, raw, f, clock)
	if r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, "Veeam not restarted: 2 restarts in a row did not help") || len(f.starts) != 2 {
		t.Fatalf("limit in a row: %+v starts %v", r, f.starts)
	}
	// Running on its own (started by hand) resets the row, not the day.
	f.Start(context.Background(), "Veeam")
	now = now.Add(time.Minute)
	if r = run(t, raw, f, clock); r.Status != core.StatusOK {
		t.Fatalf("running again: %+v", r)
	}
	for i := 3; i <= 4; i++ {
		now = now.Add(time.Minute)
		f.stop("Veeam")
		r = run(t, raw, f, clock)
		if !strings.Contains(r.Message.EN, "of 4 in 24 h") {
			t.Fatalf("restart %d: %+v", i, r)
		}
		now = now.Add(time.Minute)
		run(t, raw, f, clock) // running: resets the row
	}
	now = now.Add(time.Minute)
	f.stop("Veeam")
	r = run(t, raw, f, clock)
	if r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, "limit of 4 restarts in 24 h reached") {
		t.Fatalf("daily limit: %+v", r)
	}
	// A day later the old restarts age out.
	now = now.Add(24 * time.Hour)
	r = run(t, raw, f, clock)
	if r.Status != core.StatusWarning || !strings.Contains(r.Message.EN, "1 of 4 in 24 h") {
		t.Fatalf("next day: %+v", r)
	}
	// A failing start is reported with the error and counts.
	f.failing["Veeam"] = true
	f.stop("Veeam")
	now = now.Add(time.Minute)
	r = run(t, raw, f, clock)
	if r.Status != core.StatusFailure || !strings.Contains(r.Message.EN, "restart of Veeam failed (attempt 2 of 2 in a row): service exited with code 1067") {
		t.Fatalf("failing start: %+v", r)
	}
}

func TestRestartNeedsStateDir(t *testing.T) {
	check.SetStateDir("")
	c, _ := newCheck(json.RawMessage(`{"restart":true}`), func(context.Context) (manager, error) { return newFake(), nil }, time.Now)
	if err := c.Run(context.Background(), &collect{}); err == nil {
		t.Fatal("restart without a state folder")
	}
}

// TestUnreadableServices: services the manager could not read (under Wine
// every one) make the check unknown with the call and reason, never "All 0
// automatic services are running".
func TestUnreadableServices(t *testing.T) {
	f := &fakeManager{failing: map[string]bool{}}
	for _, n := range []string{"Winmgmt", "Spooler", "PlugPlay", "RpcSs", "EventLog", "Dhcp", "gupdate"} {
		f.svcs = append(f.svcs, service{Name: n, Err: "QueryServiceConfig: Access is denied."})
	}
	r := run(t, `{"no_default_exclude":true}`, f, time.Now)
	if r.Status != core.StatusUnknown || r.Value != nil ||
		r.Message.EN != "7 of 7 services could not be read: Dhcp, EventLog, gupdate, PlugPlay, RpcSs and 2 more (QueryServiceConfig: Access is denied.)" ||
		r.Message.DE != "7 von 7 Diensten konnten nicht gelesen werden: Dhcp, EventLog, gupdate, PlugPlay, RpcSs und 2 weitere (QueryServiceConfig: Access is denied.)" {
		t.Fatalf("all unreadable: %+v", r)
	}

	f = newFake()
	f.svcs = append(f.svcs, service{Name: "Sense", Err: "OpenService: Access is denied."})
	if r = run(t, `{"exclude":["gupdate"]}`, f, time.Now); r.Status != core.StatusUnknown || !strings.HasPrefix(r.Message.EN, "1 of 3 services could not be read: Sense (OpenService") {
		t.Fatalf("one unreadable: %+v", r)
	}
	f.stop("Veeam")
	if r = run(t, `{"exclude":["gupdate"]}`, f, time.Now); r.Status != core.StatusFailure || *r.Value != 1 ||
		r.Message.EN != "1 of 3 automatic services are not running: Veeam (stopped); 1 of 3 services could not be read: Sense (OpenService: Access is denied.)" {
		t.Fatalf("one down, one unreadable: %+v", r)
	}
	if r = run(t, `{"mode":"named","services":["Spooler"]}`, f, time.Now); r.Status != core.StatusOK {
		t.Fatalf("named, readable: %+v", r)
	}
	if r = run(t, `{"mode":"named","services":["Sense"]}`, f, time.Now); r.Status != core.StatusUnknown {
		t.Fatalf("named, unreadable: %+v", r)
	}
}

// TestNothingToWatch: an empty service list (an empty launchd list, an
// empty SCM enumeration) or one without any automatic service is unknown,
// not "All 0 automatic services are running"; only the policy's own
// exclusions make an empty watch list a clean result.
func TestNothingToWatch(t *testing.T) {
	r := run(t, ``, &fakeManager{}, time.Now)
	if r.Status != core.StatusUnknown || r.Message.EN != "No services found to watch: the service manager listed no services" ||
		r.Message.DE != "Keine Dienste zum Überwachen gefunden: die Dienstverwaltung hat keine Dienste aufgelistet" {
		t.Fatalf("empty list: %+v", r)
	}
	manual := &fakeManager{svcs: []service{{Name: "Fax", State: "stopped"}, {Name: "wuauserv", State: "stopped"}}}
	if r = run(t, ``, manual, time.Now); r.Status != core.StatusUnknown || !strings.Contains(r.Message.EN, "none of the 2 services") {
		t.Fatalf("no automatic service: %+v", r)
	}
	if len(defaultExclude) > 0 {
		name := strings.NewReplacer("*", "x", "?", "x").Replace(defaultExclude[0])
		builtin := &fakeManager{svcs: []service{{Name: name, Auto: true, State: "stopped"}}}
		if r = run(t, ``, builtin, time.Now); r.Status != core.StatusUnknown || !strings.Contains(r.Message.DE, "eingebauten Ausschlussliste") {
			t.Fatalf("all on the built-in list: %+v", r)
		}
	}
	if r = run(t, `{"exclude":["*"]}`, newFake(), time.Now); r.Status != core.StatusOK ||
		r.Message.EN != "No automatic services to watch: the policy excludes all 3" {
		t.Fatalf("all excluded by the policy: %+v", r)
	}
}

// TestListFails: a failed service enumeration is the check's error with the
// call and its reason in both languages.
func TestListFails(t *testing.T) {
	f := &fakeManager{listErr: msg.Call("EnumServicesStatusEx", errors.New("Access is denied."))}
	c, err := newCheck(nil, func(context.Context) (manager, error) { return f, nil }, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	var got collect
	txt := check.ErrorText(c.Run(context.Background(), &got))
	if len(got) != 0 || txt.EN != "listing services: EnumServicesStatusEx failed: Access is denied." ||
		txt.DE != "Auflisten der Dienste: EnumServicesStatusEx fehlgeschlagen: Access is denied." {
		t.Fatalf("results %+v, error %+v", got, txt)
	}
}
