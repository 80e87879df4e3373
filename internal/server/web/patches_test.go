package web

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
)

// patchFixture is the web fixture with patch management on by a default
// policy (the defaults approve security updates, not feature updates),
// the first device (Müller GmbH) missing a security update that failed
// twice, a feature update waiting for approval and a definition update
// excluded by KB, with a restart pending and a winget scan that failed;
// a second client's device (Schulz KG) missing the same feature update; a
// technician of Schulz KG only.
type patchFixture struct {
	*fixture
	other   core.Device
	otherID int64 // Schulz KG's client ID
	tech    core.User
	feature int64 // the feature update's patch ID
	sec     int64 // the security update's patch ID
	at      time.Time
}

var (
	secUpdate = core.Update{Key: "windows-update:sec-1@201", Source: core.SourceWindowsUpdate, ID: "sec-1", Version: "201",
		Title: "2026-11 Cumulative Update for Windows 11 (KB5046617)", KB: "KB5046617", Classification: core.ClassSecurity,
		Severity: core.SeverityCritical, CVEs: []string{"CVE-2026-21001", "CVE-2026-21002"}, Reboot: core.RebootAlways}
	featureUpdate = core.Update{Key: "apt:libreoffice-core@4:24.8.3", Source: core.SourceApt, ID: "libreoffice-core", Version: "4:24.8.3",
		Installed: "4:24.2.7", Title: "libreoffice-core", Classification: core.ClassFeature}
	defUpdate = core.Update{Key: "windows-update:def-1@1", Source: core.SourceWindowsUpdate, ID: "def-1", Version: "1",
		Title: "Security Intelligence Update for Microsoft Defender (KB2267602)", KB: "KB2267602", Classification: core.ClassDefinition}
)

func newPatchFixture(t *testing.T) *patchFixture {
	t.Helper()
	ctx := context.Background()
	f := &patchFixture{fixture: newFixture(t), at: time.Now().UTC().Truncate(time.Second)}
	pol := core.Policy{Name: "Patches", Checks: []core.PolicyCheck{}, Patch: &core.PatchPolicy{Enabled: true, Install: true,
		Exclusions: core.PatchExclusions{KBs: []string{"KB2267602"}}}}
	if err := f.st.CreatePolicy(ctx, &pol); err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetAssignments(ctx, core.LevelDefault, 0, []int64{pol.ID}); err != nil {
		t.Fatal(err)
	}
	_, site, err := f.st.EnsureClientSite(ctx, "Schulz KG", "Lager")
	if err != nil {
		t.Fatal(err)
	}
	f.otherID = site.ClientID
	secret := auth.NewSecret("")
	if err := f.st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: site.ClientID, SiteID: site.ID}); err != nil {
		t.Fatal(err)
	}
	f.other = core.Device{Hostname: "lager-pc", OS: "linux", Platform: "Ubuntu 24.04", Arch: "amd64", MachineID: "m2", PublicKey: make([]byte, 32), AgentVersion: "0.1.0"}
	if err := f.st.Enroll(ctx, auth.HashSecret(secret), &f.other, f.at); err != nil {
		t.Fatal(err)
	}
	hash, err := authtest.Cost.Hash(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	f.tech = core.User{Email: "tech@example.com", PasswordHash: hash, Role: core.RoleTechnician, Scope: core.Only(site.ClientID)}
	if err := f.st.CreateUser(ctx, &f.tech); err != nil {
		t.Fatal(err)
	}

	seen := f.at.Add(-12 * 24 * time.Hour)
	failed := core.MissingUpdate{Update: secUpdate, FirstSeen: seen, Failures: 2,
		LastError: &core.Text{EN: "0x80070643: fatal error during installation", DE: "0x80070643: Schwerwiegender Fehler bei der Installation"}}
	r := core.PatchReport{ScannedAt: f.at.Add(-time.Hour),
		Sources: []core.PatchSourceStatus{
			{Source: core.SourceWindowsUpdate, Status: core.ScanOK, ScannedAt: f.at.Add(-time.Hour), Missing: 2, Server: "http://wsus.mueller.local:8530"},
			{Source: core.SourceWinget, Status: core.ScanError, ScannedAt: f.at.Add(-time.Hour),
				Message: core.Text{EN: "winget.exe not found for the SYSTEM account", DE: "winget.exe für das SYSTEM-Konto nicht gefunden"}},
		},
		Missing: []core.MissingUpdate{failed, {Update: featureUpdate, FirstSeen: f.at.Add(-3 * 24 * time.Hour)}, {Update: defUpdate, FirstSeen: f.at.Add(-time.Hour)}},
		Attempts: []core.PatchAttempt{{Key: secUpdate.Key, Source: secUpdate.Source, Title: secUpdate.Title, KB: secUpdate.KB,
			StartedAt: f.at.Add(-26 * time.Hour), FinishedAt: f.at.Add(-25 * time.Hour), Result: core.PatchFailed, Code: "0x80070643",
			Message: core.Text{EN: "fatal error during installation", DE: "Schwerwiegender Fehler bei der Installation"}, Trigger: "schedule"}},
		Reboot: core.RebootState{Pending: true, Since: f.at.Add(-50 * time.Hour), Reasons: []string{"CBS"}},
	}
	if err := f.st.SavePatchReport(ctx, f.device.ID, r, f.at); err != nil {
		t.Fatal(err)
	}
	r2 := core.PatchReport{ScannedAt: f.at.Add(-time.Hour),
		Sources: []core.PatchSourceStatus{{Source: core.SourceApt, Status: core.ScanOK, ScannedAt: f.at.Add(-time.Hour), Missing: 1}},
		Missing: []core.MissingUpdate{{Update: featureUpdate, FirstSeen: f.at.Add(-5 * 24 * time.Hour)}}}
	if err := f.st.SavePatchReport(ctx, f.other.ID, r2, f.at); err != nil {
		t.Fatal(err)
	}
	ids, err := f.st.PatchesByKey(ctx, []string{featureUpdate.Key, secUpdate.Key})
	if err != nil {
		t.Fatal(err)
	}
	f.feature, f.sec = ids[featureUpdate.Key], ids[secUpdate.Key]
	if f.feature == 0 || f.sec == 0 {
		t.Fatalf("patch IDs %v", ids)
	}
	return f
}

