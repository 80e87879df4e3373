package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
)

// listFixture is newFixture (pc-<b>01</b>, Linux, failing, at Müller GmbH /
// Zentrale) plus srv-02 (Windows, tag vip) and 26 devices bulk-NN at Müller
// GmbH / Lager, nb-03 (macOS) at Schulz KG / Büro, and a technician scoped
// to Müller GmbH.
type listFixture struct {
	*fixture
	win, nb core.Device // srv-02 and nb-03
	lager   core.Site
	schulz  core.Site
	tech    core.User
}

func newListFixture(t *testing.T) *listFixture {
	t.Helper()
	ctx := context.Background()
	f := &listFixture{fixture: newFixture(t)}
	var err error
	if _, f.lager, err = f.st.EnsureClientSite(ctx, "Müller GmbH", "Lager"); err != nil {
		t.Fatal(err)
	}
	if _, f.schulz, err = f.st.EnsureClientSite(ctx, "Schulz KG", "Büro"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	f.win = f.enroll(t, f.lager, core.Device{Hostname: "srv-02", OS: "windows", Role: core.DeviceRoleServer}, now)
	if err := f.st.SetDeviceTags(ctx, f.win.ID, []string{"vip"}); err != nil {
		t.Fatal(err)
	}
	for i := range 26 {
		f.enroll(t, f.lager, core.Device{Hostname: fmt.Sprintf("bulk-%02d", i), OS: "linux"}, now)
	}
	f.nb = f.enroll(t, f.schulz, core.Device{Hostname: "nb-03", OS: "darwin"}, now.Add(-time.Hour))
	h, err := authtest.Cost.Hash(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	f.tech = core.User{Email: "tech@example.com", PasswordHash: h, Role: core.RoleTechnician, Scope: core.Only(f.device.ClientID)}
	if err := f.st.CreateUser(ctx, &f.tech); err != nil {
		t.Fatal(err)
	}
	return f
}

// enroll enrolls d at site st, last seen at seen.
func (f *listFixture) enroll(t *testing.T, st core.Site, d core.Device, seen time.Time) core.Device {
	t.Helper()
	ctx := context.Background()
	secret := auth.NewSecret("")
	if err := f.st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), ClientID: st.ClientID, SiteID: st.ID}); err != nil {
		t.Fatal(err)
	}
	d.MachineID, d.PublicKey, d.AgentVersion = "m-"+d.Hostname, make([]byte, 32), "0.2.0"
	if err := f.st.Enroll(ctx, auth.HashSecret(secret), &d, seen); err != nil {
		t.Fatal(err)
	}
	if err := f.st.TouchDevice(ctx, d.ID, seen, "0.2.0"); err != nil {
		t.Fatal(err)
	}
	return d
}

var rowRE = regexp.MustCompile(`<a href="/devices/\d+" class="dl-open">([^<]*)</a>`)

