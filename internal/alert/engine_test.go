package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/alerttest"
	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/alert/notify/smtp"
	"github.com/wacht-rmm/wacht/internal/alert/notify/webhook"
	"github.com/wacht-rmm/wacht/internal/clock"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

var ctx = context.Background()

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// enroll creates a device of role in a client and site of the given names.
func enroll(t *testing.T, st core.Store, client, site, host, role string) core.Device {
	t.Helper()
	_, s, err := st.EnsureClientSite(ctx, client, site)
	must(t, "EnsureClientSite", err)
	secret := "secret-" + host
	must(t, "token", st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: []byte(secret), SiteID: s.ID}))
	d := core.Device{Hostname: host, OS: "linux", MachineID: "mid-" + host, PublicKey: []byte("key-" + host), Role: role}
	must(t, "Enroll", st.Enroll(ctx, []byte(secret), &d, t0))
	d, err = st.GetDevice(ctx, d.ID)
	must(t, "GetDevice", err)
	return d
}

func smtpSettings(srv *alerttest.Server, mode string) Settings {
	return Settings{SMTP: smtpConfig(srv, mode)}
}

func recipient(t *testing.T, st core.Store, r core.Recipient) core.Recipient {
	t.Helper()
	if r.Hours == "" {
		r.Hours = core.HoursAlways
	}
	must(t, "CreateRecipient", st.CreateRecipient(ctx, &r))
	return r
}

func result(check, key string, s core.Status, v float64, at time.Time) core.Result {
	return core.Result{ID: fmt.Sprintf("%s-%s-%d", check, key, at.UnixNano()), Check: check, Key: key, Status: s,
		Value: &v, Unit: "%", Message: core.Text{EN: fmt.Sprintf("%s is %.1f%% full", key, v),
			DE: fmt.Sprintf("%s ist zu %s %% voll", key, strings.Replace(fmt.Sprintf("%.1f", v), ".", ",", 1))}, At: at}
}

// save stores results like the gateway and evaluates them like the engine's
// workers do.
func save(t *testing.T, st core.Store, e *Engine, dev int64, rs ...core.Result) {
	t.Helper()
	must(t, "SaveResults", st.SaveResults(ctx, dev, rs))
	must(t, "EvaluateDevice", e.EvaluateDevice(ctx, dev, rs))
}

// deliverAll delivers every due message; it returns once the mail server
// accepted each of them (delivery is synchronous), so what the server holds
// then is final and a test can count it without waiting for stragglers.
func deliverAll(t *testing.T, e *Engine) {
	t.Helper()
	for {
		n, err := e.DeliverDue(ctx)
		must(t, "DeliverDue", err)
		if n == 0 {
			return
		}
	}
}