// rowOf cuts the table row with id out of a page.
func rowOf(body, id string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(body[i:], "</tr>")
	if j < 0 {
		return body[i:]
	}
	return body[i : i+j]
}

// TestDeviceUpdatesPage: the status with the failed source's reason, the
// restart, each missing update with classification, severity, CVEs, age,
// failed state with its error and approval with why, the history; in
// German; buttons for operators only; a foreign client's device is not
// found for a scoped technician.
func TestDeviceUpdatesPage(t *testing.T) {
	f := newPatchFixture(t)
	b := f.browser(t, "de")
	b.login("admin@example.com", testPassword)
	dev := devicePath(f.device.ID)
	if p := b.do("GET", dev, nil); !strings.Contains(p.body, `href="`+dev+`/updates" id="device-updates"`) {
		t.Fatalf("the device page does not link its updates")
	}
	p := b.do("GET", dev+"/updates", nil)
	if p.status != http.StatusOK {
		t.Fatalf("updates page: %d %s", p.status, p.body)
	}
	wantAll(t, "German updates page", p.body,
		"Updates: pc-&lt;b&gt;01&lt;/b&gt;",
		"winget.exe für das SYSTEM-Konto nicht gefunden", "Suche fehlgeschlagen", "http://wsus.mueller.local:8530",
		"Ein Neustart steht aus seit", "<code>CBS</code>",
		"3 fehlend", "Jetzt suchen", "Freigegebene jetzt installieren", "Ausgewählte jetzt installieren",
		"0x80070643", "Schwerwiegender Fehler bei der Installation", "Installationsverlauf")
	sec := rowOf(p.body, "upd-"+strconv.FormatInt(f.sec, 10))
	wantAll(t, "security row", sec, "KB5046617", "Sicherheitsupdate", "Kritisch", "CVE-2026-21001", "CVE-2026-21002",
		"12 Tage", "Fehlgeschlagen", "2 Fehlschläge", "0x80070643: Schwerwiegender Fehler", "Freigegeben durch eine Richtlinienregel")
	feat := rowOf(p.body, "upd-"+strconv.FormatInt(f.feature, 10))
	wantAll(t, "feature row", feat, "libreoffice-core", "4:24.2.7 → 4:24.8.3", "Funktionsupdate", "Ohne Einstufung", "Wartet auf Freigabe")
	if !strings.Contains(p.body, `data-key="windows-update:def-1@1" data-approval="excluded"`) ||
		!strings.Contains(p.body, "Durch die Richtlinie ausgeschlossen") {
		t.Errorf("the excluded definition update is not shown as excluded")
	}

	// The effective policy names the patch settings' source.
	eff := b.do("GET", dev+"/policies", nil).body
	if i := strings.Index(eff, `id="effective-patch"`); i < 0 || !strings.Contains(eff[i:], ": Patches") || !strings.Contains(eff[i:], "jeden Tag 03:00, 180 Min.") ||
		!strings.Contains(eff[i:], "1 KB, 0 Pakete") {
		t.Errorf("the effective policy lacks the patch settings: %s", eff)
	}

	// A read-only user sees the page without the buttons.
	ro := f.browser(t, "en")
	ro.login(f.users[core.RoleReadOnly].Email, testPassword)
	p = ro.do("GET", dev+"/updates", nil)
	if p.status != http.StatusOK || strings.Contains(p.body, `id="upd-scan"`) || strings.Contains(p.body, `name="id"`) {
		t.Errorf("read-only page: %d, buttons shown", p.status)
	}
	if !strings.Contains(p.body, "Waiting for approval") || !strings.Contains(p.body, "A restart is pending since") {
		t.Errorf("English page lacks its words")
	}
	// … and may not scan.
	if p := ro.do("POST", dev+"/updates/scan", url.Values{"csrf": {csrfFrom(ro, "/")}}); p.status != http.StatusForbidden {
		t.Errorf("read-only scan: %d", p.status)
	}

	// Scoped to Schulz KG: Müller's device does not exist.
	tb := f.browser(t, "en")
	tb.login(f.tech.Email, testPassword)
	if p := tb.do("GET", dev+"/updates", nil); p.status != http.StatusNotFound {
		t.Errorf("a foreign device's updates for a scoped technician: %d", p.status)
	}
	if p := tb.do("GET", devicePath(f.other.ID)+"/updates", nil); p.status != http.StatusOK || !strings.Contains(p.body, "libreoffice-core") {
		t.Errorf("own client's device: %d", p.status)
	}
}

