package report_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/clock"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// monthlyMails returns the queued monthly report mails by address.
func monthlyMails(t *testing.T, st *store.DB) map[string]notify.Message {
	t.Helper()
	box, err := st.ListOutbox(ctx, 0)
	must(t, err)
	out := map[string]notify.Message{}
	for _, it := range box {
		if !strings.HasPrefix(it.DedupeKey, "monthly:") {
			continue
		}
		var m notify.Message
		must(t, json.Unmarshal(it.Payload, &m))
		if _, dup := out[it.Target]; dup {
			t.Errorf("two monthly reports to %s", it.Target)
		}
		out[it.Target] = m
	}
	return out
}

func TestSchedulerQueuesMonthlyReportOnTheFirst(t *testing.T) {
	engines(t, func(t *testing.T, st *store.DB) {
		mailServer(t, st)
		mueller, site := client(t, st, "Müller GmbH", "it@mueller.example", "de")
		fs01 := device(t, st, site, "fs01", core.DeviceRoleServer, now)
		_, smithSite := client(t, st, "Smith Ltd", "ops@smith.example", "en")
		device(t, st, smithSite, "smith-srv", core.DeviceRoleServer, now)
		off, _ := client(t, st, "Abbestellt GmbH", "chef@abbestellt.example", "de")
		must(t, st.SetReportSettings(ctx, core.ReportSettings{ClientID: off.ID, Enabled: false, Hour: "07:00"}))
		must(t, st.SetSetting(ctx, report.SettingLogo, base64.StdEncoding.EncodeToString(logoPNG(t))))
		// fs01 was offline 7 h 12 min in November: 99,00 %.
		must(t, st.ApplyAlertChange(ctx, core.AlertChange{Open: []core.Outage{{Ref: "o-off", DeviceID: fs01.ID,
			Kind: core.OutageOffline, Severity: "offline", OpenedAt: at(12, 10, 0)}}}))
		must(t, st.ApplyAlertChange(ctx, core.AlertChange{Close: []core.OutageClose{{Ref: "o-off", At: at(12, 17, 12)}}}))

		clk := clock.NewFake(time.Date(2026, 11, 30, 7, 1, 0, 0, berlin))
		sched := report.New(report.Options{Store: st, Now: clk.Now, Singleton: st.TrySingleton})
		if _, err := sched.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if got := monthlyMails(t, st); len(got) != 0 {
			t.Fatalf("monthly reports on the 30th: %v", got)
		}
		clk.Set(time.Date(2026, 12, 1, 6, 59, 0, 0, berlin))
		if n, err := sched.Tick(ctx); err != nil || n != 0 {
			t.Fatalf("before the hour on the 1st: queued %d, %v", n, err)
		}
		clk.Set(time.Date(2026, 12, 1, 7, 1, 0, 0, berlin))
		if n, err := sched.Tick(ctx); err != nil || n != 4 {
			t.Fatalf("at the hour on the 1st: queued %d, %v; want 2 daily and 2 monthly reports", n, err)
		}
		got := monthlyMails(t, st)
		if len(got) != 2 {
			t.Fatalf("%d monthly reports, want 2: %v", len(got), got)
		}
		de, en := got["it@mueller.example"], got["ops@smith.example"]
		if de.Subject != "[Wacht] Monatsbericht November 2026 – Müller GmbH" || de.Lang != "de" {
			t.Errorf("German subject %q (%s)", de.Subject, de.Lang)
		}
		if en.Subject != "[Wacht] Monthly report November 2026 – Smith Ltd" || en.Lang != "en" {
			t.Errorf("English subject %q (%s)", en.Subject, en.Lang)
		}
		contains(t, "German mail", de.Text, "Anbei der Monatsbericht November 2026 für Müller GmbH")
		contains(t, "German mail", de.HTML, `<html lang="de">`, "Monatsbericht November 2026 – Müller GmbH")
		if len(de.Attachments) != 1 {
			t.Fatalf("%d attachments", len(de.Attachments))
		}
		a := de.Attachments[0]
		if a.Name != "Monatsbericht-Müller GmbH-2026-11.pdf" || a.ContentType != "application/pdf" || !bytes.HasPrefix(a.Data, []byte("%PDF-")) {
			t.Errorf("attachment %s %s %q", a.Name, a.ContentType, a.Data[:min(len(a.Data), 8)])
		}
		if _, err := exec.LookPath("pdftotext"); err == nil {
			contains(t, "German PDF", pdfText(t, a.Data), "Monatsbericht November 2026 – Müller GmbH", "fs01", "99,00 %",
				"7 Std. 12 Min.", "01.11.2026 bis 30.11.2026")
		}
		if _, err := exec.LookPath("pdfimages"); err == nil {
			if n := images(t, a.Data); n != 1 {
				t.Errorf("%d images in the mailed PDF, want the logo", n)
			}
		}
		runs, err := st.ListReportRuns(ctx, "2026-12-01")
		must(t, err)
		monthly := 0
		for _, r := range runs {
			if r.Kind == report.ReportMonthly {
				monthly++
			}
		}
		if monthly != 2 {
			t.Errorf("%d monthly report runs, want 2: %+v", monthly, runs)
		}

		// Later that day and after a restart: nothing again.
		clk.Advance(time.Hour)
		if n, err := report.New(report.Options{Store: st, Now: clk.Now}).Tick(ctx); err != nil || n != 0 {
			t.Fatalf("after a restart: queued %d, %v", n, err)
		}
		// The 2nd: daily reports only.
		clk.Set(time.Date(2026, 12, 2, 7, 1, 0, 0, berlin))
		if n, err := sched.Tick(ctx); err != nil || n != 2 {
			t.Fatalf("on the 2nd: queued %d, %v; want the 2 daily reports", n, err)
		}
		if got := monthlyMails(t, st); len(got) != 2 {
			t.Errorf("%d monthly reports after the 2nd, want still 2", len(got))
		}
		_ = mueller
	})
}

