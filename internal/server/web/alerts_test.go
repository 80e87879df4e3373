package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/alert/alerttest"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// alertsFixture adds to the fixture's device (client Müller GmbH) outages:
// "disk" open, "off" offline and acknowledged, "closed" closed an hour ago,
// "old" closed ten days ago; and "foreign" open on another client's device.
// Users: the fixture's admin and readonly, and a technician limited to
// Müller GmbH.
type alertsFixture struct {
	*fixture
	ids     map[string]int64 // outage IDs by ref
	diskID  int64            // the disk check
	foreign core.Device
	tech    core.User
}

func newAlertsFixture(t *testing.T) *alertsFixture {
	t.Helper()
	f := &alertsFixture{fixture: newFixture(t), ids: map[string]int64{}}
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, other, err := f.st.EnsureClientSite(ctx, "Fremde AG", "Lager")
	must(err)
	secret := auth.NewSecret("")
	must(f.st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: other.ClientID, SiteID: other.ID}))
	f.foreign = core.Device{Hostname: "foreign-pc", OS: "windows", MachineID: "m-foreign", PublicKey: make([]byte, 32)}
	must(f.st.Enroll(ctx, auth.HashSecret(secret), &f.foreign, now))
	states, err := f.st.AlertStates(ctx, f.device.ID)
	must(err)
	for _, a := range states {
		if a.Name == "disk" {
			f.diskID = a.CheckID
		}
	}
	disk := 91.5
	must(f.st.ApplyAlertChange(ctx, core.AlertChange{Open: []core.Outage{
		{Ref: "old", DeviceID: f.device.ID, CheckID: f.diskID, Kind: core.OutageCheck, CheckName: "disk", CheckKey: "/",
			Severity: core.AlertFailure, OpenedAt: now.Add(-240 * time.Hour)},
		{Ref: "closed", DeviceID: f.device.ID, CheckID: f.diskID, Kind: core.OutageCheck, CheckName: "disk", CheckKey: "/",
			Severity: core.AlertFailure, OpenedAt: now.Add(-3 * time.Hour)},
		{Ref: "off", DeviceID: f.device.ID, Kind: core.OutageOffline, Severity: core.OutageOffline, OpenedAt: now.Add(-2 * time.Hour)},
		{Ref: "disk", DeviceID: f.device.ID, CheckID: f.diskID, Kind: core.OutageCheck, CheckName: "disk", CheckKey: "/",
			Severity: core.AlertFailure, Value: &disk, Unit: "%",
			Message: core.Text{EN: "volume / is 91.5% full", DE: "Laufwerk / ist zu 91,5 % belegt"}, OpenedAt: now.Add(-90 * time.Minute)},
		{Ref: "foreign", DeviceID: f.foreign.ID, Kind: core.OutageOffline, Severity: core.OutageOffline, OpenedAt: now.Add(-time.Hour)},
	}, Close: []core.OutageClose{{Ref: "old", At: now.Add(-239 * time.Hour)}, {Ref: "closed", At: now.Add(-time.Hour)}}}))
	all, err := f.st.ListOutages(ctx, core.OutageFilter{})
	must(err)
	for _, o := range all {
		f.ids[o.Ref] = o.ID
	}
	must(f.st.AckOutage(ctx, f.ids["off"], "user:admin@example.com", "Stromausfall beim Kunden", now))
	h, err := authtest.Cost.Hash(testPassword)
	must(err)
	f.tech = core.User{Email: "tech@example.com", PasswordHash: h, Role: core.RoleTechnician, Scope: core.Only(f.device.ClientID)}
	must(f.st.CreateUser(ctx, &f.tech))
	return f
}

// outageIDs returns the outage rows of a page, in order, by ref.
func outageRefs(body string) []string {
	var out []string
	for _, part := range strings.Split(body, `data-ref="`)[1:] {
		ref, _, _ := strings.Cut(part, `"`)
		out = append(out, ref)
	}
	return out
}