// TestDeviceUpdatesActions: scan and install reach the service with the
// CSRF token only; an offline agent is a warning; nothing selected is
// said so.
func TestDeviceUpdatesActions(t *testing.T) {
	f := newPatchFixture(t)
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	dev := devicePath(f.device.ID)
	if p := b.do("POST", dev+"/updates/scan", url.Values{}); p.status != http.StatusForbidden {
		t.Errorf("scan without CSRF: %d", p.status)
	}
	p := b.do("POST", dev+"/updates/scan", url.Values{"csrf": {csrf}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != dev+"/updates?done=offline" {
		t.Fatalf("scan of an unconnected agent: %d %q", p.status, p.header.Get("Location"))
	}
	if p := b.do("GET", dev+"/updates?done=offline", nil); !strings.Contains(p.body, "The agent is offline.") {
		t.Errorf("the offline notice is missing")
	}
	if p := b.do("POST", dev+"/updates/install", url.Values{"csrf": {csrf}}); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "Select at least one update to install.") {
		t.Errorf("install of nothing: %d", p.status)
	}
	// An update the device does not miss is refused with the reason.
	p = b.do("POST", dev+"/updates/install", url.Values{"csrf": {csrf}, "id": {"999999"}})
	if !strings.Contains(p.body, `id="upd-error"`) || !strings.Contains(p.body, "999999") {
		t.Errorf("install of an unknown update: %d %s", p.status, p.body)
	}
	entries, err := f.st.ListAudit(t.Context(), 50)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range entries {
		if e.Action == "device.updates-scan" {
			found = true
		}
	}
	if !found {
		t.Errorf("the scan was not audited: %+v", entries)
	}
}

// TestPatchesFleet: the fleet view lists what is missing with the devices
// missing it, filters by severity, CVE, client and search, approves for
// one client (the device page follows, the other client's does not),
// declines for every client, and keeps the approval forms from users who
// may only read; compliance and vulnerabilities per client.
func TestPatchesFleet(t *testing.T) {
	f := newPatchFixture(t)
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	if p := b.do("GET", "/", nil); !strings.Contains(p.body, `href="/patches" id="nav-patches"`) {
		t.Errorf("the navigation lacks the patches")
	}
	if p := b.do("GET", "/clients/"+strconv.FormatInt(f.otherID, 10), nil); !strings.Contains(p.body, `href="/patches?client=`+strconv.FormatInt(f.otherID, 10)+`" id="client-patches"`) {
		t.Errorf("the client page does not link its patches")
	}
	p := b.do("GET", "/patches", nil)
	if p.status != http.StatusOK {
		t.Fatalf("/patches: %d %s", p.status, p.body)
	}
	feat := rowOf(p.body, "patch-"+strconv.FormatInt(f.feature, 10))
	wantAll(t, "feature row", feat, "libreoffice-core", `<td class="num">2`, "by the policy rules", "Approve", "Every client")
	wantAll(t, "fleet page", p.body, "KB5046617", "CVE-2026-21001", "Compliance per client", "Müller GmbH", "Schulz KG", "Vulnerabilities")
	// Müller's device misses an approved critical update: 0 of 1 patched;
	// Schulz's misses only an unapproved feature update: 1 of 1.
	wantAll(t, "compliance", p.body, `<td>0 / 1</td>`, `<td>1 / 1</td>`)

	for q, want := range map[string][2]string{
		"severity=critical":                          {"KB5046617", "libreoffice-core"},
		"cve=CVE-2026-21002":                         {"KB5046617", "libreoffice-core"},
		"q=libreoffice":                              {"libreoffice-core", "KB5046617"},
		"client=" + strconv.FormatInt(f.otherID, 10): {"libreoffice-core", "KB5046617"},
	} {
		p := b.do("GET", "/patches?"+q, nil)
		list := p.body[strings.Index(p.body, `id="fp-list"`):strings.Index(p.body, `id="fp-compliance"`)]
		if p.status != http.StatusOK || !strings.Contains(list, want[0]) || strings.Contains(list, want[1]) {
			t.Errorf("%s: %d, want %q without %q", q, p.status, want[0], want[1])
		}
	}
	if p := b.do("GET", "/patches?client=abc", nil); p.status != http.StatusBadRequest {
		t.Errorf("a bad filter: %d", p.status)
	}

	// Approve the feature update for Müller GmbH only.
	muellerID := f.device.ClientID
	form := url.Values{"csrf": {csrf}, "client": {strconv.FormatInt(muellerID, 10)}, "decision": {"approve"}, "return": {"severity=&q=libre"}}
	p = b.do("POST", "/patches/"+strconv.FormatInt(f.feature, 10)+"/approval", form)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/patches?done=approved&for=") {
		t.Fatalf("approve: %d %q %s", p.status, p.header.Get("Location"), p.body)
	}
	as, err := f.st.PatchApprovals(t.Context(), muellerID)
	if err != nil || len(as) != 1 || !as[0].Approved || as[0].ClientID != muellerID || as[0].PatchID != f.feature {
		t.Fatalf("stored approvals: %+v %v", as, err)
	}
	if p := b.do("GET", devicePath(f.device.ID)+"/updates", nil); !strings.Contains(rowOf(p.body, "upd-"+strconv.FormatInt(f.feature, 10)), "Approved by a technician") {
		t.Errorf("Müller's device does not show the approval")
	}
	if p := b.do("GET", devicePath(f.other.ID)+"/updates", nil); !strings.Contains(rowOf(p.body, "upd-"+strconv.FormatInt(f.feature, 10)), "Waiting for approval") {
		t.Errorf("Schulz's device changed with Müller's approval")
	}
	if p := b.do("GET", p.header.Get("Location"), nil); !strings.Contains(p.body, "Müller GmbH: approved.") {
		t.Errorf("the notice does not name the client")
	}
	p = b.do("GET", "/patches?client="+strconv.FormatInt(muellerID, 10), nil)
	if row := rowOf(p.body, "patch-"+strconv.FormatInt(f.feature, 10)); !strings.Contains(row, "Müller GmbH: approved") {
		t.Errorf("the fleet row filtered by the client does not show the decision: %s", row)
	}

	// Decline for every client: Schulz follows, Müller keeps its own.
	form.Set("client", "0")
	form.Set("decision", "decline")
	if p := b.do("POST", "/patches/"+strconv.FormatInt(f.feature, 10)+"/approval", form); p.status != http.StatusSeeOther {
		t.Fatalf("decline for every client: %d", p.status)
	}
	if p := b.do("GET", devicePath(f.other.ID)+"/updates", nil); !strings.Contains(rowOf(p.body, "upd-"+strconv.FormatInt(f.feature, 10)), "Declined by a technician") {
		t.Errorf("Schulz's device does not show the fleet-wide decline")
	}
	if p := b.do("GET", devicePath(f.device.ID)+"/updates", nil); !strings.Contains(rowOf(p.body, "upd-"+strconv.FormatInt(f.feature, 10)), "Approved by a technician") {
		t.Errorf("Müller's own approval was overridden")
	}
	// Back to the rules for Müller.
	form.Set("client", strconv.FormatInt(muellerID, 10))
	form.Set("decision", "clear")
	if p := b.do("POST", "/patches/"+strconv.FormatInt(f.feature, 10)+"/approval", form); p.status != http.StatusSeeOther {
		t.Fatalf("clear: %d", p.status)
	}
	if as, _ := f.st.PatchApprovals(t.Context(), muellerID); len(as) != 1 || as[0].ClientID != 0 {
		t.Errorf("after clearing Müller's decision: %+v", as)
	}

	// A read-only user sees no approval forms and may not post one.
	ro := f.browser(t, "en")
	ro.login(f.users[core.RoleReadOnly].Email, testPassword)
	if p := ro.do("GET", "/patches", nil); p.status != http.StatusOK || strings.Contains(p.body, `name="decision"`) {
		t.Errorf("read-only fleet view: %d, approval forms shown", p.status)
	}
	form.Set("csrf", csrfFrom(ro, "/"))
	if p := ro.do("POST", "/patches/"+strconv.FormatInt(f.feature, 10)+"/approval", form); p.status != http.StatusForbidden {
		t.Errorf("read-only approval: %d", p.status)
	}
	// A technician of Schulz KG only may neither decide for Müller nor
	// for every client, and sees only Schulz.
	tb := f.browser(t, "en")
	tb.login(f.tech.Email, testPassword)
	p = tb.do("GET", "/patches", nil)
	if strings.Contains(p.body, "Müller GmbH") || strings.Contains(p.body, "KB5046617") || strings.Contains(p.body, `<option value="0">`) {
		t.Errorf("a scoped technician sees another client's patches or the every-client choice")
	}
	tf := url.Values{"csrf": {csrfFrom(tb, "/")}, "client": {strconv.FormatInt(muellerID, 10)}, "decision": {"approve"}}
	if p := tb.do("POST", "/patches/"+strconv.FormatInt(f.feature, 10)+"/approval", tf); p.status != http.StatusNotFound {
		t.Errorf("a scoped technician deciding for a foreign client: %d", p.status)
	}
	tf.Set("client", "0")
	if p := tb.do("POST", "/patches/"+strconv.FormatInt(f.feature, 10)+"/approval", tf); p.status != http.StatusForbidden {
		t.Errorf("a scoped technician deciding for every client: %d", p.status)
	}
}