func TestMailOutageAndRecovery(t *testing.T) {
	st := storetest.NewSQLite(t)
	srv := alerttest.Start(t, alerttest.Options{Mode: "starttls", Username: "wacht", Password: "pw"})
	s := smtpSettings(srv, "starttls")
	s.SMTP.Username, s.SMTP.Password = "wacht", "pw"
	must(t, "SaveSettings", SaveSettings(ctx, st, s))
	must(t, "server_url", st.SetSetting(ctx, SettingServerURL, "https://rmm.example.de"))
	dev := enroll(t, st, "Bäckerei Müller GmbH", "Filiale Nord", "srv-dc01", core.DeviceRoleServer)
	other := enroll(t, st, "Other Client", "HQ", "other-pc", core.DeviceRoleWorkstation)
	recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "noc@provider.example", Lang: "en"})
	recipient(t, st, core.Recipient{Level: core.LevelClient, TargetID: dev.ClientID, Channel: core.ChannelEmail,
		Target: "technik@provider.example", Lang: "de", Hours: core.HoursOffice})
	recipient(t, st, core.Recipient{Level: core.LevelClient, TargetID: dev.ClientID, Channel: core.ChannelEmail,
		Target: "oncall@provider.example", Lang: "en", Hours: core.HoursAfter})
	recipient(t, st, core.Recipient{Level: core.LevelSite, TargetID: dev.SiteID + 1000, Channel: core.ChannelEmail,
		Target: "unrelated@provider.example", Lang: "en"})

	clk := clock.NewFake(t0) // Monday 10:00 in Berlin: office hours
	e := New(Options{Store: st, Now: clk.Now, SMTPTLS: srv.CertPool})

	save(t, st, e, dev.ID, result("disk", "C:", core.StatusOK, 50, t0))
	save(t, st, e, dev.ID, result("disk", "C:", core.StatusFailure, 96.25, t0.Add(time.Minute)))
	save(t, st, e, other.ID, result("disk", "/", core.StatusFailure, 99, t0.Add(time.Minute)))
	deliverAll(t, e)
	mails := srv.WaitFor(t, 2, 10*time.Second)
	byTo := map[string]alerttest.Mail{}
	for _, m := range mails {
		if len(m.To) != 1 {
			t.Fatalf("mail to %v, want one recipient each", m.To)
		}
		byTo[m.To[0]] = m
		if !m.TLS || m.AuthUser != "wacht" {
			t.Errorf("mail to %v: TLS %v, auth %q; want STARTTLS and authentication", m.To, m.TLS, m.AuthUser)
		}
	}
	de, ok := byTo["technik@provider.example"]
	if !ok || len(byTo) != 2 {
		t.Fatalf("recipients = %v, want technik@ (client, office hours, German) and noc@ (default, other client)", keys(byTo))
	}
	if subj := de.Header("Subject"); subj != "[Wacht] STÖRUNG: disk C: auf srv-dc01 (Bäckerei Müller GmbH / Filiale Nord)" {
		t.Errorf("German subject = %q", subj)
	}
	body := de.Body()
	for _, want := range []string{"Eine Prüfung schlägt fehl.", "Kunde:      Bäckerei Müller GmbH", "Standort:   Filiale Nord",
		"Gerät:      srv-dc01", "Prüfung:    disk C:", "Status:     Fehler", "Wert:       96,25 %",
		"C: ist zu 96,2 % voll", "16.03.2026 10:01:00 CET", "https://rmm.example.de/devices/" + fmt.Sprint(dev.ID)} {
		if !strings.Contains(body, want) {
			t.Errorf("German body lacks %q:\n%s", want, body)
		}
	}
	if de.Header("Content-Language") != "de" || de.Header("Message-Id") == "" {
		t.Errorf("headers: Content-Language %q, Message-Id %q", de.Header("Content-Language"), de.Header("Message-Id"))
	}
	if en := byTo["noc@provider.example"]; !strings.HasPrefix(en.Header("Subject"), "[Wacht] FAILURE: disk / on other-pc (Other Client / HQ)") ||
		!strings.Contains(en.Body(), "Value:      99 %") || !strings.Contains(en.Body(), "Customer:   Other Client") {
		t.Errorf("English mail: %q\n%s", en.Header("Subject"), en.Body())
	}

	// Still failing: no second mail. Then recovery after office hours goes
	// to the after-hours recipient, in English.
	save(t, st, e, dev.ID, result("disk", "C:", core.StatusFailure, 97, t0.Add(2*time.Minute)))
	evening := time.Date(2026, 3, 16, 19, 30, 0, 0, time.UTC)
	clk.Set(evening)
	save(t, st, e, dev.ID, result("disk", "C:", core.StatusOK, 40, evening))
	deliverAll(t, e)
	mails = srv.WaitFor(t, 3, 10*time.Second)
	if len(mails) != 3 {
		t.Fatalf("%d mails, want 3", len(mails))
	}
	rec := mails[2]
	if rec.To[0] != "oncall@provider.example" || !strings.HasPrefix(rec.Header("Subject"), "[Wacht] RECOVERED: disk C: on srv-dc01") {
		t.Errorf("recovery mail to %v: %q", rec.To, rec.Header("Subject"))
	}
	if b := rec.Body(); !strings.Contains(b, "Down since: 2026-03-16 10:01:00 CET") || !strings.Contains(b, "Status:     ok") {
		t.Errorf("recovery body:\n%s", b)
	}
	outages, _ := st.ListOutages(ctx, core.OutageFilter{DeviceID: dev.ID})
	if len(outages) != 1 || outages[0].ClosedAt == nil || !outages[0].ClosedAt.Equal(evening) || !outages[0].Notified {
		t.Errorf("outages = %+v", outages)
	}
	if n := len(srv.Mails()); n != 3 {
		t.Errorf("%d mails in the end, want 3", n)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestWebhookSignedAndRetried(t *testing.T) {
	st := storetest.NewSQLite(t)
	dev := enroll(t, st, "ACME", "Main", "web01", core.DeviceRoleServer)
	const secret = "hook-secret"
	var calls atomic.Int32
	type got struct {
		body  []byte
		sig   string
		ts    string
		deliv string
	}
	var mu sync.Mutex
	var bodies []got
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, got{b, r.Header.Get(webhook.HeaderSignature), r.Header.Get(webhook.HeaderTimestamp),
			r.Header.Get(webhook.HeaderDelivery)})
		mu.Unlock()
		if calls.Add(1) <= 2 {
			http.Error(w, "receiver down", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	chat := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]string
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || !strings.Contains(m["text"], "FAILURE: cpu on web01") {
			t.Errorf("chat body %v (%v)", m, err)
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer chat.Close()
	recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelWebhook, Target: hook.URL,
		Lang: "en", Format: core.WebhookJSON, Secret: secret})
	recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelWebhook, Target: chat.URL,
		Lang: "en", Format: core.WebhookChat})

	clk := clock.NewFake(t0)
	var failed sync.Map // channel → *atomic.Int32
	e := New(Options{Store: st, Now: clk.Now, RetryMin: 10 * time.Second, RetryMax: time.Minute,
		DeliveryFailed: func(channel string) {
			n, _ := failed.LoadOrStore(channel, new(atomic.Int32))
			n.(*atomic.Int32).Add(1)
		}})
	save(t, st, e, dev.ID, core.Result{ID: "r1", Check: "cpu", Status: core.StatusFailure, At: t0})
	if n, err := st.OutboxBacklog(ctx); err != nil || n != 2 {
		t.Fatalf("outbox backlog %d (%v), want the two webhooks", n, err)
	}
	for i := 0; i < 3; i++ {
		deliverAll(t, e)
		clk.Set(clk.Now().Add(time.Minute)) // past the back-off
	}
	deliverAll(t, e)
	if n := calls.Load(); n != 3 {
		t.Fatalf("receiver called %d times, want 3 (two 500s, then success)", n)
	}
	if n, ok := failed.Load(core.ChannelWebhook); !ok || n.(*atomic.Int32).Load() != 2 {
		t.Errorf("failed webhook deliveries reported: %v, want 2", n)
	}
	if n, err := st.OutboxBacklog(ctx); err != nil || n != 0 {
		t.Errorf("outbox backlog %d (%v) after delivery, want 0", n, err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, b := range bodies {
		if !webhook.Verify(secret, b.ts, b.body, b.sig) {
			t.Errorf("call %d: bad signature %q", i, b.sig)
		}
		if webhook.Verify("wrong", b.ts, b.body, b.sig) {
			t.Errorf("call %d: signature verifies with a wrong key", i)
		}
		if b.deliv == "" || b.deliv != bodies[0].deliv {
			t.Errorf("call %d: delivery ID %q differs from the first %q", i, b.deliv, bodies[0].deliv)
		}
	}
	var p webhook.Payload
	must(t, "decoding payload", json.Unmarshal(bodies[2].body, &p))
	if p.Event.Kind != notify.KindOutage || p.Event.Device != "web01" || p.Event.Client != "ACME" || p.Event.Check != "cpu" ||
		p.Event.Status != "failure" || p.ID != bodies[2].deliv {
		t.Errorf("payload = %+v", p)
	}
	box, _ := st.ListOutbox(ctx, 0)
	for _, m := range box {
		if m.DeliveredAt == nil {
			t.Errorf("undelivered: %+v", m)
		}
		if m.Target == hook.URL && (m.Attempts != 3 || m.LastError != "") {
			t.Errorf("signed webhook: %d attempts, error %q", m.Attempts, m.LastError)
		}
	}
}

func TestThresholdAckAndClear(t *testing.T) {
	st := storetest.NewSQLite(t)
	srv := alerttest.Start(t, alerttest.Options{Mode: "none"})
	must(t, "SaveSettings", SaveSettings(ctx, st, smtpSettings(srv, "none")))
	dev := enroll(t, st, "ACME", "Main", "db01", core.DeviceRoleServer)
	recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "noc@provider.example", Lang: "en"})
	clk := clock.NewFake(t0)
	e := New(Options{Store: st, Now: clk.Now, AlertAfter: func(_ context.Context, _ int64, check string) int {
		if check == "memory" {
			return 3
		}
		return 1
	}})
	at := t0
	step := func(check string, s core.Status) {
		at = at.Add(time.Minute)
		save(t, st, e, dev.ID, result(check, "", s, 1, at))
		deliverAll(t, e)
	}
	step("memory", core.StatusFailure)
	step("memory", core.StatusFailure)
	if n, os := len(srv.Mails()), openOutages(t, st); n != 0 || len(os) != 0 {
		t.Fatalf("after 2 of 3 failures: %d mails, outages %+v", n, os)
	}
	step("memory", core.StatusFailure)
	srv.WaitFor(t, 1, 10*time.Second)
	os := openOutages(t, st)
	if len(os) != 1 || os[0].CheckName != "memory" {
		t.Fatalf("after 3 failures: %+v", os)
	}
	must(t, "AckOutage", st.AckOutage(ctx, os[0].ID, "user:tech@example.org", "replacing RAM", at))

	// A cleared check: its failure is recorded as an outage but silent.
	step("cpu", core.StatusOK)
	states, _ := st.AlertStates(ctx, dev.ID)
	var cpu core.AlertState
	for _, a := range states {
		if a.Name == "cpu" {
			cpu = a
		}
	}
	must(t, "ClearCheck", st.ClearCheck(ctx, dev.ID, cpu.CheckID, nil, true))
	step("cpu", core.StatusFailure)
	step("cpu", core.StatusOK) // passing ends the clear
	step("cpu", core.StatusFailure)
	mails := srv.Mails()
	if len(mails) != 2 || !strings.Contains(mails[1].Header("Subject"), "FAILURE: cpu on db01") {
		var subjects []string
		for _, m := range mails {
			subjects = append(subjects, m.Header("Subject"))
		}
		t.Fatalf("mails = %q, want the memory outage and the cpu outage after the clear ended", subjects)
	}
	// The acknowledged memory outage still reports its recovery.
	step("memory", core.StatusOK)
	mails = srv.WaitFor(t, 3, 10*time.Second)
	if !strings.Contains(mails[2].Header("Subject"), "RECOVERED: memory") {
		t.Errorf("third mail: %q", mails[2].Header("Subject"))
	}
	all, _ := st.ListOutages(ctx, core.OutageFilter{DeviceID: dev.ID})
	if len(all) != 3 {
		t.Errorf("%d outages, want 3 (memory, silent cpu, cpu)", len(all))
	}
}

