package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/alert/alerttest"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// sendJSON is fixture.do with a JSON body.
func (f *fixture) sendJSON(t *testing.T, method, path, token, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.tokens[token])
	req.Header.Set("Content-Type", "application/json")
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

func TestAlertsAPI(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now().UTC()
	// A second client the technician may not see, each with an outage.
	_, other, err := f.st.EnsureClientSite(ctx, "Fremde AG", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	od := enroll(t, f.st, other, "foreign-pc", now)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.st.TouchDevice(ctx, od.ID, now, ""))
	must(f.st.ApplyAlertChange(ctx, core.AlertChange{Open: []core.Outage{
		{Ref: "own", DeviceID: f.device.ID, Kind: core.OutageCheck, CheckName: "disk", Severity: core.AlertFailure, OpenedAt: now},
		{Ref: "foreign", DeviceID: od.ID, Kind: core.OutageOffline, Severity: core.OutageOffline, OpenedAt: now},
	}}))
	// A technician limited to the fixture's client.
	scoped := core.User{Email: "scoped@example.com", PasswordHash: "x", Role: core.RoleTechnician, Scope: core.Only(f.device.ClientID)}
	must(f.st.CreateUser(ctx, &scoped))
	sec := auth.NewSecret(auth.APITokenPrefix)
	must(f.st.CreateAPIToken(ctx, &core.APIToken{UserID: scoped.ID, Name: "scoped", Hash: auth.HashSecret(sec)}))
	f.tokens["scoped"] = sec

	var list []core.Outage
	if st := f.sendJSON(t, "GET", "/api/v1/outages?open=true", "scoped", "", &list); st != 200 || len(list) != 1 || list[0].Ref != "own" {
		t.Fatalf("scoped outages: %d %+v", st, list)
	}
	if st := f.sendJSON(t, "GET", "/api/v1/outages", "admin", "", &list); st != 200 || len(list) != 2 {
		t.Fatalf("admin outages: %d %+v", st, list)
	}
	var foreignID, ownID int64
	for _, o := range list {
		if o.Ref == "foreign" {
			foreignID = o.ID
		} else {
			ownID = o.ID
		}
	}
	var pres []alert.DevicePresence
	if st := f.sendJSON(t, "GET", "/api/v1/alerts/presence", "scoped", "", &pres); st != 200 || len(pres) != 1 || pres[0].DeviceID != f.device.ID ||
		pres[0].State != alert.PresenceOnline {
		t.Fatalf("scoped presence: %d %+v", st, pres)
	}
	// Acknowledging: a foreign outage is 404, the own one is recorded and audited.
	if st := f.sendJSON(t, "POST", "/api/v1/outages/"+itoa(foreignID)+"/ack", "scoped", `{"comment":"x"}`, nil); st != 404 {
		t.Errorf("ack of a foreign outage: %d, want 404", st)
	}
	if st := f.sendJSON(t, "POST", "/api/v1/outages/"+itoa(ownID)+"/ack", "readonly", `{"comment":"x"}`, nil); st != 403 {
		t.Errorf("ack as read-only: %d, want 403", st)
	}
	var acked core.Outage
	if st := f.sendJSON(t, "POST", "/api/v1/outages/"+itoa(ownID)+"/ack", "scoped", `{"comment":"Platte wird getauscht"}`, &acked); st != 200 ||
		acked.AckedAt == nil || acked.AckedBy != "user:scoped@example.com" || acked.AckComment != "Platte wird getauscht" {
		t.Fatalf("ack: %d %+v", st, acked)
	}
	// Clearing a check until a date.
	checks, _ := f.st.AlertStates(ctx, f.device.ID)
	until := now.Add(48 * time.Hour).Truncate(time.Second)
	body := `{"until":"` + until.Format(time.RFC3339) + `","comment":"Wartung"}`
	if st := f.sendJSON(t, "POST", "/api/v1/devices/"+itoa(f.device.ID)+"/checks/"+itoa(checks[0].CheckID)+"/clear", "scoped", body, nil); st != 204 {
		t.Fatalf("clear: %d", st)
	}
	if st := f.sendJSON(t, "POST", "/api/v1/devices/"+itoa(od.ID)+"/checks/"+itoa(checks[0].CheckID)+"/clear", "scoped", body, nil); st != 404 {
		t.Errorf("clear on a foreign device: %d, want 404", st)
	}
	if st := f.sendJSON(t, "POST", "/api/v1/devices/"+itoa(f.device.ID)+"/checks/"+itoa(checks[0].CheckID)+"/clear", "scoped", `{}`, nil); st != 400 {
		t.Errorf("clear without until: %d, want 400", st)
	}
	checks, _ = f.st.AlertStates(ctx, f.device.ID)
	if checks[0].ClearedUntil == nil || !checks[0].ClearedUntil.Equal(until) {
		t.Errorf("cleared until = %v, want %v", checks[0].ClearedUntil, until)
	}
	audit, _ := f.st.ListAudit(ctx, 20)
	var actions []string
	for _, a := range audit {
		actions = append(actions, a.Action)
	}
	if j := strings.Join(actions, ","); !strings.Contains(j, "outage.ack") || !strings.Contains(j, "check.clear") {
		t.Errorf("audit actions = %v", actions)
	}

	// Settings with a real SMTP server, the password never shown; a test mail.
	srv := alerttest.Start(t, alerttest.Options{Mode: "none"})
	settings := `{"smtp":{"host":"127.0.0.1","port":` + itoa(int64(srv.Port())) + `,"tls":"none","from":"wacht@provider.example","username":"","password":"geheim"}}`
	var got alert.Settings
	if st := f.sendJSON(t, "PUT", "/api/v1/alerts/settings", "tech", settings, nil); st != 403 {
		t.Errorf("settings as technician: %d, want 403", st)
	}
	if st := f.sendJSON(t, "PUT", "/api/v1/alerts/settings", "admin", settings, &got); st != 200 || got.SMTP.Password != "********" ||
		got.OfflineAfterServer != 90 {
		t.Fatalf("put settings: %d %+v", st, got)
	}
	stored, _ := alert.LoadSettings(ctx, f.st)
	if stored.SMTP.Password != "geheim" {
		t.Errorf("stored password %q", stored.SMTP.Password)
	}
	if st := f.sendJSON(t, "PUT", "/api/v1/alerts/settings", "admin", `{"smtp":{"host":"mail.example.org","tls":"none","from":"a@b.c"}}`, nil); st != 400 {
		t.Errorf("plain SMTP to a remote host: %d, want 400", st)
	}
	var res struct {
		Sent  bool   `json:"sent"`
		Error string `json:"error"`
	}
	if st := f.sendJSON(t, "POST", "/api/v1/alerts/settings/test", "admin", `{"to":"tech@provider.example","lang":"de"}`, &res); st != 200 || !res.Sent {
		t.Fatalf("test mail: %d %+v", st, res)
	}
	m := srv.WaitFor(t, 1, 10*time.Second)[0]
	if m.To[0] != "tech@provider.example" || m.Header("Subject") != "[Wacht] Testnachricht" ||
		!strings.Contains(m.Body(), "Benachrichtigungen erreichen Sie") {
		t.Errorf("test mail: %v %q %q", m.To, m.Header("Subject"), m.Body())
	}
	srv.Stop()
	if st := f.sendJSON(t, "POST", "/api/v1/alerts/settings/test", "admin", `{"to":"tech@provider.example"}`, &res); st != 200 || res.Sent || res.Error == "" {
		t.Errorf("test mail to a stopped server: %d %+v", st, res)
	}

	// Recipients.
	var r core.Recipient
	if st := f.sendJSON(t, "POST", "/api/v1/alerts/recipients", "admin", `{"level":"client","target_id":`+itoa(f.device.ClientID)+
		`,"channel":"webhook","target":"https://hooks.example.org/x","format":"chat","lang":"en","hours":"after","secret":"s"}`, &r); st != 201 || r.ID == 0 {
		t.Fatalf("create recipient: %d %+v", st, r)
	}
	// Every refusal names the field, in English and German, whether
	// validation or decoding refuses it.
	for body, want := range map[string]string{
		`{"level":"site","channel":"pager","target":"x"}`:                              "channel: must be email or webhook",
		`{"level":"default","channel":"email"}`:                                        "target: not an e-mail address",
		`{"level":"default","channel":"email","target":"a@b.example","target_id":"x"}`: "target_id: must be a whole number, not string",
		`{"level":"default","channel":"email","target":"a@b.example","sekret":"s"}`:    "sekret: unknown field; valid: channel, created_at, format, hours, id, lang, level, secret, target, target_id",
		`{"level":`: "body: not valid JSON",
	} {
		st, b := f.send(t, "POST", "/api/v1/alerts/recipients", f.tokens["admin"], body, nil)
		if st != 400 || !strings.Contains(fieldErrors(t, b), want) || !strings.Contains(b, `"de"`) {
			t.Errorf("recipient %s: %d %s, want 400 naming %q", body, st, b, want)
		}
	}
	var rs []core.Recipient
	if st := f.sendJSON(t, "GET", "/api/v1/alerts/recipients", "admin", "", &rs); st != 200 || len(rs) != 1 || rs[0].Format != "chat" {
		t.Fatalf("recipients: %d %+v", st, rs)
	}
	if st := f.sendJSON(t, "DELETE", "/api/v1/alerts/recipients/"+itoa(r.ID), "admin", "", nil); st != 204 {
		t.Errorf("delete recipient: %d", st)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// TestOutboxStates lists a pending, a delivered and a given-up delivery
// with their state.
func TestOutboxStates(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now().Truncate(time.Millisecond)
	var items []core.OutboxItem
	for _, k := range []string{"pending", "delivered", "given_up"} {
		items = append(items, core.OutboxItem{DedupeKey: k, Channel: core.ChannelEmail, Target: "ops@example.com",
			Payload: []byte("{}"), NextAttemptAt: now, CreatedAt: now})
	}
	if err := f.st.ApplyAlertChange(ctx, core.AlertChange{Outbox: items}); err != nil {
		t.Fatal(err)
	}
	box, _ := f.st.ListOutbox(ctx, 0) // newest first: given_up, delivered, pending
	if err := f.st.MarkGivenUp(ctx, box[0].ID, "550 mailbox unavailable", now); err != nil {
		t.Fatal(err)
	}
	if err := f.st.MarkDelivered(ctx, box[1].ID, now); err != nil {
		t.Fatal(err)
	}
	var got []struct {
		DedupeKey string     `json:"dedupe_key"`
		State     string     `json:"state"`
		GivenUpAt *time.Time `json:"given_up_at"`
		Attempts  int        `json:"attempts"`
		LastError string     `json:"last_error"`
	}
	if code := f.do(t, "GET", "/api/v1/alerts/outbox", "admin", &got); code != http.StatusOK || len(got) != 3 {
		t.Fatalf("outbox: %d %+v", code, got)
	}
	for _, m := range got {
		if m.State != m.DedupeKey {
			t.Errorf("%s: state %q", m.DedupeKey, m.State)
		}
	}
	if g := got[0]; g.GivenUpAt == nil || !g.GivenUpAt.Equal(now) || g.Attempts != 1 || g.LastError != "550 mailbox unavailable" {
		t.Errorf("given up: %+v", g)
	}
	if got[2].GivenUpAt != nil {
		t.Errorf("pending: %+v", got[2])
	}

	// An administrator sends the given-up one back into the queue; it is
	// pending again, and a second retry (nothing given up) is 404.
	retry := fmt.Sprintf("/api/v1/alerts/outbox/%d/retry", box[0].ID)
	if code := f.sendJSON(t, "POST", retry, "tech", "", nil); code != http.StatusForbidden {
		t.Errorf("technician's retry: %d", code)
	}
	if code := f.sendJSON(t, "POST", retry, "admin", "", nil); code != http.StatusNoContent {
		t.Fatalf("retry: %d", code)
	}
	got = nil
	if code := f.do(t, "GET", "/api/v1/alerts/outbox", "admin", &got); code != http.StatusOK || got[0].State != "pending" || got[0].GivenUpAt != nil {
		t.Errorf("after the retry: %d %+v", code, got[0])
	}
	if code := f.sendJSON(t, "POST", retry, "admin", "", nil); code != http.StatusNotFound {
		t.Errorf("second retry: %d", code)
	}
	if code := f.sendJSON(t, "POST", fmt.Sprintf("/api/v1/alerts/outbox/%d/retry", box[1].ID), "admin", "", nil); code != http.StatusNotFound {
		t.Errorf("retry of a delivered one: %d", code)
	}
}
