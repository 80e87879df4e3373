package report_test

import (
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/store"
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