func openOutages(t *testing.T, st core.Store) []core.Outage {
	t.Helper()
	os, err := st.ListOutages(ctx, core.OutageFilter{OpenOnly: true})
	must(t, "ListOutages", err)
	return os
}

func TestFlappingRateLimited(t *testing.T) {
	st := storetest.NewSQLite(t)
	srv := alerttest.Start(t, alerttest.Options{Mode: "none"})
	s := smtpSettings(srv, "none")
	s.FlapChanges, s.FlapWindow = 3, 600
	must(t, "SaveSettings", SaveSettings(ctx, st, s))
	dev := enroll(t, st, "ACME", "Main", "fs01", core.DeviceRoleServer)
	recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "noc@provider.example", Lang: "de"})
	e := New(Options{Store: st, Now: func() time.Time { return t0 }})
	at := t0
	for i := 0; i < 12; i++ {
		at = at.Add(30 * time.Second)
		s := core.StatusFailure
		if i%2 == 1 {
			s = core.StatusOK
		}
		save(t, st, e, dev.ID, result("disk", "/", s, 1, at))
	}
	deliverAll(t, e)
	var subjects []string
	for _, m := range srv.Mails() {
		subjects = append(subjects, strings.SplitN(m.Header("Subject"), ":", 2)[0])
	}
	// Changes 1–3 notify; the fourth is "more than 3": one flapping message.
	// Delivery runs in parallel: compare without order.
	want := []string{"[Wacht] BEHOBEN", "[Wacht] INSTABIL", "[Wacht] STÖRUNG", "[Wacht] STÖRUNG"}
	slices.Sort(subjects)
	if !slices.Equal(subjects, want) {
		t.Fatalf("subjects = %q, want %q (12 changes, one flapping message)", subjects, want)
	}
	const before = 4
	// Stable for the window: one message, then normal again.
	save(t, st, e, dev.ID, result("disk", "/", core.StatusOK, 1, at.Add(11*time.Minute)))
	deliverAll(t, e)
	if ms := srv.WaitFor(t, before+1, 10*time.Second); !strings.HasPrefix(ms[before].Header("Subject"), "[Wacht] WIEDER STABIL") {
		t.Errorf("last mail: %q", ms[before].Header("Subject"))
	}
	if os := openOutages(t, st); len(os) != 0 {
		t.Errorf("open outages: %+v", os)
	}
	if all, _ := st.ListOutages(ctx, core.OutageFilter{}); len(all) != 6 {
		t.Errorf("%d outages recorded, want 6", len(all))
	}
}