// hosts lists the device rows of a list page in order.
func hosts(p page) []string {
	var out []string
	for _, m := range rowRE.FindAllStringSubmatch(p.body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

var nextRE = regexp.MustCompile(`<a href="([^"]+)"[^>]* id="dl-(next|prev)"`)

func pagerLink(p page, which string) string {
	for _, m := range nextRE.FindAllStringSubmatch(p.body, -1) {
		if m[2] == which {
			return html.UnescapeString(m[1])
		}
	}
	return ""
}

// TestDeviceListQuery drives search, filters, sorting and cursor paging
// through the home page's URL, as a bookmark or the GET form sends them.
func TestDeviceListQuery(t *testing.T) {
	f := newListFixture(t)
	b := f.browser(t, "en")
	b.login("admin@example.com", testPassword)

	cases := []struct {
		query string
		want  []string
	}{
		{"q=SRV", []string{"srv-02"}},
		{"q=vip", []string{"srv-02"}}, // a tag
		{"os=darwin", []string{"nb-03"}},
		{"client=" + strconv.FormatInt(f.schulz.ClientID, 10), []string{"nb-03"}},
		{"status=failure", []string{"pc-<b>01</b>"}},
		{"online=no", []string{"nb-03"}},
		{"tag=vip&os=windows", []string{"srv-02"}},
		{"role=server", []string{"srv-02"}},
		{"q=nb&sort=name&desc=1", []string{"nb-03"}},
		{"os=windows&os=darwin&sort=os", []string{"nb-03", "srv-02"}},
		{"os=windows,darwin", []string{"nb-03", "srv-02"}}, // the API's style
		{"status=failure,error", []string{"pc-<b>01</b>"}},
		{"tag=vip,+nothere", []string{"srv-02"}},
	}
	// The order of rows is the store's (its tests pin it); here the set.
	for _, c := range cases {
		p := b.do("GET", "/?"+c.query, nil)
		got := hosts(p)
		slices.Sort(got)
		if p.status != http.StatusOK || strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("/?%s: %d %q, want %q", c.query, p.status, hosts(p), c.want)
		}
	}

	// Sorting by a column: the header marks it and its link flips the
	// direction; the other columns start ascending.
	p := b.do("GET", "/?sort=last_seen", nil)
	if !strings.Contains(p.body, `<th aria-sort="ascending"><a href="/?desc=1&amp;sort=last_seen"`) ||
		!strings.Contains(p.body, `<th class="opt" aria-sort="none"><a href="/?sort=client"`) {
		t.Error("the sorted column's header does not flip to descending")
	}
	p = b.do("GET", "/?sort=last_seen&desc=1", nil)
	if !strings.Contains(p.body, `<th aria-sort="descending"><a href="/?sort=last_seen"`) {
		t.Error("the descending column's header does not flip to ascending")
	}

	// 29 devices, 25 a page: next and back again by cursor.
	p1 := b.do("GET", "/?size=25", nil)
	if n := len(hosts(p1)); n != 25 || !strings.Contains(p1.body, "29 devices") || pagerLink(p1, "prev") != "" {
		t.Fatalf("page 1: %d rows, prev %q", n, pagerLink(p1, "prev"))
	}
	next := pagerLink(p1, "next")
	p2 := b.do("GET", next, nil)
	if n := len(hosts(p2)); n != 4 || pagerLink(p2, "next") != "" || !strings.Contains(p2.body, "Page 2") {
		t.Fatalf("page 2 (%s): %d rows", next, n)
	}
	seen := map[string]bool{}
	for _, h := range append(hosts(p1), hosts(p2)...) {
		if seen[h] {
			t.Errorf("%s on both pages", h)
		}
		seen[h] = true
	}
	if back := b.do("GET", pagerLink(p2, "prev"), nil); strings.Join(hosts(back), ",") != strings.Join(hosts(p1), ",") {
		t.Errorf("previous page differs from page 1")
	}

	// htmx gets the list alone; a history restore the whole page.
	b.header.Set("HX-Request", "true")
	frag := b.do("GET", "/?os=darwin", nil)
	if !strings.HasPrefix(strings.TrimSpace(frag.body), `<div id="device-list"`) || strings.Contains(frag.body, "<html") {
		t.Errorf("htmx fragment:\n%.300s", frag.body)
	}
	b.header.Set("HX-History-Restore-Request", "true")
	if full := b.do("GET", "/?os=darwin", nil); !strings.Contains(full.body, "<html") {
		t.Error("history restore got a fragment")
	}
	b.header = http.Header{}

	// German plural and the grouping view.
	de := f.browser(t, "de")
	de.login("admin@example.com", testPassword)
	if p := de.do("GET", "/?os=darwin", nil); !strings.Contains(p.body, "1 Gerät<") || !strings.Contains(p.body, "Prüfungen jetzt ausführen") {
		t.Error("German list lacks „1 Gerät“ or the bulk actions")
	}
	if p := de.do("GET", "/?os=linux", nil); !strings.Contains(p.body, "27 Geräte") {
		t.Error("German list lacks „27 Geräte“")
	}
	if p := b.do("GET", "/?view=clients", nil); !strings.Contains(p.body, `<section class="client">`) || !strings.Contains(p.body, "Schulz KG") {
		t.Error("/?view=clients does not group by client")
	}
}

// TestDeviceListMultiValues: each filter takes several values, repeated
// (the form's checkboxes) or comma separated (the API's style); the form
// ticks them and its summary names them, and the address, the saved view's
// filters and a reload keep them all.
func TestDeviceListMultiValues(t *testing.T) {
	q := parseListQuery(url.Values{"status": {"failure,error", "bogus", "failure"}, "os": {"linux", "windows"},
		"role": {"server, notebook"}, "tag": {"vip, lab", "vip"}, "client": {"3,4", "x"}, "site": {"7", "8"}})
	if strings.Join(q.Statuses, " ") != "failure error" || strings.Join(q.OS, " ") != "linux windows" ||
		strings.Join(q.Roles, " ") != "server notebook" || strings.Join(q.Tags, " ") != "vip lab" ||
		fmt.Sprint(q.Clients, q.Sites) != "[3 4] [7 8]" || q.Tag() != "vip, lab" {
		t.Errorf("parsed %+v", q)
	}
	if back := parseListQuery(q.values()); fmt.Sprintf("%+v", back) != fmt.Sprintf("%+v", q) {
		t.Errorf("round trip %q: %+v", q.Filters(), back)
	}

	f := newListFixture(t)
	if err := f.st.SaveResults(context.Background(), f.win.ID, []core.Result{{ID: "w", Check: "services", Key: "spooler",
		Status: core.StatusWarning, Message: core.Text{EN: "spooler", DE: "Spooler"}, At: time.Now().UTC()}}); err != nil {
		t.Fatal(err)
	}
	b := f.browser(t, "en")
	b.login("admin@example.com", testPassword)
	p := b.do("GET", "/?status=failure&status=warning", nil)
	got := hosts(p)
	slices.Sort(got)
	if strings.Join(got, ",") != "pc-<b>01</b>,srv-02" {
		t.Errorf("two statuses: %q", got)
	}
	for _, want := range []string{`name="status" value="warning" checked`, `name="status" value="failure" checked`,
		`name="status" value="ok">`, `<span class="dl-multi-val" data-any="any">Warning, Failure</span>`,
		`<span class="dl-multi-val" data-any="any">any</span>`, `name="filters" value="status=failure&amp;status=warning"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("list page lacks %s", want)
		}
	}
	de := f.browser(t, "de")
	de.login("admin@example.com", testPassword)
	if p := de.do("GET", "/?status=failure,warning", nil); !strings.Contains(p.body, ">Warnung, Fehler</span>") {
		t.Error("German summary lacks „Warnung, Fehler“")
	}
}

// TestDeviceListAccess: a scoped technician sees and counts only their
// clients' devices and cannot act on another's; a read-only user is offered
// no bulk actions and refused when posting one.
func TestDeviceListAccess(t *testing.T) {
	f := newListFixture(t)
	tb := f.browser(t, "en")
	_, csrf := tb.login("tech@example.com", testPassword)
	p := tb.do("GET", "/?size=100", nil)
	if hs := hosts(p); len(hs) != 28 || strings.Contains(p.body, "nb-03") || strings.Contains(p.body, "Schulz KG") {
		t.Errorf("technician sees %d devices; foreign shown: %v", len(hs), strings.Contains(p.body, "Schulz KG"))
	}
	if p := tb.do("GET", "/?client="+strconv.FormatInt(f.schulz.ClientID, 10), nil); len(hosts(p)) != 0 {
		t.Errorf("technician filtering by a foreign client sees %q", hosts(p))
	}
	// A foreign device ID in a bulk request fails alone, without a command.
	p = tb.do("POST", "/devices/bulk", url.Values{"csrf": {csrf}, "confirm": {"1"}, "action": {"run_checks"},
		"id": {strconv.FormatInt(f.nb.ID, 10), strconv.FormatInt(f.win.ID, 10)}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "Checks requested on 1 device.") ||
		!strings.Contains(p.body, "Failed for 1 device:") || !strings.Contains(p.body, "device not found") || strings.Contains(p.body, "nb-03") {
		t.Errorf("technician's bulk with a foreign device: %d\n%s", p.status, p.body)
	}
	if n := f.cmd.count(); n != 1 {
		t.Errorf("%d commands sent, want 1", n)
	}

	rb := f.browser(t, "en")
	_, csrf = rb.login("readonly@example.com", testPassword)
	p = rb.do("GET", "/", nil)
	if strings.Contains(p.body, `id="dl-bulk"`) || strings.Contains(p.body, `name="id"`) || len(hosts(p)) == 0 {
		t.Error("read-only user is offered bulk actions (or sees no devices)")
	}
	p = rb.do("POST", "/devices/bulk", url.Values{"csrf": {csrf}, "confirm": {"1"}, "action": {"run_checks"}, "id": {strconv.FormatInt(f.win.ID, 10)}})
	if p.status != http.StatusForbidden || f.cmd.count() != 1 {
		t.Errorf("read-only bulk: %d, commands %d", p.status, f.cmd.count())
	}
}

// TestDeviceBulk: each action asks first, saying what happens to how many
// devices, then acts through the single-device service methods (audited
// per device) and reports the outcome.
func TestDeviceBulk(t *testing.T) {
	f := newListFixture(t)
	ctx := context.Background()
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	two := []string{strconv.FormatInt(f.device.ID, 10), strconv.FormatInt(f.win.ID, 10)}
	csrfs := map[*browser]string{b: csrf}
	post := func(b *browser, v url.Values) page {
		v.Set("csrf", csrfs[b])
		return b.do("POST", "/devices/bulk", v)
	}

	p := post(b, url.Values{"action": {"run_checks"}, "id": two})
	if !strings.Contains(p.body, "Run checks on 2 devices?") || f.cmd.count() != 0 {
		t.Fatalf("question: %d commands\n%s", f.cmd.count(), p.body)
	}
	p = post(b, url.Values{"action": {"run_checks"}, "id": two, "confirm": {"1"}})
	if !strings.Contains(p.body, "Checks requested on 2 devices.") || f.cmd.count() != 2 || len(auditOf(t, f.fixture, "device.run-checks")) != 2 {
		t.Errorf("run checks: %d commands, %d audited\n%s", f.cmd.count(), len(auditOf(t, f.fixture, "device.run-checks")), p.body)
	}

	// All matching the filters, across pages, resolved on confirmation.
	p = post(b, url.Values{"action": {"maintenance"}, "all": {"1"}, "filters": {"os=linux&size=25"}, "minutes": {"120"}, "title": {"Umzug"}})
	if !strings.Contains(p.body, "Put 27 devices into maintenance for 2 h 0 min?") {
		t.Errorf("maintenance question:\n%s", p.body)
	}
	p = post(b, url.Values{"action": {"maintenance"}, "all": {"1"}, "filters": {"os=linux"}, "minutes": {"120"}, "title": {"Umzug"}, "confirm": {"1"}})
	ms, err := f.st.ListMaintenance(ctx, core.MaintenanceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.body, "27 devices put into maintenance.") || len(ms) != 27 || ms[0].Scope != core.LevelDevice || ms[0].Title != "Umzug" {
		t.Errorf("maintenance: %d windows\n%s", len(ms), p.body)
	}

	// Moving, in German: the question names the site.
	de := f.browser(t, "de")
	_, csrfs[de] = de.login("admin@example.com", testPassword)
	site := strconv.FormatInt(f.schulz.ID, 10)
	p = post(de, url.Values{"action": {"move"}, "id": two[1:], "site": {site}})
	if !strings.Contains(p.body, "1 Gerät nach Schulz KG / Büro verschieben?") {
		t.Errorf("German move question:\n%s", p.body)
	}
	p = post(de, url.Values{"action": {"move"}, "id": two[1:], "site": {site}, "confirm": {"1"}})
	if d, err := f.st.GetDevice(ctx, f.win.ID); err != nil || d.SiteID != f.schulz.ID || !strings.Contains(p.body, "1 Gerät verschoben.") {
		t.Errorf("move: site %d %v\n%s", d.SiteID, err, p.body)
	}

	// Bad input names the field and acts on nothing.
	p = post(b, url.Values{"action": {"maintenance"}, "id": two, "minutes": {"0"}, "title": {"x"}, "confirm": {"1"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "duration") {
		t.Errorf("zero duration: %d\n%s", p.status, p.body)
	}
	p = post(b, url.Values{"action": {"run_checks"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "devices") {
		t.Errorf("no device: %d\n%s", p.status, p.body)
	}
}

// TestSavedViews: a user saves the list's filters under a name, finds the
// view on the list, cannot save a second of the same name, and deletes it;
// the built-in views are offered to everybody.
func TestSavedViews(t *testing.T) {
	f := newListFixture(t)
	b := f.browser(t, "en")
	_, csrf := b.login("readonly@example.com", testPassword)
	p := b.do("POST", "/views", url.Values{"csrf": {csrf}, "name": {"Macs"}, "filters": {"os=darwin&bogus=1&cursor=abc"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/?os=darwin" {
		t.Fatalf("save: %d %q", p.status, p.header.Get("Location"))
	}
	home := b.do("GET", "/", nil)
	if !strings.Contains(home.body, `<a href="/?os=darwin">Macs</a>`) || !strings.Contains(home.body, "In maintenance") {
		t.Errorf("home lacks the saved or built-in views:\n%s", home.body)
	}
	p = b.do("POST", "/views", url.Values{"csrf": {csrf}, "name": {"Macs"}, "filters": {"os=linux"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "name") {
		t.Errorf("duplicate name: %d\n%s", p.status, p.body)
	}
	vs, err := f.st.ListSavedViews(context.Background(), f.users[core.RoleReadOnly].ID)
	if err != nil || len(vs) != 1 || len(auditOf(t, f.fixture, "view.create")) != 1 {
		t.Fatalf("views %+v %v", vs, err)
	}
	// Another user cannot delete it.
	ab := f.browser(t, "en")
	_, acsrf := ab.login("admin@example.com", testPassword)
	if p := ab.do("POST", fmt.Sprintf("/views/%d/delete", vs[0].ID), url.Values{"csrf": {acsrf}, "confirm": {"yes"}}); p.status != http.StatusNotFound {
		t.Errorf("another user's delete: %d", p.status)
	}
	p = b.do("POST", fmt.Sprintf("/views/%d/delete", vs[0].ID), url.Values{"csrf": {csrf}, "confirm": {"yes"}, "next": {"/?os=darwin"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/?os=darwin&view_deleted=Macs" {
		t.Errorf("delete: %d %q", p.status, p.header.Get("Location"))
	}
	// The list names the deleted view once; its own address leaves that out.
	if home := b.do("GET", "/?os=darwin&view_deleted=Macs", nil); strings.Contains(home.body, ">Macs</a>") ||
		!strings.Contains(home.body, "The saved view “Macs” was deleted.") || strings.Contains(home.body, `name="next" value="/?os=darwin&amp;view_deleted`) {
		t.Errorf("after the delete: view still listed, no notice, or the notice in the page's address:\n%s", home.body)
	}
}
