package report_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

func load(t *testing.T, st *store.DB, clientID int64) report.Data {
	t.Helper()
	env, err := report.LoadEnv(ctx, st)
	must(t, err)
	c, err := st.GetClient(ctx, clientID)
	must(t, err)
	d, err := report.Load(ctx, st, env, c, nil, now)
	must(t, err)
	return d
}

func TestBuildFromStore(t *testing.T) {
	engines(t, func(t *testing.T, st *store.DB) {
		c, devs := seed(t, st)
		must(t, st.SetSetting(ctx, "server_url", "https://wacht.example:8443/"))
		r := report.Build(load(t, st, c.ID), "de")

		if r.Summary != (report.Summary{Devices: 3, OK: 1, Failing: 1, Offline: 1}) {
			t.Errorf("summary = %+v", r.Summary)
		}
		if len(r.FailingNow) != 1 || r.FailingNow[0] != "ws01" {
			t.Errorf("failing now = %q", r.FailingNow)
		}
		if r.Link != "https://wacht.example:8443/clients/"+itoa(c.ID)+"/report" || r.TimeZone != "Europe/Berlin" || !r.Until.Equal(now) || !r.Since.Equal(now.Add(-24*time.Hour)) {
			t.Errorf("link %q zone %q window %v–%v", r.Link, r.TimeZone, r.Since, r.Until)
		}

		// Events: grouped on fs01, identical ones counted, the unlisted ones
		// of the capped result counted as "more", the old result left out.
		if r.EventCount != 27 || len(r.Events) != 1 {
			t.Fatalf("events = %d %+v", r.EventCount, r.Events)
		}
		de := r.Events[0]
		if de.Hostname != "fs01" || de.DeviceID != devs["fs01"].ID || de.Total != 27 || de.More != 24 || len(de.Events) != 2 {
			t.Fatalf("fs01 events = %+v", de)
		}
		first := de.Events[0]
		if first.Source != "disk" || first.ID != "7" || first.Count != 2 || !strings.HasPrefix(first.Text, "Auf dem Gerät") ||
			!first.At.Equal(now.Add(-2*time.Hour-time.Minute).Truncate(time.Second)) {
			t.Errorf("newest event = %+v", first)
		}
		if e := de.Events[1]; e.Source != "Service Control Manager" || e.ID != "7000" || e.Count != 1 {
			t.Errorf("second event = %+v", e)
		}

		// Failed checks: the disk recovered, the backup still fails since
		// before the window; event-log failures are not repeated here.
		if len(r.Failed) != 2 {
			t.Fatalf("failed = %+v", r.Failed)
		}
		disk, backup := r.Failed[0], r.Failed[1]
		if disk.Hostname != "fs01" || disk.Check != "disk" || disk.Key != "D:" || disk.StillFailing || disk.Failures != 2 ||
			disk.Message != "D: 98,25 % belegt" || *disk.Value != 98.25 || !disk.Since.Equal(now.Add(-5*time.Hour)) {
			t.Errorf("disk = %+v", disk)
		}
		if backup.Hostname != "ws01" || !backup.StillFailing || backup.Failures != 1 || !backup.Since.Equal(now.Add(-26*time.Hour)) {
			t.Errorf("backup = %+v", backup)
		}

		// Outages: the disk's (closed, 2 h) and the backup's (open since
		// before the window, counted up to the report's end).
		if len(r.Outages) != 2 {
			t.Fatalf("outages = %+v", r.Outages)
		}
		if o := r.Outages[0]; o.Check != "backup" || o.Closed != nil || o.Duration.D() != 26*time.Hour {
			t.Errorf("backup outage = %+v", o)
		}
		if o := r.Outages[1]; o.Check != "disk" || o.Closed == nil || o.Duration.D() != 2*time.Hour || o.Message != "D: 97,5 % belegt" {
			t.Errorf("disk outage = %+v", o)
		}

		// Offline: the notebook, now and as an open offline outage.
		if len(r.Offline) != 1 {
			t.Fatalf("offline = %+v", r.Offline)
		}
		if o := r.Offline[0]; o.Hostname != "nb01" || !o.Now || len(o.Periods) != 1 || o.Periods[0].To != nil ||
			o.Periods[0].Duration.D() != 2*time.Hour+45*time.Minute || o.Site != "Zentrale" {
			t.Errorf("nb01 = %+v", o)
		}
		if r.Quiet {
			t.Error("a day with failures is not quiet")
		}

		// Another client's devices and results stay out.
		other, _ := client(t, st, "Andere AG", "", "en")
		q := report.Build(load(t, st, other.ID), "en")
		if !q.Quiet || q.Summary.Devices != 0 || q.EventCount != 0 || len(q.Outages) != 0 || q.Lang != "en" {
			t.Errorf("other client = %+v", q)
		}
	})
}