// csrfFrom reads the session's CSRF token from a page.
func csrfFrom(b *browser, path string) string { return csrfOf(b.t, b.do("GET", path, nil)) }

// TestDeviceUpdatesEOL: end-of-life software found in a Windows device's
// inventory is listed with the vendor's word; "Remove" opens the
// deployment dialog of the removal package for this device, uninstall
// chosen; a program without an MSI product code cannot be removed by
// Wacht and says so; a read-only user may not remove.
func TestDeviceUpdatesEOL(t *testing.T) {
	f := newPatchFixture(t)
	ctx := context.Background()
	_, site, err := f.st.EnsureClientSite(ctx, "Müller GmbH", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	secret := auth.NewSecret("")
	if err := f.st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: site.ClientID, SiteID: site.ID}); err != nil {
		t.Fatal(err)
	}
	win := core.Device{Hostname: "empfang-pc", OS: "windows", Platform: "Windows 10 Pro", Arch: "amd64", MachineID: "m3", PublicKey: make([]byte, 32), AgentVersion: "0.1.0"}
	if err := f.st.Enroll(ctx, auth.HashSecret(secret), &win, f.at); err != nil {
		t.Fatal(err)
	}
	inv := core.Inventory{CollectedAt: f.at, Software: []core.Program{
		{Name: "Adobe Flash Player 32 NPAPI", Version: "32.0.0.465", Publisher: "Adobe", Source: core.SourceRegistry64, ID: "{F6E23569-A22A-4924-93A4-3F215BEF63D2}"},
		{Name: "Skype version 8.150", Version: "8.150", Publisher: "Skype Technologies S.A.", Source: core.SourceRegistry32, ID: "Skype_is1"},
		{Name: "7-Zip 24.09 (x64)", Version: "24.09", Source: core.SourceRegistry64, ID: "7-Zip"},
	}}
	if err := f.st.SaveInventory(ctx, core.StoredInventory{DeviceID: win.ID, Digest: protocol.InventoryDigest(inv), ReceivedAt: f.at, Inventory: inv}, "", nil); err != nil {
		t.Fatal(err)
	}
	b := f.browser(t, "de")
	_, csrf := b.login("admin@example.com", testPassword)
	dev := devicePath(win.ID)
	p := b.do("GET", dev+"/updates", nil)
	eol := p.body[strings.Index(p.body, `id="upd-eol"`):]
	eol = eol[:strings.Index(eol, "</section>")]
	wantAll(t, "end-of-life section", eol, "Software ohne Herstellerunterstützung (2)", "Adobe Flash Player 32 NPAPI", "32.0.0.465",
		"Skype version 8.150", "Vom Hersteller nicht mehr unterstützt: entfernen.", "Kein Windows-Installer-Produktcode bekannt")
	if strings.Contains(eol, "7-Zip") || strings.Count(eol, ">Entfernen</button>") != 1 {
		t.Errorf("7-Zip listed or not exactly one removal button")
	}
	m := regexp.MustCompile(`<tr data-key="([^"]+)"><td><a href="https://www\.adobe\.com`).FindStringSubmatch(eol)
	if m == nil {
		t.Fatalf("no Flash row with its key:\n%s", eol)
	}
	key := html.UnescapeString(m[1])

	ro := f.browser(t, "en")
	ro.login(f.users[core.RoleReadOnly].Email, testPassword)
	if p := ro.do("POST", dev+"/updates/eol", url.Values{"csrf": {csrfFrom(ro, "/")}, "key": {key}}); p.status != http.StatusForbidden {
		t.Errorf("read-only removal: %d", p.status)
	}
	p = b.do("POST", dev+"/updates/eol", url.Values{"csrf": {csrf}, "key": {key}})
	loc := p.header.Get("Location")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/packages/") || !strings.Contains(loc, "/deploy?action=uninstall&device="+strconv.FormatInt(win.ID, 10)) {
		t.Fatalf("remove: %d %q %s", p.status, loc, p.body)
	}
	if p := b.do("GET", loc, nil); p.status != http.StatusOK || !strings.Contains(p.body, "empfang-pc") {
		t.Errorf("the deployment dialog: %d", p.status)
	}
	// An unknown key is not found.
	if p := b.do("POST", dev+"/updates/eol", url.Values{"csrf": {csrf}, "key": {"eol:nothing"}}); p.status != http.StatusNotFound {
		t.Errorf("an unknown key: %d", p.status)
	}
}

