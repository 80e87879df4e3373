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
		if a.Name != "monatsbericht-2026-11-mueller-gmbh.pdf" || a.ContentType != "application/pdf" || !bytes.HasPrefix(a.Data, []byte("%PDF-")) {
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