// TestOutboxSurvivesRestart stops the engine part-way through delivery and
// reopens the store: after the restart every message arrives exactly once.
func TestOutboxSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	st, err := store.Open(ctx, "", dir)
	must(t, "Open", err)
	srv := alerttest.Start(t, alerttest.Options{Mode: "tls"})
	must(t, "SaveSettings", SaveSettings(ctx, st, smtpSettings(srv, "tls")))
	recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "a@provider.example", Lang: "en"})
	recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "b@provider.example", Lang: "de"})
	const devices = 10
	e1ctx, stop := context.WithCancel(ctx)
	var sent atomic.Int32
	var e1 *Engine
	e1 = New(Options{Store: st, Senders: 1, Poll: 20 * time.Millisecond, RetryMin: 10 * time.Millisecond, SMTPTLS: srv.CertPool,
		Deliver: func(ctx context.Context, m core.OutboxItem) error {
			if sent.Add(1) > 7 {
				stop() // the "crash": nothing more is delivered
				return ctx.Err()
			}
			return e1.deliverChannel(ctx, m)
		}})
	for i := range devices {
		dev := enroll(t, st, "C", "S", fmt.Sprintf("host%02d", i), core.DeviceRoleServer)
		save(t, st, e1, dev.ID, result("disk", "/", core.StatusFailure, 99, t0))
	}
	done := make(chan struct{})
	go func() { e1.Run(e1ctx); close(done) }()
	<-done
	if n := len(srv.Mails()); n != 7 {
		t.Fatalf("%d mails before the stop, want 7", n)
	}
	st.Close()

	st, err = store.Open(ctx, "", dir)
	must(t, "reopen", err)
	defer st.Close()
	e2ctx, stop2 := context.WithCancel(ctx)
	defer stop2()
	e2 := New(Options{Store: st, Poll: 20 * time.Millisecond, RetryMin: 10 * time.Millisecond, SMTPTLS: srv.CertPool})
	e2done := make(chan struct{})
	go func() { e2.Run(e2ctx); close(e2done) }()
	srv.WaitFor(t, 2*devices, time.Minute)
	// Once every message is marked delivered and the engine has stopped,
	// nothing more can be sent: a duplicate would be among the mails now.
	waitFor(t, "every message to be marked delivered", func() bool {
		box, err := st.ListOutbox(ctx, 0)
		must(t, "ListOutbox", err)
		for _, m := range box {
			if m.DeliveredAt == nil {
				return false
			}
		}
		return len(box) == 2*devices
	})
	stop2()
	<-e2done
	ids := map[string]int{}
	for _, m := range srv.Mails() {
		if !m.TLS {
			t.Errorf("mail without TLS")
		}
		ids[m.Header("Message-Id")+" "+m.To[0]]++
	}
	if len(ids) != 2*devices || len(srv.Mails()) != 2*devices {
		t.Fatalf("%d mails with %d distinct IDs, want %d each", len(srv.Mails()), len(ids), 2*devices)
	}
	box, _ := st.ListOutbox(ctx, 0)
	for _, m := range box {
		if m.DeliveredAt == nil {
			t.Errorf("not marked delivered: %+v", m)
		}
	}
}