// TestPatchesPager: the fleet view pages by 50 and the pager keeps the
// filter.
func TestPatchesPager(t *testing.T) {
	f := newPatchFixture(t)
	var missing []core.MissingUpdate
	for i := range 60 {
		name := "libfoo" + strconv.Itoa(i)
		missing = append(missing, core.MissingUpdate{Update: core.Update{Key: core.UpdateKey(core.SourceApt, name, "1.1"), Source: core.SourceApt,
			ID: name, Version: "1.1", Installed: "1.0", Title: name, Classification: core.ClassUpdate}, FirstSeen: f.at})
	}
	missing = append(missing, core.MissingUpdate{Update: featureUpdate, FirstSeen: f.at})
	if err := f.st.SavePatchReport(t.Context(), f.other.ID, core.PatchReport{ScannedAt: f.at, Missing: missing,
		Sources: []core.PatchSourceStatus{{Source: core.SourceApt, Status: core.ScanOK, ScannedAt: f.at, Missing: 61}}}, f.at); err != nil {
		t.Fatal(err)
	}
	b := f.browser(t, "en")
	b.login("admin@example.com", testPassword)
	p := b.do("GET", "/patches?source=apt", nil)
	if n := strings.Count(p.body, `<tr id="patch-`); n != 50 || !strings.Contains(p.body, "Missing updates (61)") || !strings.Contains(p.body, "50 shown of 61") {
		t.Fatalf("first page: %d rows", n)
	}
	if !strings.Contains(p.body, `href="/patches?offset=50&amp;source=apt" id="fp-next"`) || strings.Contains(p.body, `id="fp-prev"`) {
		t.Errorf("first page's pager")
	}
	p = b.do("GET", "/patches?offset=50&source=apt", nil)
	if n := strings.Count(p.body, `<tr id="patch-`); n != 11 || strings.Contains(p.body, `id="fp-next"`) ||
		!strings.Contains(p.body, `href="/patches?source=apt" id="fp-prev"`) {
		t.Errorf("second page: %d rows", n)
	}
	if strings.Contains(p.body, "KB5046617") {
		t.Errorf("the source filter let a Windows update through")
	}
}