func (f *alertsFixture) outage(t *testing.T, ref string) core.Outage {
	t.Helper()
	o, err := f.st.GetOutage(context.Background(), f.ids[ref])
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestAlertsView(t *testing.T) {
	f := newAlertsFixture(t)
	b := f.browser(t, "en")
	if _, csrf := b.login("admin@example.com", testPassword); csrf == "" {
		t.Fatal("login failed")
	}
	own := strconv.FormatInt(f.device.ClientID, 10)
	for _, tc := range []struct {
		query string
		want  string
	}{
		{"", "[foreign disk]"},
		{"?state=open", "[foreign disk]"},
		{"?state=acked", "[off]"},
		{"?state=recent", "[closed]"},
		{"?state=open&client=" + own, "[disk]"},
		{"?state=open&severity=offline", "[foreign]"},
		{"?state=acked&severity=failure", "[]"},
	} {
		p := b.do("GET", "/alerts"+tc.query, nil)
		if p.status != http.StatusOK {
			t.Fatalf("GET /alerts%s: %d", tc.query, p.status)
		}
		if got := "[" + strings.Join(outageRefs(p.body), " ") + "]"; got != tc.want {
			t.Errorf("GET /alerts%s lists %s, want %s", tc.query, got, tc.want)
		}
	}
	p := b.do("GET", "/alerts", nil)
	for _, want := range []string{
		`id="tab-open" class="active" aria-current="page">Open <span class="tab-count">2</span>`,
		`id="tab-acked">Acknowledged <span class="tab-count">1</span>`,
		`id="tab-recent">Recent (7 days) <span class="tab-count">1</span>`,
		`<a href="/devices/` + strconv.FormatInt(f.device.ID, 10) + `">pc-&lt;b&gt;01&lt;/b&gt;</a>`,
		`href="/devices/` + strconv.FormatInt(f.device.ID, 10) + `/history?check=disk&amp;key=%2f"`,
		"volume / is 91.5% full", "91.5%", "for 1 h 30 min", "Agent not reachable",
		`action="/alerts/` + strconv.FormatInt(f.ids["disk"], 10) + `/ack"`,
		`action="/alerts/` + strconv.FormatInt(f.ids["disk"], 10) + `/clear"`,
		`id="alert-settings-link"`,
		"<summary>Mute…</summary>",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("alerts page lacks %q", want)
		}
	}
	// Muting is called muting in English too, not "clearing".
	if strings.Contains(p.body, "Clear…") {
		t.Error(`the English alerts page still offers "Clear…" for muting`)
	}
	// The foreign offline outage can be acknowledged but has no check to clear.
	if strings.Contains(p.body, `action="/alerts/`+strconv.FormatInt(f.ids["foreign"], 10)+`/clear"`) {
		t.Error("an offline outage offers clearing")
	}
	acked := b.do("GET", "/alerts?state=acked", nil)
	for _, want := range []string{"admin@example.com", "Stromausfall beim Kunden"} {
		if !strings.Contains(acked.body, want) {
			t.Errorf("acknowledged tab lacks %q", want)
		}
	}
	if p := b.do("GET", "/alerts?state=sideways", nil); p.status != http.StatusBadRequest {
		t.Errorf("unknown state: %d, want 400", p.status)
	}
	if p := b.do("GET", "/alerts?severity=warning", nil); p.status != http.StatusBadRequest {
		t.Errorf("unknown severity: %d, want 400", p.status)
	}

	// German.
	de := f.browser(t, "de")
	de.login("admin@example.com", testPassword)
	p = de.do("GET", "/alerts?state=recent", nil)
	for _, want := range []string{"Störungen", "Behoben (7 Tage)", "Dauer 2 Std. 0 Min."} {
		if !strings.Contains(p.body, want) {
			t.Errorf("German alerts page lacks %q", want)
		}
	}
	if p := de.do("GET", "/alerts", nil); !strings.Contains(p.body, "seit 1 Std. 30 Min.") || !strings.Contains(p.body, "91,5 %") {
		t.Error("German alerts page lacks the duration or the decimal comma")
	}
}

