package report_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/alert/alerttest"
	"github.com/wacht-rmm/wacht/internal/alert/notify/smtp"
	"github.com/wacht-rmm/wacht/internal/clock"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/store"
)

func user(t *testing.T, st *store.DB, email, role, lang string, scope core.Scope) core.User {
	t.Helper()
	u := core.User{Email: email, PasswordHash: "x", Role: role, Lang: lang, Scope: scope, CreatedAt: longAgo}
	must(t, st.CreateUser(ctx, &u))
	return u
}

// mailsTo returns the mails whose envelope goes to addr.
func mailsTo(ms []alerttest.Mail, addr string) []alerttest.Mail {
	var out []alerttest.Mail
	for _, m := range ms {
		if len(m.To) == 1 && m.To[0] == addr {
			out = append(out, m)
		}
	}
	return out
}

// one asserts exactly one multipart/alternative mail to addr in lang and
// returns its text and HTML parts.
func one(t *testing.T, ms []alerttest.Mail, addr, lang string) (subject, text, html string) {
	t.Helper()
	got := mailsTo(ms, addr)
	if len(got) != 1 {
		t.Fatalf("%d mails to %s, want 1", len(got), addr)
	}
	m := got[0]
	if ct := m.Header("Content-Type"); !strings.HasPrefix(ct, "multipart/alternative") {
		t.Errorf("mail to %s: Content-Type %q", addr, ct)
	}
	if cl := m.Header("Content-Language"); cl != lang {
		t.Errorf("mail to %s: Content-Language %q, want %q", addr, cl, lang)
	}
	p := m.Parts()
	if p["text/plain"] == "" || p["text/html"] == "" {
		t.Fatalf("mail to %s: parts %v", addr, p)
	}
	return m.Header("Subject"), p["text/plain"], p["text/html"]
}

