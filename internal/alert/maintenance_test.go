package alert

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/alerttest"
	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/clock"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// subjects returns the subjects of the mails received so far, sorted.
func subjects(srv *alerttest.Server) []string {
	var out []string
	for _, m := range srv.Mails() {
		out = append(out, m.Header("Subject"))
	}
	slices.Sort(out)
	return out
}

// outboxLen counts every queued message, delivered or not.
func outboxLen(t *testing.T, st core.Store) int {
	t.Helper()
	items, err := st.ListOutbox(ctx, 0)
	must(t, "ListOutbox", err)
	return len(items)
}

// TestMaintenanceWindowsHoldChecks: inside a window results are stored and
// outages recorded but nothing is mailed; a failure still open at the
// window's end is mailed once, one that closed inside it never.
func TestMaintenanceWindowsHoldChecks(t *testing.T) {
	st := storetest.NewSQLite(t)
	srv := alerttest.Start(t, alerttest.Options{Mode: "none"})
	must(t, "SaveSettings", SaveSettings(ctx, st, smtpSettings(srv, "none")))
	recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "noc@provider.example", Lang: "en"})
	dev := enroll(t, st, "ACME", "Main", "db01", core.DeviceRoleServer)
	other := enroll(t, st, "Other", "HQ", "web01", core.DeviceRoleServer)
	// Monday 10:00–11:00 in Berlin, weekly, for ACME (client scope).
	must(t, "CreateMaintenance", st.CreateMaintenance(ctx, &core.Maintenance{Scope: core.LevelClient, TargetID: dev.ClientID,
		Title: "Patchday", Start: t0.Add(-24 * time.Hour), Repeat: core.RepeatWeekly, Weekdays: []int{1}, From: "10:00", To: "11:00"}))
	clk := clock.NewFake(t0)
	e := New(Options{Store: st, Now: clk.Now})

	at := func(d time.Duration) time.Time { return t0.Add(d) }
	save(t, st, e, dev.ID, result("disk", "C:", core.StatusFailure, 97, at(5*time.Minute)))
	save(t, st, e, dev.ID, result("memory", "", core.StatusFailure, 99, at(6*time.Minute)))
	save(t, st, e, dev.ID, result("memory", "", core.StatusOK, 40, at(9*time.Minute)))
	save(t, st, e, other.ID, result("disk", "/", core.StatusFailure, 99, at(5*time.Minute))) // not in maintenance
	clk.Set(at(10 * time.Minute))
	must(t, "Release", e.Release(ctx))
	deliverAll(t, e)
	srv.WaitFor(t, 1, 10*time.Second)
	if got := subjects(srv); len(got) != 1 || !strings.Contains(got[0], "web01") {
		t.Fatalf("mails inside the window = %q, want only web01's (outside maintenance)", got)
	}
	os, err := st.ListOutages(ctx, core.OutageFilter{DeviceID: dev.ID})
	must(t, "ListOutages", err)
	if len(os) != 2 || os[0].CheckName != "memory" || os[0].ClosedAt == nil || os[1].CheckName != "disk" ||
		os[1].ClosedAt != nil || !os[1].Held || os[1].Notified {
		t.Fatalf("outages in the window = %+v, want memory closed and disk open, held, not notified", os)
	}
	if hist, err := st.ListResults(ctx, dev.ID, time.Time{}, 10); err != nil || len(hist) != 3 {
		t.Fatalf("stored results = %d (%v), want all 3", len(hist), err)
	}

	// The window ends (11:00 CET = 10:00 UTC) with disk still failing: one
	// mail, however often the sweeper looks.
	clk.Set(at(61 * time.Minute))
	for range 3 {
		must(t, "Release", e.Release(ctx))
		deliverAll(t, e)
	}
	srv.WaitFor(t, 2, 10*time.Second)
	if n := outboxLen(t, st); n != 2 {
		t.Fatalf("%d messages queued after the window, want 2", n)
	}
	want := []string{"[Wacht] FAILURE: disk / on web01 (Other / HQ)", "[Wacht] FAILURE: disk C: on db01 (ACME / Main)"}
	if got := subjects(srv); !slices.Equal(got, want) {
		t.Fatalf("subjects = %q\nwant %q", got, want)
	}
	// Its recovery after the window is mailed as usual.
	save(t, st, e, dev.ID, result("disk", "C:", core.StatusOK, 50, at(70*time.Minute)))
	deliverAll(t, e)
	srv.WaitFor(t, 3, 10*time.Second)

	// Next Monday's window: an outage notified before it recovers inside
	// it; its recipients were told it is down, so the recovery is sent.
	save(t, st, e, dev.ID, result("disk", "C:", core.StatusFailure, 98, at(7*24*time.Hour-time.Minute)))
	save(t, st, e, dev.ID, result("disk", "C:", core.StatusOK, 50, at(7*24*time.Hour+time.Minute)))
	deliverAll(t, e)
	srv.WaitFor(t, 5, 10*time.Second)
	if n := outboxLen(t, st); n != 5 {
		t.Fatalf("%d messages queued, want 5 (outage before the window, recovery inside it)", n)
	}
	if got := subjects(srv); !strings.Contains(got[4], "RECOVERED") {
		t.Fatalf("last subject %q, want the recovery", got[4])
	}
}