func TestAlertsScopeAndRoles(t *testing.T) {
	f := newAlertsFixture(t)
	tech := f.browser(t, "en")
	_, csrf := tech.login("tech@example.com", testPassword)
	if got := outageRefs(tech.do("GET", "/alerts", nil).body); len(got) != 1 || got[0] != "disk" {
		t.Errorf("scoped technician sees %v, want [disk]", got)
	}
	if p := tech.do("GET", "/alerts?state=open&client="+strconv.FormatInt(f.foreign.ClientID, 10), nil); len(outageRefs(p.body)) != 0 {
		t.Errorf("filtering on a foreign client shows %v", outageRefs(p.body))
	}
	if p := tech.do("GET", "/partials/alert-count", nil); !strings.Contains(p.body, ">1</span>") {
		t.Errorf("technician's badge: %q", p.body)
	}
	if p := tech.do("GET", "/settings/alerts", nil); p.status != http.StatusForbidden {
		t.Errorf("technician on settings: %d, want 403", p.status)
	}
	// Another client's outage does not exist for the technician.
	for _, action := range []string{"ack", "clear"} {
		p := tech.do("POST", "/alerts/"+strconv.FormatInt(f.ids["foreign"], 10)+"/"+action, url.Values{"csrf": {csrf}, "until_pass": {"on"}})
		if p.status != http.StatusNotFound {
			t.Errorf("%s of a foreign outage: %d, want 404", action, p.status)
		}
	}
	if o := f.outage(t, "foreign"); o.AckedAt != nil {
		t.Error("foreign outage acknowledged")
	}

	admin := f.browser(t, "en")
	admin.login("admin@example.com", testPassword)
	if p := admin.do("GET", "/partials/alert-count", nil); !strings.Contains(p.body, ">2</span>") {
		t.Errorf("admin's badge: %q", p.body)
	}

	ro := f.browser(t, "en")
	_, roCSRF := ro.login("readonly@example.com", testPassword)
	p := ro.do("GET", "/alerts", nil)
	if len(outageRefs(p.body)) != 2 || strings.Contains(p.body, "/ack\"") || strings.Contains(p.body, "/clear\"") {
		t.Errorf("read-only alerts page: %v, action forms shown: %v", outageRefs(p.body), strings.Contains(p.body, "/ack\""))
	}
	for _, action := range []string{"ack", "clear"} {
		p := ro.do("POST", "/alerts/"+strconv.FormatInt(f.ids["disk"], 10)+"/"+action, url.Values{"csrf": {roCSRF}, "until_pass": {"on"}})
		if p.status != http.StatusForbidden {
			t.Errorf("read-only %s: %d, want 403", action, p.status)
		}
	}
	if o := f.outage(t, "disk"); o.AckedAt != nil {
		t.Error("read-only user acknowledged")
	}
}