func TestOfflineAndGoodbye(t *testing.T) {
	st := storetest.NewSQLite(t)
	srv := alerttest.Start(t, alerttest.Options{Mode: "none"})
	must(t, "SaveSettings", SaveSettings(ctx, st, smtpSettings(srv, "none")))
	recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "noc@provider.example", Lang: "en"})
	quiet := enroll(t, st, "ACME", "Main", "killed", core.DeviceRoleServer)
	bye := enroll(t, st, "ACME", "Main", "rebooted", core.DeviceRoleServer)
	ws := enroll(t, st, "ACME", "Main", "laptop", core.DeviceRoleNotebook)
	for _, d := range []core.Device{quiet, bye, ws} {
		must(t, "TouchDevice", st.TouchDevice(ctx, d.ID, t0, ""))
	}
	clk := clock.NewFake(t0)
	e := New(Options{Store: st, Now: clk.Now})
	clk.Set(t0.Add(time.Second))
	must(t, "Goodbye", e.Goodbye(ctx, bye.ID, "reboot"))

	sweepAt := func(d time.Duration) map[int64]string {
		clk.Set(t0.Add(d))
		must(t, "Sweep", e.Sweep(ctx))
		deliverAll(t, e)
		ps, err := e.PresenceStates(ctx)
		must(t, "PresenceStates", err)
		out := map[int64]string{}
		for _, p := range ps {
			out[p.DeviceID] = p.State
		}
		return out
	}
	if got := sweepAt(100 * time.Second); got[quiet.ID] != PresenceOffline || got[bye.ID] != PresenceRebooting || got[ws.ID] != PresenceOnline {
		t.Fatalf("at 100 s: %v", got)
	}
	got := sweepAt(7 * time.Minute)
	if got[quiet.ID] != PresenceAlerted || got[bye.ID] != PresenceRebooting {
		t.Fatalf("at 7 min: %v", got)
	}
	mails := srv.WaitFor(t, 1, 10*time.Second)
	if len(mails) != 1 || !strings.HasPrefix(mails[0].Header("Subject"), "[Wacht] OFFLINE: killed (ACME / Main)") ||
		!strings.Contains(mails[0].Body(), "has not been heard from since 2026-03-16 10:00:00 CET") {
		t.Fatalf("offline mail: %q\n%s", mails[0].Header("Subject"), mails[0].Body())
	}
	// The killed one comes back; the rebooted one stays away past the grace.
	must(t, "TouchDevice", st.TouchDevice(ctx, quiet.ID, t0.Add(8*time.Minute), ""))
	got = sweepAt(8*time.Minute + 10*time.Second)
	if got[quiet.ID] != PresenceOnline {
		t.Fatalf("after return: %v", got)
	}
	must(t, "TouchDevice", st.TouchDevice(ctx, quiet.ID, t0.Add(31*time.Minute), ""))
	got = sweepAt(32 * time.Minute)
	if got[bye.ID] != PresenceAlerted || got[ws.ID] != PresenceAlerted {
		t.Fatalf("at 32 min: %v", got)
	}
	mails = srv.WaitFor(t, 4, 10*time.Second)
	var subjects []string
	for _, m := range mails {
		subjects = append(subjects, m.Header("Subject"))
	}
	slices.Sort(subjects)
	want := []string{"[Wacht] OFFLINE: killed (ACME / Main)", "[Wacht] OFFLINE: laptop (ACME / Main)",
		"[Wacht] OFFLINE: rebooted (ACME / Main)", "[Wacht] ONLINE AGAIN: killed (ACME / Main)"}
	if !slices.Equal(subjects, want) {
		t.Errorf("subjects = %q\nwant %q", subjects, want)
	}
}