func TestSchedulerMonthlyReportWithBadLogo(t *testing.T) {
	st := storetest.NewSQLite(t)
	mailServer(t, st)
	_, site := client(t, st, "Müller GmbH", "it@mueller.example", "de")
	device(t, st, site, "fs01", core.DeviceRoleServer, now)
	must(t, st.SetSetting(ctx, report.SettingLogo, base64.StdEncoding.EncodeToString([]byte("not an image"))))
	clk := clock.NewFake(time.Date(2026, 12, 1, 7, 1, 0, 0, berlin))
	if n, err := report.New(report.Options{Store: st, Now: clk.Now}).Tick(ctx); err != nil || n != 2 {
		t.Fatalf("queued %d, %v; want the daily and the monthly report", n, err)
	}
	m := monthlyMails(t, st)["it@mueller.example"]
	if len(m.Attachments) != 1 || !bytes.HasPrefix(m.Attachments[0].Data, []byte("%PDF-")) {
		t.Fatalf("no PDF with a bad logo: %+v", m.Attachments)
	}
	if _, err := exec.LookPath("pdfimages"); err == nil {
		if n := images(t, m.Attachments[0].Data); n != 0 {
			t.Errorf("%d images with a bad logo", n)
		}
	}
}

func TestLoadMonthly(t *testing.T) {
	engines(t, func(t *testing.T, st *store.DB) {
		c, site := client(t, st, "Müller GmbH", "it@mueller.example", "de")
		fs01 := device(t, st, site, "fs01", core.DeviceRoleServer, now)
		gone := device(t, st, site, "gone", core.DeviceRoleServer, now)   // retired on the 10th
		early := device(t, st, site, "early", core.DeviceRoleServer, now) // retired in October
		must(t, st.RetireDevice(ctx, gone.ID, at(10, 0, 0)))
		must(t, st.RetireDevice(ctx, early.ID, time.Date(2026, 10, 30, 0, 0, 0, 0, berlin)))
		must(t, st.SaveResults(ctx, fs01.ID, []core.Result{
			result("logins", "", core.StatusOK, at(3, 10, 0), core.Text{EN: "2"}, fp(2), "failures"),
			result("logins", "", core.StatusWarning, at(3, 10, 15), core.Text{EN: "11"}, fp(11), "failures"),
			result("antivirus", "", core.StatusOK, at(28, 10, 0), core.Text{EN: "Defender up to date", DE: "Defender aktuell"}, nil, ""),
			result("disk", "C:", core.StatusFailure, at(5, 10, 0), core.Text{EN: "C: full"}, fp(99), "%"),
			result("disk", "C:", core.StatusFailure, at(6, 10, 0), core.Text{EN: "C: full"}, fp(99), "%"),
		}))
		must(t, st.SaveResults(ctx, gone.ID, []core.Result{
			result("logins", "", core.StatusOK, at(4, 10, 0), core.Text{EN: "5"}, fp(5), "failures"),
		}))
		must(t, st.ApplyAlertChange(ctx, core.AlertChange{Open: []core.Outage{{Ref: "o-gone", DeviceID: gone.ID,
			Kind: core.OutageOffline, Severity: "offline", OpenedAt: at(9, 0, 0)}}}))
		must(t, st.ApplyAlertChange(ctx, core.AlertChange{Close: []core.OutageClose{{Ref: "o-gone", At: at(9, 2, 24)}}}))

		env := report.Env{Location: berlin}
		d, err := report.LoadMonthly(ctx, st, env, c, at(15, 0, 0), time.Date(2026, 12, 1, 7, 0, 0, 0, berlin))
		must(t, err)
		if !d.Month.Equal(november) || !d.Until.Equal(november.AddDate(0, 1, 0)) {
			t.Errorf("month %s until %s", d.Month, d.Until)
		}
		hosts := map[string]report.MonthDevice{}
		for _, dev := range d.Devices {
			hosts[dev.Hostname] = dev
		}
		if len(hosts) != 2 || !hosts["gone"].RetiredAt.Equal(at(10, 0, 0)) || !hosts["fs01"].RetiredAt.IsZero() {
			t.Errorf("devices %+v, want fs01 and gone (retired on the 10th)", d.Devices)
		}
		if d.Logins[fs01.ID] != 13 || d.Logins[gone.ID] != 5 {
			t.Errorf("logins %v", d.Logins)
		}
		if len(d.States[fs01.ID]) != 1 || d.States[fs01.ID][0].Name != "antivirus" {
			t.Errorf("states %+v", d.States)
		}
		m := report.BuildMonthly(d, "de")
		// gone existed 9 days (216 h) and was offline 2 h 24 min: 98,89 %.
		for _, a := range m.Availability {
			if a.Hostname == "gone" && (a.UptimeBP != 9889 || a.Existed.D() != 216*time.Hour) {
				t.Errorf("gone: %+v", a)
			}
		}
		if len(m.TopChecks) != 1 || m.TopChecks[0].Failures != 2 {
			t.Errorf("top checks %+v", m.TopChecks)
		}
		if m.LoginsTotal != 18 {
			t.Errorf("%d failed log-ins, want 18", m.LoginsTotal)
		}
		if _, err := report.LoadMonthly(ctx, st, env, c, time.Date(2027, 1, 1, 0, 0, 0, 0, berlin), d.Until); err == nil {
			t.Error("a month that has not begun loads")
		}
	})
}