func TestAlertsAckAndClear(t *testing.T) {
	f := newAlertsFixture(t)
	ctx := context.Background()
	b := f.browser(t, "en")
	_, csrf := b.login("tech@example.com", testPassword)
	disk := strconv.FormatInt(f.ids["disk"], 10)
	back := "/alerts?state=open&severity=failure"

	if p := b.do("POST", "/alerts/"+disk+"/ack", url.Values{"comment": {"no CSRF"}}); p.status != http.StatusForbidden {
		t.Errorf("ack without CSRF: %d, want 403", p.status)
	}
	p := b.do("POST", "/alerts/"+disk+"/ack", url.Values{"csrf": {csrf}, "comment": {"  Platte wird getauscht  "}, "next": {back}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/alerts?done=ack&severity=failure&state=open" {
		t.Fatalf("ack: %d → %q", p.status, p.header.Get("Location"))
	}
	o := f.outage(t, "disk")
	if o.AckedAt == nil || o.AckedBy != "user:tech@example.com" || o.AckComment != "Platte wird getauscht" {
		t.Errorf("acknowledged outage = %+v", o)
	}
	p = b.do("GET", p.header.Get("Location"), nil)
	if !strings.Contains(p.body, "Outage acknowledged.") || len(outageRefs(p.body)) != 0 {
		t.Errorf("after ack: notice missing or still open: %v", outageRefs(p.body))
	}
	// A redirect only to this server.
	if p := b.do("POST", "/alerts/"+disk+"/ack", url.Values{"csrf": {csrf}, "next": {"https://evil.example/"}}); p.header.Get("Location") != "/?done=ack" {
		t.Errorf("foreign next: %q", p.header.Get("Location"))
	}

	// Clear until tomorrow and until it passes.
	until := time.Now().Add(24 * time.Hour).Truncate(time.Minute) // entered in the user's zone: the default, Europe/Berlin
	p = b.do("POST", "/alerts/"+disk+"/clear", url.Values{"csrf": {csrf}, "until": {until.In(langOf(langEN).Zone()).Format("2006-01-02T15:04")},
		"until_pass": {"on"}, "comment": {"Wartung"}, "next": {"/devices/" + strconv.FormatInt(f.device.ID, 10)}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/devices/") {
		t.Fatalf("clear: %d → %q", p.status, p.header.Get("Location"))
	}
	states, _ := f.st.AlertStates(ctx, f.device.ID)
	for _, a := range states {
		if a.CheckID == f.diskID && (a.ClearedUntil == nil || !a.ClearedUntil.Equal(until) || !a.ClearUntilPass) {
			t.Errorf("cleared disk state = %+v, want until %v and until it passes", a, until)
		}
	}
	// Refused clears return to the page, which says why; nothing changes.
	for _, bad := range []url.Values{
		{"csrf": {csrf}}, // neither a time nor until it passes
		{"csrf": {csrf}, "until": {"2001-01-01T00:00"}},    // in the past
		{"csrf": {csrf}, "until": {"tomorrow"}},            // not a time
		{"csrf": {csrf}, "until": {"2099-01-01T00:00:00"}}, // seconds are not what the browser sends
	} {
		bad.Set("next", back)
		p := b.do("POST", "/alerts/"+disk+"/clear", bad)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/alerts?done=clear-invalid&severity=failure&state=open" {
			t.Errorf("clear %v: %d → %q", bad, p.status, p.header.Get("Location"))
		}
	}
	if p := b.do("GET", "/alerts?done=clear-invalid", nil); !strings.Contains(p.body, "Not muted: give a time in the future") {
		t.Error("no notice after a refused clear")
	}
	p = b.do("POST", "/alerts/"+strconv.FormatInt(f.ids["off"], 10)+"/clear", url.Values{"csrf": {csrf}, "until_pass": {"on"}})
	if p.status != http.StatusSeeOther || !strings.Contains(p.header.Get("Location"), "clear-invalid") {
		t.Errorf("clearing an offline outage: %d → %q", p.status, p.header.Get("Location"))
	}
	states, _ = f.st.AlertStates(ctx, f.device.ID)
	for _, a := range states {
		if a.CheckID == f.diskID && (a.ClearedUntil == nil || !a.ClearedUntil.Equal(until)) {
			t.Errorf("a refused clear changed the disk check: %+v", a)
		}
	}
	audit, err := f.st.ListAudit(ctx, 20)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, a := range audit {
		if a.Actor == "user:tech@example.com" {
			actions = append(actions, a.Action+" "+a.Target)
		}
	}
	j := strings.Join(actions, ",")
	if !strings.Contains(j, "outage.ack outage:"+disk) || !strings.Contains(j, "check.clear device:"+strconv.FormatInt(f.device.ID, 10)) {
		t.Errorf("audit = %v", actions)
	}
}

func TestDeviceOutages(t *testing.T) {
	f := newAlertsFixture(t)
	b := f.browser(t, "de")
	b.login("tech@example.com", testPassword)
	p := b.do("GET", "/devices/"+strconv.FormatInt(f.device.ID, 10), nil)
	if p.status != http.StatusOK {
		t.Fatalf("device page: %d", p.status)
	}
	if got := strings.Join(outageRefs(p.body), " "); got != "disk off closed old" {
		t.Errorf("device outages = %s, want open (newest first), then closed", got)
	}
	for _, want := range []string{`id="device-outages"`, "Erreichbarkeit", `<span class="badge st-ok">online</span>`, "Dauer 1 Std. 0 Min.", "Stromausfall beim Kunden"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("device page lacks %q", want)
		}
	}
	if p := b.do("GET", "/devices/"+strconv.FormatInt(f.foreign.ID, 10), nil); p.status != http.StatusNotFound {
		t.Errorf("foreign device page: %d", p.status)
	}
}