func TestSchedulerMailsEachReportOnce(t *testing.T) {
	engines(t, func(t *testing.T, st *store.DB) {
		srv := alerttest.Start(t, alerttest.Options{Mode: smtp.TLSNone})
		must(t, alert.SaveSettings(ctx, st, alert.Settings{SMTP: smtp.Config{Host: srv.Host(), Port: srv.Port(),
			TLS: smtp.TLSNone, From: "wacht@provider.example"}}))
		must(t, st.SetSetting(ctx, alert.SettingServerURL, "https://wacht.example"))
		mueller, _ := seed(t, st)
		_, site := client(t, st, "Smith Ltd", "ops@smith.example", "en")
		device(t, st, site, "smith-srv", core.DeviceRoleServer, now.Add(-10*time.Second))
		client(t, st, "Ohne Kontakt KG", "", "de") // no address: no report
		off, _ := client(t, st, "Abbestellt GmbH", "chef@abbestellt.example", "de")
		must(t, st.SetReportSettings(ctx, core.ReportSettings{ClientID: off.ID, Enabled: false, Hour: "07:00"}))
		late, _ := client(t, st, "Spät AG", "info@spaet.example", "de")
		must(t, st.SetReportSettings(ctx, core.ReportSettings{ClientID: late.ID, Enabled: true, Hour: "18:30",
			Recipients: []string{"a@spaet.example", "b@spaet.example"}}))

		user(t, st, "tech@provider.example", core.RoleTechnician, "", core.Only(mueller.ID))
		user(t, st, "admin@provider.example", core.RoleAdmin, "en", core.AllClients)
		user(t, st, "readonly@provider.example", core.RoleReadOnly, "de", core.AllClients)
		quiet := user(t, st, "quiet@provider.example", core.RoleTechnician, "de", core.AllClients)
		must(t, st.SetDigest(ctx, quiet.ID, false))
		gone := user(t, st, "gone@provider.example", core.RoleTechnician, "de", core.AllClients)
		must(t, st.SetUserDisabled(ctx, gone.ID, true, now)) // disabled users get no digest

		clk := clock.NewFake(now.Add(-2 * time.Minute)) // 06:59
		eng := alert.New(alert.Options{Store: st, Now: clk.Now})
		nudged := 0
		sched := report.New(report.Options{Store: st, Now: clk.Now, Singleton: st.TrySingleton, Nudge: func() { nudged++ }})

		if n, err := sched.Tick(ctx); err != nil || n != 0 {
			t.Fatalf("before the hour: queued %d, %v", n, err)
		}
		clk.Set(now) // 07:01
		n, err := sched.Tick(ctx)
		if err != nil || n != 4 || nudged != 1 {
			t.Fatalf("at the hour: queued %d (nudged %d), %v; want 2 reports and 2 digests", n, nudged, err)
		}
		if _, err := eng.DeliverDue(ctx); err != nil {
			t.Fatal(err)
		}
		ms := srv.WaitFor(t, 4, 10*time.Second)

		subj, text, html := one(t, ms, "it@mueller.example", "de")
		if subj != "[Wacht] Tagesbericht Müller GmbH – 27.11.2026" {
			t.Errorf("German subject %q", subj)
		}
		contains(t, "Müller text", text, "Tagesbericht für Müller GmbH", "Kritische Ereignisse (27)", "und 24 weitere", "98,25 %", "noch offen")
		contains(t, "Müller html", html, "<h1>Tagesbericht für Müller GmbH</h1>", "<td>7000</td>")

		subj, text, html = one(t, ms, "ops@smith.example", "en")
		if subj != "[Wacht] Daily report Smith Ltd – 2026-11-27" {
			t.Errorf("English subject %q", subj)
		}
		contains(t, "Smith text", text, "Daily report for Smith Ltd", "1 device: 1 OK, 0 failing, 0 offline", "No critical events")
		contains(t, "Smith html", html, `<html lang="en">`)
		lacks(t, "Smith", text+html, "Müller", "fs01", "Tagesbericht")

		// The technician's digest covers the clients they may see, in
		// German (their language is unset); the admin's all, in English.
		subj, text, _ = one(t, ms, "tech@provider.example", "de")
		if subj != "[Wacht] Tagesübersicht – 27.11.2026" {
			t.Errorf("digest subject %q", subj)
		}
		contains(t, "technician's digest", text, "Tagesübersicht Ihrer Kunden (1)", "== Müller GmbH ==", "27 kritische Ereignisse",
			"Jetzt gestört: ws01", "Offline: nb01", "https://wacht.example/clients/"+itoa(mueller.ID)+"/report")
		lacks(t, "technician's digest", text, "Smith")
		_, text, _ = one(t, ms, "admin@provider.example", "en")
		contains(t, "admin's digest", text, "Daily digest of your customers (5)", "== Müller GmbH ==", "== Smith Ltd ==", "27 critical events")
		for _, addr := range []string{"readonly@provider.example", "quiet@provider.example", "chef@abbestellt.example", "a@spaet.example"} {
			if got := mailsTo(ms, addr); len(got) != 0 {
				t.Errorf("%d mails to %s, want none", len(got), addr)
			}
		}

		// A restart later the same day (a new scheduler on the same store)
		// sends nothing again.
		clk.Advance(time.Hour)
		again := report.New(report.Options{Store: st, Now: clk.Now})
		if n, err := again.Tick(ctx); err != nil || n != 0 {
			t.Fatalf("after a restart: queued %d, %v", n, err)
		}
		if n, err := eng.DeliverDue(ctx); err != nil || n != 0 {
			t.Fatalf("after a restart: %d deliveries, %v", n, err)
		}
		// At 18:30 the late client's report goes to its two recipients.
		clk.Set(time.Date(2026, 11, 27, 18, 30, 0, 0, berlin))
		if n, err := again.Tick(ctx); err != nil || n != 1 {
			t.Fatalf("at 18:30: queued %d, %v", n, err)
		}
		eng.DeliverDue(ctx)
		ms = srv.WaitFor(t, 6, 10*time.Second)
		one(t, ms, "a@spaet.example", "de")
		one(t, ms, "b@spaet.example", "de")
		if got := len(srv.Mails()); got != 6 {
			t.Errorf("%d mails in all, want 6", got)
		}
	})
}

