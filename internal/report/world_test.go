package report_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/alert/notify/smtp"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

var ctx = context.Background()

// berlin is the default report zone (the alert settings' office hours).
var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

// now is the fake clock's time: 07:01 in Berlin, just after the default
// report hour.
var now = time.Date(2026, 11, 27, 7, 1, 0, 0, berlin)

func fp(v float64) *float64 { return &v }

// engines runs fn on SQLite and, when WACHT_TEST_POSTGRES is set, on
// PostgreSQL.
func engines(t *testing.T, fn func(t *testing.T, st *store.DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, storetest.NewSQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, storetest.NewPostgres(t)) })
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// longAgo is when the seeded clients and users were created: before every
// test's clock, so their reports are due from the first scheduled hour.
var longAgo = time.Date(2026, 1, 1, 0, 0, 0, 0, berlin)

// mailServer configures a mail server (never connected to: these tests
// look at the outbox), without which nothing is queued.
func mailServer(t *testing.T, st *store.DB) {
	t.Helper()
	must(t, alert.SaveSettings(ctx, st, alert.Settings{SMTP: smtp.Config{Host: "127.0.0.1", Port: 2525,
		TLS: smtp.TLSNone, From: "wacht@provider.example"}}))
}

// client creates a client with one site.
func client(t *testing.T, st *store.DB, name, email, lang string) (core.Client, core.Site) {
	t.Helper()
	c := core.Client{Name: name, CreatedAt: longAgo, Contact: core.Contact{ContactEmail: email, ReportLang: lang}}
	must(t, st.CreateClient(ctx, &c))
	s := core.Site{ClientID: c.ID, Name: "Zentrale"}
	must(t, st.CreateSite(ctx, &s))
	return c, s
}

// device enrolls a device at site, last heard from at seen (zero: never).
func device(t *testing.T, st *store.DB, site core.Site, host, role string, seen time.Time) core.Device {
	t.Helper()
	secret := []byte("secret-" + host)
	must(t, st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: secret, ClientID: site.ClientID, SiteID: site.ID}))
	d := core.Device{Hostname: host, OS: "windows", MachineID: "m-" + host, PublicKey: []byte("k-" + host), Role: role}
	must(t, st.Enroll(ctx, secret, &d, now.Add(-30*24*time.Hour)))
	must(t, st.SetDeviceRole(ctx, d.ID, role))
	if !seen.IsZero() {
		must(t, st.TouchDevice(ctx, d.ID, seen, "1.0"))
	}
	return d
}

// agentZone is the zone of the agents' clocks, not the report's: event
// times carry it and the report shows them in its own.
var agentZone = time.FixedZone("agent", -5*3600)

// event is one structured event as the eventlog check lists it.
func event(at time.Time, source, id, text string) protocol.Event {
	return protocol.Event{Time: at.In(agentZone), Log: "System", Source: source, ID: id, Level: "error", Text: text}
}

// events is an event-log result's structured data, as the check writes it
// (internal/checks/eventlog).
func events(t testing.TB, total int, evs ...protocol.Event) json.RawMessage {
	t.Helper()
	b, err := protocol.EncodeEvents(protocol.Events{Total: total, Events: evs})
	must(t, err)
	return b
}

// eventMessage is an event-log result's message; the report never reads it
// from an agent that sent structured events.
func eventMessage(total int) core.Text {
	return core.Text{EN: fmt.Sprintf("%d critical events since the last check", total), DE: fmt.Sprintf("%d kritische Ereignisse", total)}
}

var seq int

func result(check, key string, status core.Status, at time.Time, msg core.Text, value *float64, unit string) core.Result {
	seq++
	return core.Result{ID: fmt.Sprintf("r-%d-%d", seq, at.UnixNano()), Check: check, Key: key, Status: status,
		Value: value, Unit: unit, Message: msg, At: at}
}

// eventResult is an event-log result with structured events.
func eventResult(t testing.TB, status core.Status, at time.Time, total int, evs ...protocol.Event) core.Result {
	r := result("eventlog", "", status, at, eventMessage(total), fp(float64(total)), "events")
	r.Data = events(t, total, evs...)
	return r
}