// TestStructuredEventsRoundTrip sends events as an agent does (a results
// batch through the protocol's encoder and the gateway's decoder and
// validation), stores them, and reads them back into the report: every
// field arrives, and the agent's zone becomes the report's.
func TestStructuredEventsRoundTrip(t *testing.T) {
	engines(t, func(t *testing.T, st *store.DB) {
		c, site := client(t, st, "Roundtrip AG", "", "en")
		d := device(t, st, site, "srv01", core.DeviceRoleServer, now)
		at := now.Add(-3 * time.Hour).In(agentZone)
		data, err := protocol.EncodeEvents(protocol.Events{Total: 4, Events: []protocol.Event{
			{Time: at, Log: "Application", Source: "MSSQLSERVER", ID: "17053", Level: "error", Text: "LogWriter: Operating system error 112"},
		}})
		must(t, err)
		b, err := protocol.Encode(protocol.TypeResults, "batch-1", protocol.Results{Results: []core.Result{{
			ID: core.NewResultID(), Check: "eventlog", Status: core.StatusFailure, Value: fp(4), Unit: "events",
			Message: core.Text{EN: "anything at all", DE: "irgendetwas"}, Data: data, At: now.Add(-time.Hour)}}})
		must(t, err)
		env, err := protocol.Decode(b)
		must(t, err)
		var batch protocol.Results
		must(t, protocol.DecodeData(env, &batch))
		must(t, batch.Validate())
		must(t, st.SaveResults(ctx, d.ID, batch.Results))

		r := report.Build(load(t, st, c.ID), "en")
		if r.EventCount != 4 || len(r.Events) != 1 || r.Events[0].Total != 4 || r.Events[0].More != 3 || len(r.Events[0].Events) != 1 {
			t.Fatalf("events %d: %+v", r.EventCount, r.Events)
		}
		want := report.Event{At: at, Log: "Application", Source: "MSSQLSERVER", ID: "17053", Level: "error",
			Text: "LogWriter: Operating system error 112", Count: 1}
		if e := r.Events[0].Events[0]; !e.At.Equal(want.At) || e.Log != want.Log || e.Source != want.Source || e.ID != want.ID ||
			e.Level != want.Level || e.Text != want.Text || e.Count != 1 || e.FromMessage {
			t.Errorf("event = %+v\nwant    %+v", e, want)
		}
		m, err := report.Render(r)
		must(t, err)
		// 3 hours before 07:01 in Berlin, whatever the agent's zone.
		contains(t, "text", m.Text, "2026-11-27 04:01  MSSQLSERVER (ID 17053): LogWriter: Operating system error 112")
		lacks(t, "text", m.Text, "anything at all")
	})
}

// TestOlderAgentWithoutData: a result from an agent that sends no
// structured events is shown as its message on one line, never parsed —
// its event-like lines do not become events.
func TestOlderAgentWithoutData(t *testing.T) {
	st := storetest.NewSQLite(t)
	c, site := client(t, st, "Alt GmbH", "", "de")
	d := device(t, st, site, "old01", core.DeviceRoleServer, now)
	msg := core.Text{
		EN: "2 critical events since the last check:\n2026-11-27 01:00:00 disk (ID 7): bad block\n2026-11-27 01:00:01 Service Control Manager (ID 7000): Veeam",
		DE: "2 kritische Ereignisse seit der letzten Prüfung:\n27.11.2026 01:00:00 disk (ID 7): bad block\n27.11.2026 01:00:01 Service Control Manager (ID 7000): Veeam",
	}
	must(t, st.SaveResults(ctx, d.ID, []core.Result{
		result("eventlog", "", core.StatusFailure, now.Add(-5*time.Hour), msg, fp(2), "events"),
		result("eventlog", "", core.StatusOK, now.Add(-4*time.Hour), core.Text{EN: "No critical events since the last check"}, fp(0), "events"),
	}))
	r := report.Build(load(t, st, c.ID), "de")
	if r.EventCount != 2 || len(r.Events) != 1 {
		t.Fatalf("events %d: %+v", r.EventCount, r.Events)
	}
	de := r.Events[0]
	if de.Total != 2 || de.More != 0 || len(de.Events) != 1 {
		t.Fatalf("old01 = %+v", de)
	}
	oneLine := "2 kritische Ereignisse seit der letzten Prüfung: 27.11.2026 01:00:00 disk (ID 7): bad block 27.11.2026 01:00:01 Service Control Manager (ID 7000): Veeam"
	if e := de.Events[0]; !e.FromMessage || e.Text != oneLine || e.Source != "" || e.ID != "" || !e.At.Equal(now.Add(-5*time.Hour)) {
		t.Errorf("event = %+v", e)
	}
	m, err := report.Render(r)
	must(t, err)
	for what, body := range map[string]string{"text": m.Text, "html": m.HTML} {
		contains(t, what, body, "Kritische Ereignisse (2)", "älterer Agent", "bad block 27.11.2026 01:00:01 Service")
		lacks(t, what, body, "weitere")
	}
}

// TestRewordedMessageChangesNothing: the report reads the events' structure
// only, so any message wording gives the same report.
func TestRewordedMessageChangesNothing(t *testing.T) {
	st := storetest.NewSQLite(t)
	c, _ := seed(t, st)
	d := load(t, st, c.ID)
	before := report.Build(d, "de")
	for i := range d.Events {
		d.Events[i].Message = core.Text{EN: "Reworded!\n2026-11-27 06:00:00 Fake (ID 1): not an event", DE: "Umformuliert"}
	}
	after := report.Build(d, "de")
	if !reflect.DeepEqual(before, after) {
		t.Errorf("reworded messages changed the report:\nbefore %+v\nafter  %+v", before.Events, after.Events)
	}
	if before.EventCount != 27 {
		t.Errorf("event count %d", before.EventCount)
	}
}