func TestReconcileAfterCrash(t *testing.T) {
	st := storetest.NewSQLite(t)
	srv := alerttest.Start(t, alerttest.Options{Mode: "none"})
	must(t, "SaveSettings", SaveSettings(ctx, st, smtpSettings(srv, "none")))
	recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "noc@provider.example", Lang: "en"})
	dev := enroll(t, st, "ACME", "Main", "app01", core.DeviceRoleServer)
	// Stored, acked, but the server died before evaluating.
	must(t, "SaveResults", st.SaveResults(ctx, dev.ID, []core.Result{result("disk", "/", core.StatusFailure, 99, t0)}))
	e := New(Options{Store: st, Now: func() time.Time { return t0 }})
	must(t, "Reconcile", e.Reconcile(ctx))
	must(t, "Reconcile again", e.Reconcile(ctx))
	deliverAll(t, e)
	if n := len(srv.Mails()); n != 1 {
		t.Errorf("%d mails, want 1", n)
	}
}

// TestOnResultsAsync drives the engine the way the gateway does.
func TestOnResultsAsync(t *testing.T) {
	st := storetest.NewSQLite(t)
	srv := alerttest.Start(t, alerttest.Options{Mode: "none"})
	must(t, "SaveSettings", SaveSettings(ctx, st, smtpSettings(srv, "none")))
	recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "noc@provider.example", Lang: "en"})
	e := New(Options{Store: st})
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go e.Run(rctx)
	var devs []core.Device
	for i := range 5 {
		devs = append(devs, enroll(t, st, "ACME", "Main", fmt.Sprintf("h%d", i), core.DeviceRoleServer))
	}
	now := time.Now()
	for _, d := range devs {
		rs := []core.Result{result("disk", "/", core.StatusOK, 1, now), result("disk", "/", core.StatusFailure, 99, now.Add(time.Millisecond))}
		must(t, "SaveResults", st.SaveResults(ctx, d.ID, rs))
		e.OnResults(d.ID, rs)
	}
	srv.WaitFor(t, len(devs), 20*time.Second)
}

func smtpConfig(srv *alerttest.Server, mode string) smtp.Config {
	return smtp.Config{Host: srv.Host(), Port: srv.Port(), TLS: mode, From: "wacht@provider.example"}
}

