package report_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/clock"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/store"
)

// queuedTo counts the queued mails to addr whose dedupe key starts with
// prefix ("report:", "digest:", "monthly:").
func queuedTo(t *testing.T, st *store.DB, prefix, addr string) int {
	t.Helper()
	box, err := st.ListOutbox(ctx, 0)
	must(t, err)
	n := 0
	for _, it := range box {
		if it.Target == addr && strings.HasPrefix(it.DedupeKey, prefix) {
			n++
		}
	}
	return n
}

// TestSchedulerStartsAtTheNextHour: a client or user created after the
// day's hour gets its first report or digest at the next day's hour, not
// at once; one that existed at the hour while the server was down still
// gets it when the server is back.
func TestSchedulerStartsAtTheNextHour(t *testing.T) {
	engines(t, func(t *testing.T, st *store.DB) {
		mailServer(t, st)
		client(t, st, "Alt GmbH", "it@alt.example", "de") // existed all along
		user(t, st, "old@provider.example", core.RoleTechnician, "de", core.AllClients)
		created := time.Date(2026, 11, 27, 10, 0, 0, 0, berlin)
		nc := core.Client{Name: "Neu GmbH", CreatedAt: created, Contact: core.Contact{ContactEmail: "it@neu.example", ReportLang: "de"}}
		must(t, st.CreateClient(ctx, &nc))
		nu := core.User{Email: "new@provider.example", PasswordHash: "x", Role: core.RoleTechnician, Scope: core.AllClients, CreatedAt: created}
		must(t, st.CreateUser(ctx, &nu))

		// The server was down at 07:00 and comes back at 10:01.
		clk := clock.NewFake(created.Add(time.Minute))
		sched := report.New(report.Options{Store: st, Now: clk.Now})
		if _, err := sched.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if queuedTo(t, st, "report:", "it@alt.example") != 1 || queuedTo(t, st, "digest:", "old@provider.example") != 1 {
			t.Error("the report and digest due at 07:00 were not caught up after the outage")
		}
		if n := queuedTo(t, st, "report:", "it@neu.example"); n != 0 {
			t.Errorf("the new client got %d reports at once, want none before tomorrow's hour", n)
		}
		if n := queuedTo(t, st, "digest:", "new@provider.example"); n != 0 {
			t.Errorf("the new user got %d digests at once, want none before tomorrow's hour", n)
		}

		clk.Set(time.Date(2026, 11, 28, 6, 59, 0, 0, berlin))
		if n, err := sched.Tick(ctx); err != nil || n != 0 {
			t.Fatalf("before the next hour: queued %d, %v", n, err)
		}
		clk.Set(time.Date(2026, 11, 28, 7, 0, 0, 0, berlin))
		if _, err := sched.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if n := queuedTo(t, st, "report:", "it@neu.example"); n != 1 {
			t.Errorf("the new client got %d reports at the next hour, want 1", n)
		}
		if n := queuedTo(t, st, "digest:", "new@provider.example"); n != 1 {
			t.Errorf("the new user got %d digests at the next hour, want 1", n)
		}
	})
}

// TestMonthlyReportStartsWithTheClientsFirstMonth: a client created on the
// first after the hour, or during a month, gets no monthly report of a
// month before it existed; its first covers the month it was created in.
func TestMonthlyReportStartsWithTheClientsFirstMonth(t *testing.T) {
	engines(t, func(t *testing.T, st *store.DB) {
		mailServer(t, st)
		client(t, st, "Alt GmbH", "it@alt.example", "de")
		first := core.Client{Name: "Erster GmbH", CreatedAt: time.Date(2026, 12, 1, 9, 0, 0, 0, berlin),
			Contact: core.Contact{ContactEmail: "it@erster.example", ReportLang: "de"}}
		must(t, st.CreateClient(ctx, &first))
		early := core.Client{Name: "Früh GmbH", CreatedAt: time.Date(2026, 12, 1, 6, 0, 0, 0, berlin),
			Contact: core.Contact{ContactEmail: "it@frueh.example", ReportLang: "de"}}
		must(t, st.CreateClient(ctx, &early))
		mid := core.Client{Name: "Mitte GmbH", CreatedAt: time.Date(2026, 11, 15, 12, 0, 0, 0, berlin),
			Contact: core.Contact{ContactEmail: "it@mitte.example", ReportLang: "de"}}
		must(t, st.CreateClient(ctx, &mid))

		clk := clock.NewFake(time.Date(2026, 12, 1, 9, 1, 0, 0, berlin))
		sched := report.New(report.Options{Store: st, Now: clk.Now})
		if _, err := sched.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		got := monthlyMails(t, st)
		if m, ok := got["it@alt.example"]; !ok || !strings.Contains(m.Subject, "November 2026") {
			t.Errorf("the old client's November report was not caught up: %v", got)
		}
		if _, ok := got["it@mitte.example"]; !ok {
			t.Errorf("the client created mid-November got no November report: %v", got)
		}
		for _, addr := range []string{"it@erster.example", "it@frueh.example"} {
			if _, ok := got[addr]; ok {
				t.Errorf("%s got a November report though its client was created in December", addr)
			}
		}
		clk.Set(time.Date(2027, 1, 1, 7, 0, 0, 0, berlin))
		if _, err := sched.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		for _, addr := range []string{"it@erster.example", "it@frueh.example"} {
			if n := queuedTo(t, st, "monthly:", addr); n != 1 {
				t.Errorf("%s: %d monthly reports on 1 January, want its December report", addr, n)
			}
		}
	})
}

// TestSchedulerQueuesNothingWithoutMailServer: without a mail server no
// report or digest lands in the outbox (where it would only retry), and
// "send now" says why; once one is configured the day's reports go out.
func TestSchedulerQueuesNothingWithoutMailServer(t *testing.T) {
	engines(t, func(t *testing.T, st *store.DB) {
		c, _ := client(t, st, "Müller GmbH", "it@mueller.example", "de")
		user(t, st, "tech@provider.example", core.RoleTechnician, "de", core.AllClients)
		clk := clock.NewFake(now)
		sched := report.New(report.Options{Store: st, Now: clk.Now})
		if n, err := sched.Tick(ctx); err != nil || n != 0 {
			t.Fatalf("without a mail server: queued %d, %v", n, err)
		}
		if _, err := report.SendNow(ctx, st, c, now); !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), "no mail server") {
			t.Errorf("send now without a mail server: %v", err)
		}
		if box, err := st.ListOutbox(ctx, 0); err != nil || len(box) != 0 {
			t.Fatalf("outbox without a mail server: %d rows, %v", len(box), err)
		}
		mailServer(t, st)
		clk.Advance(time.Hour)
		if n, err := sched.Tick(ctx); err != nil || n != 2 {
			t.Fatalf("with a mail server: queued %d, %v; want the report and the digest", n, err)
		}
	})
}