func TestAlertSettingsPage(t *testing.T) {
	f := newAlertsFixture(t)
	ctx := context.Background()
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	srv := alerttest.Start(t, alerttest.Options{Mode: "none"})
	form := func(extra map[string]string) url.Values {
		v := url.Values{"csrf": {csrf}, "smtp.host": {"127.0.0.1"}, "smtp.port": {strconv.Itoa(srv.Port())}, "smtp.tls": {"none"},
			"smtp.from": {"wacht@provider.example"}, "smtp.password": {"geheim"}, "office_hours.days": {"1", "2", "3", "4", "5"},
			"office_hours.start": {"07:30"}, "office_hours.end": {"18:00"}, "office_hours.timezone": {"Europe/Berlin"},
			"offline_after_server": {"120"}, "remind_after": {"3600"}}
		for k, x := range extra {
			v.Set(k, x)
		}
		return v
	}

	// Invalid input: every error beside its field, the form kept as typed.
	p := b.do("POST", "/settings/alerts", form(map[string]string{"smtp.port": "abc", "smtp.host": "mail.example.org",
		"office_hours.start": "7 Uhr", "office_hours.timezone": "Mars/Olympus", "flap_window": "-5"}))
	if p.status != http.StatusBadRequest {
		t.Fatalf("invalid settings: %d", p.status)
	}
	for _, want := range []string{`id="smtp.port-error">Enter a whole number.`, `id="flap_window-error"`, `value="7 Uhr"`, `value="mail.example.org"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("invalid settings page lacks %q", want)
		}
	}
	p = b.do("POST", "/settings/alerts", form(map[string]string{"smtp.host": "mail.example.org", "office_hours.start": "7 Uhr",
		"office_hours.timezone": "Mars/Olympus"}))
	for _, want := range []string{`id="smtp.tls-error"`, `id="office_hours.start-error"`, `id="office_hours.timezone-error"`} {
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, want) {
			t.Errorf("refused settings: %d, lacks %q", p.status, want)
		}
	}
	if st, _ := alert.LoadSettings(ctx, f.st); st.SMTP.Host != "" {
		t.Fatalf("invalid settings were saved: %+v", st.SMTP)
	}

	// Saved; the password is write-only.
	if p := b.do("POST", "/settings/alerts", form(nil)); p.status != http.StatusSeeOther {
		t.Fatalf("save settings: %d\n%s", p.status, p.body)
	}
	st, _ := alert.LoadSettings(ctx, f.st)
	if st.SMTP.Password != "geheim" || st.OfficeHours.Start != "07:30" || st.OfflineAfterServer != 120 || st.RemindAfter != 3600 ||
		len(st.OfficeHours.Days) != 5 {
		t.Errorf("saved settings = %+v", st)
	}
	p = b.do("GET", "/settings/alerts?saved=settings", nil)
	if strings.Contains(p.body, "geheim") || !strings.Contains(p.body, `id="password-state">set<`) || !strings.Contains(p.body, "Settings saved.") ||
		!strings.Contains(p.body, `value="07:30"`) {
		t.Error("settings page after save: password shown, state or values missing")
	}
	if p := b.do("POST", "/settings/alerts", form(map[string]string{"smtp.password": ""})); p.status != http.StatusSeeOther {
		t.Fatalf("save without password: %d", p.status)
	}
	if st, _ := alert.LoadSettings(ctx, f.st); st.SMTP.Password != "geheim" {
		t.Errorf("an empty password field replaced the stored one: %q", st.SMTP.Password)
	}
	// Another server without the password again: refused beside the field.
	for _, path := range []string{"/settings/alerts", "/settings/alerts/test"} {
		p := b.do("POST", path, form(map[string]string{"smtp.password": "", "smtp.port": "2525", "test_to": "tech@provider.example"}))
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="smtp.password-error">the SMTP server changed: send password again`) {
			t.Errorf("%s for another server without the password: %d", path, p.status)
		}
	}

	// Test mail with the form's values: the server's answer inline.
	p = b.do("POST", "/settings/alerts/test", form(map[string]string{"test_to": "tech@provider.example"}))
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="test-result">The mail server accepted the test mail.`) {
		t.Errorf("test mail: %d", p.status)
	}
	if m := srv.WaitFor(t, 1, 10*time.Second)[0]; m.To[0] != "tech@provider.example" || m.Header("Subject") != "[Wacht] Test message" {
		t.Errorf("test mail: %v %q", m.To, m.Header("Subject"))
	}
	refusing := alerttest.Start(t, alerttest.Options{Mode: "none", Username: "wacht", Password: "richtig"})
	p = b.do("POST", "/settings/alerts/test", form(map[string]string{"test_to": "tech@provider.example", "smtp.port": strconv.Itoa(refusing.Port())}))
	if p.status != http.StatusOK || !strings.Contains(p.body, "The test mail was not sent.") || !strings.Contains(p.body, "Please authenticate first") {
		t.Errorf("refused test mail: %d\n%s", p.status, p.body)
	}
	if p := b.do("POST", "/settings/alerts/test", form(map[string]string{"test_to": "kein-empfänger"})); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, `id="test_to-error">not an e-mail address`) {
		t.Errorf("test mail to a bad address: %d", p.status)
	}

	// Recipients: refused fields beside their fields, then added, listed, deleted.
	p = b.do("POST", "/settings/alerts/recipients", url.Values{"csrf": {csrf}, "scope": {"site:x"}, "channel": {"webhook"},
		"target": {"ftp://x"}, "lang": {"de"}, "hours": {"always"}, "format": {"json"}})
	for _, want := range []string{`id="scope-error"`, `id="target-error">not an http(s) URL`, `value="ftp://x"`} {
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, want) {
			t.Errorf("bad recipient: %d, lacks %q", p.status, want)
		}
	}
	p = b.do("POST", "/settings/alerts/recipients", url.Values{"csrf": {csrf}, "scope": {"client:" + strconv.FormatInt(f.device.ClientID, 10)},
		"channel": {"webhook"}, "target": {"https://chat.example/hook"}, "lang": {"de"}, "hours": {"office"}, "format": {"chat"}, "secret": {"s3cret"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("add recipient: %d", p.status)
	}
	rs, _ := f.st.ListRecipients(ctx)
	if len(rs) != 1 || rs[0].Level != core.LevelClient || rs[0].TargetID != f.device.ClientID || rs[0].Secret != "s3cret" {
		t.Fatalf("recipients = %+v", rs)
	}
	p = b.do("GET", "/settings/alerts", nil)
	if !strings.Contains(p.body, "https://chat.example/hook") || !strings.Contains(p.body, "Müller GmbH") || strings.Contains(p.body, "s3cret") {
		t.Error("recipient not listed, or its secret shown")
	}
	if p := b.do("POST", "/settings/alerts/recipients/"+strconv.FormatInt(rs[0].ID, 10)+"/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); p.status != http.StatusSeeOther {
		t.Errorf("delete recipient: %d", p.status)
	}
	if rs, _ := f.st.ListRecipients(ctx); len(rs) != 0 {
		t.Errorf("recipient not deleted: %+v", rs)
	}

	// The outbox shows what waits, with the last error.
	now := time.Now()
	if err := f.st.ApplyAlertChange(ctx, core.AlertChange{Outbox: []core.OutboxItem{
		{DedupeKey: "outage:x:open:a", Channel: core.ChannelEmail, Target: "noc@provider.example", Payload: []byte("{}"), NextAttemptAt: now, CreatedAt: now},
	}}); err != nil {
		t.Fatal(err)
	}
	box, _ := f.st.ListOutbox(ctx, 1)
	if err := f.st.MarkFailed(ctx, box[0].ID, "550 mailbox unavailable", now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	p = b.do("GET", "/settings/alerts", nil)
	if !strings.Contains(p.body, "noc@provider.example") || !strings.Contains(p.body, "550 mailbox unavailable") {
		t.Error("outbox entry or its error missing")
	}

	var actions []string
	audit, _ := f.st.ListAudit(ctx, 50)
	for _, a := range audit {
		actions = append(actions, a.Action)
	}
	for _, want := range []string{"alert.settings", "alert.test-mail", "alert.recipient-create", "alert.recipient-delete"} {
		if !strings.Contains(strings.Join(actions, ","), want) {
			t.Errorf("audit lacks %s: %v", want, actions)
		}
	}
}

// TestOutboxGivenUp checks that a given-up delivery shows its state, last
// error and attempts in English and German, and that an administrator's
// retry (audited) queues it again.
func TestOutboxGivenUp(t *testing.T) {
	f := newAlertsFixture(t)
	ctx := context.Background()
	now := time.Now()
	if err := f.st.ApplyAlertChange(ctx, core.AlertChange{Outbox: []core.OutboxItem{
		{DedupeKey: "outage:x:open:gu", Channel: core.ChannelWebhook, Target: "https://hooks.example/down", Payload: []byte("{}"),
			NextAttemptAt: now, CreatedAt: now.Add(-25 * time.Hour)},
	}}); err != nil {
		t.Fatal(err)
	}
	box, _ := f.st.ListOutbox(ctx, 1)
	id := strconv.FormatInt(box[0].ID, 10)
	if err := f.st.MarkGivenUp(ctx, box[0].ID, "503 receiver down", now); err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string]string{"en": "given up", "de": "aufgegeben"} {
		b := f.browser(t, lang)
		b.login("admin@example.com", testPassword)
		p := b.do("GET", "/settings/alerts", nil)
		row := p.body[strings.Index(p.body, `id="outbox-`+id+`"`):]
		row = row[:strings.Index(row, "</tr>")]
		if !strings.Contains(row, `class="given-up">`+want+"<") || !strings.Contains(row, "503 receiver down") ||
			!strings.Contains(row, `<td class="num">1</td>`) || !strings.Contains(row, `action="/settings/alerts/outbox/`+id+`/retry"`) {
			t.Errorf("%s: outbox row lacks its state, error, attempts or retry button: %s", lang, row)
		}
	}
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	p := b.do("POST", "/settings/alerts/outbox/"+id+"/retry", url.Values{"csrf": {csrf}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("retry: %d", p.status)
	}
	if box, _ := f.st.ListOutbox(ctx, 1); box[0].GivenUpAt != nil || box[0].RetriedAt == nil {
		t.Errorf("after the retry: %+v, want queued again", box[0])
	}
	if p := b.do("GET", "/settings/alerts", nil); strings.Contains(p.body, `class="given-up"`) {
		t.Error("still shown given up after the retry")
	}
	if p := b.do("POST", "/settings/alerts/outbox/"+id+"/retry", url.Values{"csrf": {csrf}}); p.status != http.StatusNotFound {
		t.Errorf("retry of a queued delivery: %d, want 404", p.status)
	}
	audit, _ := f.st.ListAudit(ctx, 50)
	found := false
	for _, a := range audit {
		found = found || a.Action == "alert.outbox-retry"
	}
	if !found {
		t.Errorf("retry not audited: %+v", audit)
	}
}

// BenchmarkAlertsPage renders the open tab (200 rows of BENCH_OUTAGES,
// default 10,000 open and closed outages, counted per tab) as an
// administrator.
func BenchmarkAlertsPage(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("BENCH_OUTAGES")); err == nil && v > 0 {
		n = v
	}
	st := storetest.NewSQLite(b)
	d, _ := seed(b, st, "bench-pc")
	ctx := context.Background()
	now := time.Now().UTC()
	var change core.AlertChange
	for i := range n {
		ref := "b" + strconv.Itoa(i)
		change.Open = append(change.Open, core.Outage{Ref: ref, DeviceID: d.ID, Kind: core.OutageOffline, Severity: core.OutageOffline,
			OpenedAt: now.Add(-time.Duration(i) * time.Minute)})
		if i%2 == 1 {
			change.Close = append(change.Close, core.OutageClose{Ref: ref, At: now.Add(-time.Duration(i-1) * time.Minute)})
		}
	}
	if err := st.ApplyAlertChange(ctx, change); err != nil {
		b.Fatal(err)
	}
	h, err := New(Deps{Store: st, Service: service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Commander: &fakeCommander{}})})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	f := &fixture{srv: srv}
	br := f.browser(b, "en")
	if _, csrf := br.login("admin@example.com", testPassword); csrf == "" {
		b.Fatal("login failed")
	}
	b.ResetTimer()
	for b.Loop() {
		if p := br.do("GET", "/alerts?state=open", nil); p.status != http.StatusOK || len(outageRefs(p.body)) != alertRows {
			b.Fatalf("alerts page: %d, %d rows", p.status, len(outageRefs(p.body)))
		}
	}
}