// TestMaintenanceWindowsHoldOffline: a device rebooting in its window
// raises nothing; one still offline after the window is reported once.
func TestMaintenanceWindowsHoldOffline(t *testing.T) {
	st := storetest.NewSQLite(t)
	srv := alerttest.Start(t, alerttest.Options{Mode: "none"})
	must(t, "SaveSettings", SaveSettings(ctx, st, smtpSettings(srv, "none")))
	recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "noc@provider.example", Lang: "de"})
	back := enroll(t, st, "ACME", "Main", "rebooted", core.DeviceRoleServer)
	gone := enroll(t, st, "ACME", "Main", "dead", core.DeviceRoleServer)
	for _, d := range []core.Device{back, gone} {
		must(t, "TouchDevice", st.TouchDevice(ctx, d.ID, t0, ""))
	}
	end := t0.Add(30 * time.Minute)
	for _, d := range []core.Device{back, gone} {
		must(t, "CreateMaintenance", st.CreateMaintenance(ctx, &core.Maintenance{Scope: core.LevelDevice, TargetID: d.ID,
			Title: "Neustart", Start: t0, End: &end}))
	}
	clk := clock.NewFake(t0)
	e := New(Options{Store: st, Now: clk.Now})
	beating := false // back sends heartbeats
	tick := func(d time.Duration) {
		clk.Set(t0.Add(d))
		if beating {
			must(t, "TouchDevice", st.TouchDevice(ctx, back.ID, t0.Add(d), ""))
		}
		must(t, "Sweep", e.Sweep(ctx))
		must(t, "Release", e.Release(ctx))
		deliverAll(t, e)
	}
	tick(10 * time.Minute) // both offline long enough to alert: held
	os, err := st.ListOutages(ctx, core.OutageFilter{OpenOnly: true})
	must(t, "ListOutages", err)
	if len(os) != 2 || !os[0].Held || !os[1].Held || os[0].Notified || os[1].Notified {
		t.Fatalf("offline outages in the window = %+v, want two, held", os)
	}
	beating = true
	tick(16 * time.Minute) // back inside the window: closed silently
	tick(29 * time.Minute)
	if n := outboxLen(t, st); n != 0 {
		t.Fatalf("%d messages queued inside the window, want none", n)
	}
	tick(31 * time.Minute)
	tick(32 * time.Minute)
	srv.WaitFor(t, 1, 10*time.Second)
	if got := subjects(srv); len(got) != 1 || got[0] != "[Wacht] OFFLINE: dead (ACME / Main)" {
		t.Fatalf("subjects after the window = %q, want dead's offline message only", got)
	}
	// Back after the window: its return is reported as usual.
	must(t, "TouchDevice", st.TouchDevice(ctx, gone.ID, t0.Add(40*time.Minute), ""))
	tick(40*time.Minute + time.Second)
	srv.WaitFor(t, 2, 10*time.Second)
	if n := outboxLen(t, st); n != 2 {
		t.Fatalf("%d messages queued, want offline + online of dead", n)
	}
}