func TestRemindUntilAcknowledged(t *testing.T) {
	st := storetest.NewSQLite(t)
	srv := alerttest.Start(t, alerttest.Options{Mode: "none"})
	s := smtpSettings(srv, "none")
	s.RemindAfter = 3600
	must(t, "SaveSettings", SaveSettings(ctx, st, s))
	recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "noc@provider.example", Lang: "de"})
	dev := enroll(t, st, "ACME", "Main", "mx01", core.DeviceRoleServer)
	clk := clock.NewFake(t0)
	e := New(Options{Store: st, Now: clk.Now})
	save(t, st, e, dev.ID, result("disk", "/", core.StatusFailure, 99, t0))
	save(t, st, e, dev.ID, result("cpu", "", core.StatusFailure, 99, t0))
	deliverAll(t, e)
	srv.WaitFor(t, 2, 10*time.Second)
	remindAt := func(d time.Duration) {
		clk.Set(t0.Add(d))
		must(t, "Remind", e.Remind(ctx))
		deliverAll(t, e)
	}
	states, _ := st.AlertStates(ctx, dev.ID)
	for _, a := range states {
		if a.Name == "cpu" {
			must(t, "ClearCheck", st.ClearCheck(ctx, dev.ID, a.CheckID, nil, true))
		}
	}
	remindAt(30 * time.Minute)
	remindAt(61 * time.Minute)
	remindAt(62 * time.Minute)
	if ms := srv.Mails(); len(ms) != 3 || !strings.HasPrefix(ms[2].Header("Subject"), "[Wacht] WEITERHIN GESTÖRT: disk / auf mx01") ||
		!strings.Contains(ms[2].Body(), "Gestört seit:") {
		t.Fatalf("%d mails; third %q", len(ms), ms[len(ms)-1].Header("Subject"))
	}
	// A second engine (another replica, or after a restart) does not repeat it.
	e2 := New(Options{Store: st, Now: clk.Now})
	must(t, "Remind", e2.Remind(ctx))
	deliverAll(t, e2)
	open, _ := st.ListOutages(ctx, core.OutageFilter{OpenOnly: true, DeviceID: dev.ID})
	for _, o := range open {
		must(t, "AckOutage", st.AckOutage(ctx, o.ID, "user:x", "", clk.Now()))
	}
	remindAt(3 * time.Hour)
	if n := len(srv.Mails()); n != 3 {
		t.Errorf("%d mails after the acknowledgement, want still 3", n)
	}
}

// TestRedeliveredBatchCountsOnce: an agent that missed the ack sends the
// same results again; they must not count twice toward alert_after.
func TestRedeliveredBatchCountsOnce(t *testing.T) {
	st := storetest.NewSQLite(t)
	dev := enroll(t, st, "ACME", "Main", "db01", core.DeviceRoleServer)
	e := New(Options{Store: st, Now: func() time.Time { return t0 }, AlertAfter: func(context.Context, int64, string) int { return 2 }})
	batch := []core.Result{result("disk", "C:", core.StatusOK, 50, t0), result("disk", "C:", core.StatusFailure, 97, t0.Add(time.Minute))}
	save(t, st, e, dev.ID, batch...)
	save(t, st, e, dev.ID, batch...) // redelivered
	states, err := st.AlertStates(ctx, dev.ID)
	must(t, "AlertStates", err)
	if len(states) != 1 || states[0].State != core.AlertSoft || states[0].Consecutive != 1 || states[0].OutageRef != "" {
		t.Fatalf("after a redelivered batch: %+v, want soft with 1 failure, no outage", states)
	}
	save(t, st, e, dev.ID, result("disk", "C:", core.StatusFailure, 98, t0.Add(2*time.Minute)))
	if os := openOutages(t, st); len(os) != 1 {
		t.Fatalf("after the second real failure: outages %+v, want one", os)
	}
}