// seed builds Müller GmbH's day: a file server with critical events, a
// full disk that recovered and an outage, a workstation whose backup
// still fails, and a notebook that went offline.
func seed(t *testing.T, st *store.DB) (core.Client, map[string]core.Device) {
	t.Helper()
	c, site := client(t, st, "Müller GmbH", "it@mueller.example", "de")
	devs := map[string]core.Device{
		"fs01": device(t, st, site, "fs01", core.DeviceRoleServer, now.Add(-20*time.Second)),
		"ws01": device(t, st, site, "ws01", core.DeviceRoleWorkstation, now.Add(-time.Minute)),
		"nb01": device(t, st, site, "nb01", core.DeviceRoleNotebook, now.Add(-3*time.Hour)),
	}
	h := func(d time.Duration) time.Time { return now.Add(-d) }
	must(t, st.SaveResults(ctx, devs["fs01"].ID, []core.Result{
		eventResult(t, core.StatusFailure, h(20*time.Hour), 2,
			event(h(20*time.Hour+2*time.Minute), "Service Control Manager", "7000", "Der Dienst \"Veeam\" wurde nicht gestartet."),
			event(h(20*time.Hour+time.Minute), "disk", "7", "Auf dem Gerät \\Device\\Harddisk1\\DR1 wurde ein fehlerhafter Block gefunden.")),
		eventResult(t, core.StatusFailure, h(2*time.Hour), 25,
			event(h(2*time.Hour+time.Minute), "disk", "7", "Auf dem Gerät \\Device\\Harddisk1\\DR1 wurde ein fehlerhafter Block gefunden.")),
		eventResult(t, core.StatusOK, h(time.Hour), 0),
		// Outside the window: not reported.
		eventResult(t, core.StatusFailure, h(30*time.Hour), 1, event(h(30*time.Hour), "Old", "1", "too old")),
		result("disk", "D:", core.StatusFailure, h(5*time.Hour), core.Text{EN: "D: 97.5% used", DE: "D: 97,5 % belegt"}, fp(97.5), "%"),
		result("disk", "D:", core.StatusFailure, h(4*time.Hour), core.Text{EN: "D: 98.25% used", DE: "D: 98,25 % belegt"}, fp(98.25), "%"),
		result("disk", "D:", core.StatusOK, h(3*time.Hour), core.Text{EN: "D: 60% used", DE: "D: 60 % belegt"}, fp(60), "%"),
	}))
	must(t, st.SaveResults(ctx, devs["ws01"].ID, []core.Result{
		result("backup", "", core.StatusFailure, h(26*time.Hour), core.Text{EN: "last backup failed", DE: "letzte Sicherung fehlgeschlagen"}, nil, ""),
		result("backup", "", core.StatusFailure, h(10*time.Hour), core.Text{EN: "last backup failed", DE: "letzte Sicherung fehlgeschlagen"}, nil, ""),
		result("cpu", "", core.StatusOK, h(time.Minute), core.Text{EN: "5%"}, fp(5), "%"),
	}))
	closed := h(3 * time.Hour)
	must(t, st.ApplyAlertChange(ctx, core.AlertChange{Open: []core.Outage{
		{Ref: "o-disk", DeviceID: devs["fs01"].ID, Kind: core.OutageCheck, CheckName: "disk", CheckKey: "D:", Severity: core.AlertFailure,
			Value: fp(97.5), Unit: "%", Message: core.Text{EN: "D: 97.5% used", DE: "D: 97,5 % belegt"}, OpenedAt: h(5 * time.Hour)},
		{Ref: "o-backup", DeviceID: devs["ws01"].ID, Kind: core.OutageCheck, CheckName: "backup", Severity: core.AlertFailure,
			Message: core.Text{EN: "last backup failed", DE: "letzte Sicherung fehlgeschlagen"}, OpenedAt: h(26 * time.Hour)},
		{Ref: "o-nb", DeviceID: devs["nb01"].ID, Kind: core.OutageOffline, Severity: "offline", OpenedAt: h(2*time.Hour + 45*time.Minute)},
	}, Close: []core.OutageClose{{Ref: "o-disk", At: closed}}}))
	return c, devs
}

func itoa(id int64) string { return fmt.Sprint(id) }
