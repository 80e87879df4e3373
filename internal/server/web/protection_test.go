package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
)

// protectionFixture adds, next to the fixture's pc-<b>01</b> (neither check:
// not monitored), three machines at its client — one fully protected, one
// without antivirus, one with a stale backup — a foreign client's machine,
// and a read-only user limited to the fixture's client.
func protectionFixture(t *testing.T) (f *fixture, foreignClient int64) {
	t.Helper()
	f = newFixture(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	own, err := f.st.GetDevice(ctx, f.device.ID)
	must(err)
	_, site, err := f.st.EnsureClientSite(ctx, own.ClientName, own.SiteName)
	must(err)
	_, other, err := f.st.EnsureClientSite(ctx, "Fremde AG", "Lager")
	must(err)
	n := 0
	enroll := func(st core.Site, host string) core.Device {
		t.Helper()
		secret := auth.NewSecret("")
		must(f.st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: st.ClientID, SiteID: st.ID}))
		d := core.Device{Hostname: host, OS: "windows", MachineID: "m-" + host, PublicKey: make([]byte, 32)}
		must(f.st.Enroll(ctx, auth.HashSecret(secret), &d, now))
		return d
	}
	save := func(d core.Device, check, key string, st core.Status, val float64, unit string, msg core.Text) {
		t.Helper()
		n++
		r := core.Result{ID: "p" + strconv.Itoa(n), Check: check, Key: key, Status: st, Unit: unit, Message: msg, At: now}
		if unit != "" {
			r.Value = &val
		}
		must(f.st.SaveResults(ctx, d.ID, []core.Result{r}))
	}
	defender := core.Text{EN: "Microsoft Defender 4.18: signatures 2.5 days old", DE: "Microsoft Defender 4.18: Signaturen 2,5 Tage alt"}
	safe := enroll(site, "safe-pc")
	save(safe, "antivirus", "antivirus", core.StatusOK, 2.5, "d", defender)
	save(safe, "backup", "veeam", core.StatusOK, 5, "h", core.Text{EN: "Veeam: last success 5 hours ago", DE: "Veeam: letzter Erfolg vor 5 Stunden"})
	noAV := enroll(site, "noav-pc")
	save(noAV, "antivirus", "antivirus", core.StatusFailure, 0, "", core.Text{EN: "No supported antivirus product found", DE: "Kein unterstütztes Antivirenprogramm gefunden"})
	save(noAV, "backup", "restic", core.StatusOK, 3, "h", core.Text{EN: "restic: last success 3 hours ago", DE: "restic: letzter Erfolg vor 3 Stunden"})
	stale := enroll(site, "stale-pc")
	save(stale, "antivirus", "antivirus", core.StatusOK, 1, "d", defender)
	save(stale, "backup", "restic:nas", core.StatusFailure, 50, "h", core.Text{EN: "restic nas: last success 50 hours ago", DE: "restic nas: letzter Erfolg vor 50 Stunden"})
	enroll(other, "foreign-pc")

	h, err := authtest.Cost.Hash(testPassword)
	must(err)
	u := core.User{Email: "scoped@example.com", PasswordHash: h, Role: core.RoleReadOnly, Scope: core.Only(own.ClientID)}
	must(f.st.CreateUser(ctx, &u))
	return f, other.ClientID
}

// rows returns the host names listed on the protection page, in order.
func protectedHosts(body string) []string {
	var out []string
	for _, part := range strings.Split(body, `<tr class="prot-device"`)[1:] {
		_, rest, _ := strings.Cut(part, `<a href="/devices/`)
		_, rest, _ = strings.Cut(rest, `">`)
		host, _, _ := strings.Cut(rest, "</a>")
		out = append(out, host)
	}
	return out
}