// waitFor polls cond until it holds, for up to a minute: long enough for a
// loaded machine, and the test fails rather than hangs.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestFixWithTheOutage: an automatic fix reported in the batch of the
// failure that triggered it is named in the outage's mail; the task's run
// itself opens no outage and sends nothing.
func TestFixWithTheOutage(t *testing.T) {
	st := storetest.NewSQLite(t)
	srv := alerttest.Start(t, alerttest.Options{Mode: "none"})
	must(t, "SaveSettings", SaveSettings(ctx, st, smtpSettings(srv, "none")))
	dev := enroll(t, st, "Kanzlei", "HQ", "print-01", core.DeviceRoleServer)
	recipient(t, st, core.Recipient{Level: core.LevelDefault, Channel: core.ChannelEmail, Target: "noc@provider.example", Lang: "de"})
	clk := clock.NewFake(t0)
	e := New(Options{Store: st, Now: clk.Now})

	one := 1
	data, err := protocol.EncodeTaskRun(protocol.TaskRun{RunID: "t-fix-spooler-1", ScriptID: 3, ScriptVersion: 1,
		Trigger: protocol.TriggerFix, StartedAt: t0.Add(30 * time.Second), ExitCode: &one, FixCheck: "services", FixStatus: core.StatusFailure})
	must(t, "EncodeTaskRun", err)
	fail := core.Result{ID: "f1", Check: "services", Status: core.StatusFailure, Message: core.Text{EN: "Spooler stopped", DE: "Spooler gestoppt"}, At: t0}
	run := core.Result{ID: "r1", Check: "spooler", Key: protocol.TaskResultKey, Status: core.StatusOK, At: t0.Add(30 * time.Second), Data: data}
	must(t, "SaveResults", st.SaveResults(ctx, dev.ID, []core.Result{fail, run}))
	e.OnResults(dev.ID, []core.Result{run}) // a batch of task runs only: nothing to evaluate
	must(t, "EvaluateDevice", e.EvaluateDevice(ctx, dev.ID, []core.Result{fail}))
	deliverAll(t, e)
	mails := srv.WaitFor(t, 1, 10*time.Second)
	if len(mails) != 1 || !strings.Contains(mails[0].Body(), "Behebung:   Behebung fehlgeschlagen: Exit-Code 1 (spooler)") {
		t.Fatalf("mails = %d, body:\n%s", len(mails), mails[0].Body())
	}
	outages, err := st.ListOutages(ctx, core.OutageFilter{DeviceID: dev.ID})
	must(t, "ListOutages", err)
	if len(outages) != 1 || outages[0].CheckName != "services" {
		t.Errorf("outages = %+v, want only the check's", outages)
	}
}

// TestOutboxGivesUp checks that a message failing for longer than
// GiveUpAfter since its creation is given up instead of rescheduled, and
// that an administrator's retry gives it a fresh limit.
func TestOutboxGivesUp(t *testing.T) {
	st := storetest.NewSQLite(t)
	must(t, "queue", st.ApplyAlertChange(ctx, core.AlertChange{Outbox: []core.OutboxItem{{DedupeKey: "gu",
		Channel: core.ChannelWebhook, Target: "https://hooks.example/x", Payload: []byte(`{}`), NextAttemptAt: t0, CreatedAt: t0}}}))
	clk := clock.NewFake(t0)
	var calls atomic.Int32
	e := New(Options{Store: st, Now: clk.Now, RetryMin: time.Minute, RetryMax: time.Hour, GiveUpAfter: 3 * time.Hour,
		Deliver: func(context.Context, core.OutboxItem) error { calls.Add(1); return errors.New("receiver down") }})
	state := func() core.OutboxItem {
		t.Helper()
		box, err := st.ListOutbox(ctx, 0)
		must(t, "ListOutbox", err)
		if len(box) != 1 {
			t.Fatalf("outbox = %+v", box)
		}
		return box[0]
	}
	deliverAll(t, e)
	clk.Set(t0.Add(3*time.Hour - time.Second)) // just inside the limit: rescheduled
	deliverAll(t, e)
	if m := state(); m.GivenUpAt != nil || m.Attempts != 2 || !m.NextAttemptAt.After(clk.Now()) {
		t.Fatalf("inside the limit: %+v, want rescheduled after 2 attempts", m)
	}
	clk.Set(t0.Add(5 * time.Hour)) // past the limit and the back-off
	deliverAll(t, e)
	m := state()
	if m.GivenUpAt == nil || !m.GivenUpAt.Equal(clk.Now()) || m.Attempts != 3 || m.LastError != "receiver down" {
		t.Fatalf("past the limit: %+v, want given up after 3 attempts", m)
	}
	if n, err := st.OutboxBacklog(ctx); err != nil || n != 0 {
		t.Fatalf("backlog %d (%v), want 0", n, err)
	}
	clk.Set(t0.Add(48 * time.Hour))
	deliverAll(t, e)
	if n := calls.Load(); n != 3 {
		t.Fatalf("%d attempts, want 3 (none after giving up)", n)
	}
	// Retried, it fails again but is rescheduled: its limit starts anew.
	must(t, "RetryOutbox", st.RetryOutbox(ctx, m.ID, clk.Now()))
	deliverAll(t, e)
	if m := state(); calls.Load() != 4 || m.GivenUpAt != nil || m.Attempts != 4 {
		t.Fatalf("after a retry: %+v (%d calls), want rescheduled after 4 attempts", m, calls.Load())
	}
}