// TestMaintenanceSuppressesReminders: an open outage gets no reminder
// while its device is in maintenance.
func TestMaintenanceSuppressesReminders(t *testing.T) {
	st := storetest.NewSQLite(t)
	s := Settings{RemindAfter: 600}
	must(t, "SaveSettings", SaveSettings(ctx, st, s))
	recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "noc@provider.example", Lang: "en"})
	dev := enroll(t, st, "ACME", "Main", "db01", core.DeviceRoleServer)
	clk := clock.NewFake(t0)
	e := New(Options{Store: st, Now: clk.Now, Deliver: func(context.Context, core.OutboxItem) error { return nil }})
	save(t, st, e, dev.ID, result("disk", "C:", core.StatusFailure, 97, t0))
	end := t0.Add(time.Hour)
	must(t, "CreateMaintenance", st.CreateMaintenance(ctx, &core.Maintenance{Scope: core.LevelSite, TargetID: dev.SiteID,
		Title: "Umbau", Start: t0.Add(time.Minute), End: &end}))
	e.ForgetSettings() // windows are cached for settingsTTL
	clk.Set(t0.Add(30 * time.Minute))
	must(t, "Remind", e.Remind(ctx))
	if n := outboxLen(t, st); n != 1 {
		t.Fatalf("%d messages, want the opening only (no reminder in maintenance)", n)
	}
	clk.Set(t0.Add(61 * time.Minute))
	e.ForgetSettings()
	must(t, "Remind", e.Remind(ctx))
	if n := outboxLen(t, st); n != 2 {
		t.Fatalf("%d messages, want a reminder after the window", n)
	}
}

// TestEvaluateInMaintenance: the state machine runs as always in
// maintenance, but notifies nothing; an outage message it held back is
// marked Held, also when flapping ends inside the window.
func TestEvaluateInMaintenance(t *testing.T) {
	maint := Params{AlertAfter: 2, FlapChanges: 2, FlapWindow: 10 * time.Minute, Maintenance: true}
	if got, want := run(t, core.AlertState{}, maint, "F F F O"),
		[]string{"soft/-/", "failure/o1/", "failure/o1/", "ok/-/"}; !slices.Equal(got, want) {
		t.Errorf("in maintenance: %q, want %q", got, want)
	}
	n := 0
	refs := func() string { n++; return fmt.Sprintf("o%d", n) }
	var a core.AlertState
	at := t0
	step := func(st core.Status, gap time.Duration, p Params, open OpenOutage) Decision {
		at = at.Add(gap)
		d := Evaluate(a, core.Result{Status: st, At: at}, p, open, refs)
		a = d.State
		return d
	}
	p := maint
	p.AlertAfter = 1
	if d := step(core.StatusFailure, 0, p, OpenOutage{}); !d.Open || !d.Held || len(d.Notify) != 0 || d.MarkNotified {
		t.Fatalf("opening in maintenance: %+v", d)
	}
	if d := step(core.StatusOK, time.Minute, p, OpenOutage{}); d.Close == "" || len(d.Notify) != 0 || d.Held {
		t.Fatalf("recovery in maintenance of a held outage: %+v", d)
	}
	// Flapping starts outside the window; it ends inside: the outage it
	// left open and unnotified is held for the window's end.
	out := p
	out.Maintenance = false
	step(core.StatusFailure, time.Minute, out, OpenOutage{})
	step(core.StatusOK, time.Minute, out, OpenOutage{Notified: true})
	if d := step(core.StatusFailure, time.Minute, out, OpenOutage{}); !a.Flapping || d.Held {
		t.Fatalf("flapping outside the window: %+v", d)
	}
	if d := step(core.StatusFailure, 11*time.Minute, p, OpenOutage{}); a.Flapping || !d.Held || len(d.Notify) != 0 || d.MarkNotified {
		t.Fatalf("flapping ended in maintenance: %+v", d)
	}
	// An outage notified before the window: its recipients were told it
	// is down, so its recovery inside the window is sent.
	a = core.AlertState{}
	if d := step(core.StatusFailure, time.Hour, out, OpenOutage{}); !d.Open || !d.MarkNotified {
		t.Fatalf("opening before the window: %+v", d)
	}
	if d := step(core.StatusOK, time.Minute, p, OpenOutage{Notified: true}); d.Close == "" || !slices.Equal(d.Notify, []string{notify.KindRecovery}) || d.Held {
		t.Fatalf("recovery in maintenance of an outage notified before: %+v", d)
	}
}