func TestProtectionPage(t *testing.T) {
	f, foreign := protectionFixture(t)

	en := f.browser(t, "en")
	en.login("admin@example.com", testPassword)
	p := en.do("GET", "/protection", nil)
	if p.status != http.StatusOK {
		t.Fatalf("GET /protection: %d", p.status)
	}
	if got, want := strings.Join(protectedHosts(p.body), ","), "foreign-pc,noav-pc,pc-&lt;b&gt;01&lt;/b&gt;,stale-pc"; got != want {
		t.Errorf("listed %s, want %s", got, want)
	}
	for _, want := range []string{
		`id="nav-protection"`, "<h1>Protection</h1>",
		"1 of 1 device without current antivirus or backup", "3 of 4 devices without current antivirus or backup",
		"No supported antivirus product found", "restic nas: last success 50 hours ago", ">50 h</span>", "not monitored",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("English page lacks %q", want)
		}
	}
	if strings.Contains(p.body, "safe-pc") {
		t.Error("a fully protected machine is listed")
	}

	// The customer filter.
	p = en.do("GET", "/protection?client="+strconv.FormatInt(foreign, 10), nil)
	if got := strings.Join(protectedHosts(p.body), ","); p.status != http.StatusOK || got != "foreign-pc" {
		t.Errorf("filtered to Fremde AG: %d %s", p.status, got)
	}
	if p := en.do("GET", "/protection?client=x", nil); p.status != http.StatusBadRequest {
		t.Errorf("?client=x: %d", p.status)
	}

	de := f.browser(t, "de-DE,de;q=0.9")
	de.login("admin@example.com", testPassword)
	p = de.do("GET", "/protection", nil)
	for _, want := range []string{
		"<h1>Schutz</h1>", "3 von 4 Geräten ohne aktuellen Virenschutz oder aktuelle Datensicherung", "Kein unterstütztes Antivirenprogramm gefunden",
		"nicht überwacht", "restic nas: letzter Erfolg vor 50 Stunden", "Alle Kunden",
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("German page lacks %q", want)
		}
	}

	// A user limited to one client sees neither the other client nor its machine.
	sc := f.browser(t, "en")
	sc.login("scoped@example.com", testPassword)
	p = sc.do("GET", "/protection", nil)
	if got := strings.Join(protectedHosts(p.body), ","); got != "noav-pc,pc-&lt;b&gt;01&lt;/b&gt;,stale-pc" || strings.Contains(p.body, "Fremde AG") {
		t.Errorf("scoped user sees %s (Fremde AG shown: %v)", got, strings.Contains(p.body, "Fremde AG"))
	}
	if p := sc.do("GET", "/protection?client="+strconv.FormatInt(foreign, 10), nil); p.status != http.StatusNotFound {
		t.Errorf("scoped user filtering by a foreign client: %d, want 404", p.status)
	}
}

// TestOverviewProtectionColumns: the overview's device rows carry the
// antivirus and backup badges with the short value and the message as
// tooltip, "–" when not monitored, in both languages.
func TestOverviewProtectionColumns(t *testing.T) {
	f, _ := protectionFixture(t)
	en := f.browser(t, "en")
	en.login("admin@example.com", testPassword)
	p := en.do("GET", "/partials/devices", nil)
	for _, want := range []string{
		"<th>Antivirus</th><th>Backup</th>",
		`<span class="badge st-ok" title="Microsoft Defender 4.18: signatures 2.5 days old">2.5 d</span>`,
		`<span class="badge st-ok" title="Veeam: last success 5 hours ago">5 h</span>`,
		`<span class="badge st-failure" title="No supported antivirus product found">Failure</span>`,
		`<span class="badge st-failure" title="restic nas: last success 50 hours ago">50 h</span>`,
		`<span class="badge st-unknown" title="not monitored">–</span>`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("English overview lacks %s", want)
		}
	}
	de := f.browser(t, "de")
	de.login("admin@example.com", testPassword)
	p = de.do("GET", "/?view=clients", nil)
	for _, want := range []string{
		"<th>Virenschutz</th><th>Datensicherung</th>",
		`title="Microsoft Defender 4.18: Signaturen 2,5 Tage alt">2,5 d</span>`,
		`<span class="badge st-unknown" title="nicht überwacht">–</span>`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("German overview lacks %s", want)
		}
	}
}

// TestDeviceListProtectionColumns: the device list (the home page) shows
// antivirus and backup per row as the grouping view does, in English and
// German, and a page of one row reads only its own device's states.
func TestDeviceListProtectionColumns(t *testing.T) {
	f, _ := protectionFixture(t)
	en := f.browser(t, "en")
	en.login("admin@example.com", testPassword)
	p := en.do("GET", "/", nil)
	for _, want := range []string{
		`<th class="opt">Antivirus</th><th class="opt">Backup</th>`,
		`<td class="opt prot-av"><span class="badge st-ok" title="Microsoft Defender 4.18: signatures 2.5 days old">2.5 d</span></td>`,
		`<td class="opt prot-backup"><span class="badge st-failure" title="restic nas: last success 50 hours ago">50 h</span></td>`,
		`<td class="opt prot-av"><span class="badge st-failure" title="No supported antivirus product found">Failure</span></td>`,
		`<td class="opt prot-av"><span class="badge st-unknown" title="not monitored">–</span></td>`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("English device list lacks %s", want)
		}
	}
	de := f.browser(t, "de")
	de.login("admin@example.com", testPassword)
	p = de.do("GET", "/?q=stale-pc", nil)
	if !strings.Contains(p.body, `<th class="opt">Virenschutz</th><th class="opt">Datensicherung</th>`) ||
		!strings.Contains(p.body, `title="restic nas: letzter Erfolg vor 50 Stunden">50 h</span>`) ||
		strings.Contains(p.body, "Veeam") {
		t.Errorf("German device list filtered to stale-pc:\n%s", p.body)
	}
}