// TestSchedulerNodesQueueOnce: two server nodes ticking at the same time
// queue each report once.
func TestSchedulerNodesQueueOnce(t *testing.T) {
	engines(t, func(t *testing.T, st *store.DB) {
		mailServer(t, st)
		for _, name := range []string{"A", "B", "C"} {
			client(t, st, "Kunde "+name, "it@"+strings.ToLower(name)+".example", "de")
		}
		clk := clock.NewFake(now)
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		for range 4 {
			s := report.New(report.Options{Store: st, Now: clk.Now, Singleton: st.TrySingleton})
			wg.Go(func() {
				n, err := s.Tick(ctx)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total += n
				mu.Unlock()
			})
		}
		wg.Wait()
		box, err := st.ListOutbox(ctx, 0)
		must(t, err)
		if total != 3 || len(box) != 3 {
			t.Errorf("queued %d, outbox %d; want 3", total, len(box))
		}
	})
}

// TestSchedulerReportSwitchedOnLater: a report switched on, or moved to
// another hour, after that day's slot went by is not sent at once (as if
// missed while the server was down) but at the next slot.
func TestSchedulerReportSwitchedOnLater(t *testing.T) {
	engines(t, func(t *testing.T, st *store.DB) {
		mailServer(t, st)
		off, _ := client(t, st, "Später AG", "it@spaeter.example", "de")
		must(t, st.SetReportSettings(ctx, core.ReportSettings{ClientID: off.ID, Enabled: false, Hour: "07:00"}))
		moved, _ := client(t, st, "Verschoben KG", "it@verschoben.example", "de")
		clk := clock.NewFake(now.Add(-2 * time.Hour)) // 05:01
		sched := report.New(report.Options{Store: st, Now: clk.Now, Singleton: st.TrySingleton})

		// At 10:00 the one is switched on for 07:00, the other moved from
		// 07:00 (already sent today) to 09:00; only a recipient change
		// follows, which keeps the start.
		clk.Set(now)
		if n, err := sched.Tick(ctx); err != nil || n != 1 {
			t.Fatalf("07:01: queued %d, %v; want the moved client's report only", n, err)
		}
		ten := now.Add(3 * time.Hour)
		must(t, st.SetReportSettings(ctx, core.ReportSettings{ClientID: off.ID, Enabled: true, Hour: "07:00", Since: ten}))
		must(t, st.SetReportSettings(ctx, core.ReportSettings{ClientID: moved.ID, Enabled: true, Hour: "09:00", Since: ten}))
		must(t, st.SetReportSettings(ctx, core.ReportSettings{ClientID: off.ID, Enabled: true, Hour: "07:00",
			Recipients: []string{"chef@spaeter.example"}, Since: ten.Add(time.Minute)}))
		if rs, err := st.GetReportSettings(ctx, off.ID); err != nil || !rs.Since.Equal(ten) {
			t.Fatalf("the schedule's start after a recipient change: %v, %v; want %v", rs.Since, err, ten)
		}
		clk.Set(ten.Add(time.Minute))
		if n, err := sched.Tick(ctx); err != nil || n != 0 {
			t.Fatalf("10:01: queued %d, %v; want nothing before tomorrow's slots", n, err)
		}
		clk.Set(now.Add(24 * time.Hour)) // 07:01 tomorrow
		if n, err := sched.Tick(ctx); err != nil || n != 1 {
			t.Fatalf("07:01 tomorrow: queued %d, %v; want the switched-on report", n, err)
		}
		clk.Set(now.Add(26 * time.Hour)) // 09:01 tomorrow
		if n, err := sched.Tick(ctx); err != nil || n != 1 {
			t.Fatalf("09:01 tomorrow: queued %d, %v; want the moved report", n, err)
		}
	})
}
