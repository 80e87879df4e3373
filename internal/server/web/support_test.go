package web

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	webassets "github.com/wacht-rmm/wacht/web"
)

// supportFixture is the web fixture with support requests in the real
// store: on Müller GmbH's device "printer" (new, with a screenshot, sent
// an hour ago), "vpn" (in progress) and "mail" (done); on Fremde AG's
// device "foreign" (new). Users: admin, readonly and a technician limited
// to Müller GmbH.
type supportFixture struct {
	*fixture
	foreign core.Device
	tech    core.User
	ids     map[string]int64 // by ref
	shot    []byte           // the printer request's screenshot
}

func newSupportFixture(t *testing.T) *supportFixture {
	t.Helper()
	f := &supportFixture{fixture: newFixture(t), ids: map[string]int64{}, shot: testPNG(t, 40, 30)}
	ctx := context.Background()
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
	must(f.st.Enroll(ctx, auth.HashSecret(secret), &f.foreign, time.Now()))
	h, err := authtest.Cost.Hash(testPassword)
	must(err)
	f.tech = core.User{Email: "tech@example.com", PasswordHash: h, Role: core.RoleTechnician, Scope: core.Only(f.device.ClientID)}
	must(f.st.CreateUser(ctx, &f.tech))

	now := time.Now().UTC().Truncate(time.Millisecond)
	for i, c := range []struct {
		ref, state string
		device     int64
		msg        string
		contact    core.SupportContact
		shot       []byte
	}{
		{"mail-0001", core.SupportDone, f.device.ID, "Outlook fragt nach dem Passwort", core.SupportContact{Name: "Bernd Berger"}, nil},
		{"vpn-00001", core.SupportInProgress, f.device.ID, "VPN trennt sich ständig", core.SupportContact{Name: "Clara Conrad"}, nil},
		{"foreign-1", core.SupportNew, f.foreign.ID, "Fremde Anfrage", core.SupportContact{}, nil},
		{"printer-1", core.SupportNew, f.device.ID, "Mein Drucker <b>druckt</b> nicht\nZweite Zeile mit Details",
			core.SupportContact{Name: "Anna Amsel", Email: "anna@mueller.example", Phone: "+49 (30) 1234-56\"><x>"}, f.shot},
	} {
		r := core.SupportRequest{DeviceID: c.device, Ref: c.ref, OSUser: `MUELLER\anna`, Contact: c.contact, Message: c.msg,
			Lang: "de", CreatedAt: now.Add(time.Duration(i-10) * time.Minute), ReceivedAt: now.Add(time.Duration(i-10) * time.Minute)}
		if _, err := f.st.SaveSupportRequest(ctx, &r, c.shot, nil); err != nil {
			t.Fatal(err)
		}
		f.ids[c.ref] = r.ID
		if c.state != core.SupportNew {
			if _, err := f.st.UpdateSupportRequest(ctx, r.ID, core.SupportUpdate{State: c.state, At: now}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return f
}

func (f *supportFixture) path(ref string) string {
	return "/support/" + strconv.FormatInt(f.ids[ref], 10)
}

// testPNG is a w×h PNG.
func testPNG(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			c := color.NRGBA{R: 31, G: 95, B: 191, A: 255}
			if (x/4+y/4)%2 == 0 {
				c = color.NRGBA{R: 255, G: 255, B: 255, A: 255}
			}
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSupportList(t *testing.T) {
	f := newSupportFixture(t)
	tech := f.browser(t, "en")
	tech.login("tech@example.com", testPassword)

	p := tech.do("GET", "/support", nil)
	if p.status != http.StatusOK {
		t.Fatalf("support list: %d", p.status)
	}
	// Open requests only by default, newest first, the client's only.
	if got := rowRefs(f, p.body); !equal(got, []string{"printer-1", "vpn-00001"}) {
		t.Errorf("default list: %v", got)
	}
	for _, want := range []string{"Mein Drucker &lt;b&gt;druckt&lt;/b&gt; nicht", "Anna Amsel", "Müller GmbH", devicePath(f.device.ID),
		`class="sr-shot"`, "In progress", `<option value="open" selected>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	if strings.Contains(p.body, "Zweite Zeile") || strings.Contains(p.body, "<b>druckt") {
		t.Error("the list shows more than the message's first line, or unescaped")
	}
	if got := rowRefs(f, tech.do("GET", "/support?state=all", nil).body); !equal(got, []string{"printer-1", "vpn-00001", "mail-0001"}) {
		t.Errorf("all states: %v", got)
	}
	if got := rowRefs(f, tech.do("GET", "/support?state=done", nil).body); !equal(got, []string{"mail-0001"}) {
		t.Errorf("done: %v", got)
	}
	// Another client's requests stay invisible, even when asked for.
	other := strconv.FormatInt(f.foreign.ClientID, 10)
	if got := rowRefs(f, tech.do("GET", "/support?state=all&client="+other, nil).body); len(got) != 0 {
		t.Errorf("technician sees the other client's: %v", got)
	}
	for _, q := range []string{"state=bogus", "client=x", "offset=-1", "offset=10001"} {
		if p := tech.do("GET", "/support?"+q, nil); p.status != http.StatusBadRequest {
			t.Errorf("?%s: %d", q, p.status)
		}
	}

	admin := f.browser(t, "de")
	admin.login("admin@example.com", testPassword)
	p = admin.do("GET", "/support?client="+other, nil)
	if got := rowRefs(f, p.body); !equal(got, []string{"foreign-1"}) || !strings.Contains(p.body, "Offen (neu und in Bearbeitung)") {
		t.Errorf("admin, other client, German: %v", got)
	}
	// From the device page to its requests.
	dev := admin.do("GET", devicePath(f.device.ID), nil)
	link := `href="/support?device=` + strconv.FormatInt(f.device.ID, 10) + `&amp;state=all"`
	if !strings.Contains(dev.body, link) || !strings.Contains(dev.body, "Supportanfragen") {
		t.Fatal("the device page does not link to its support requests")
	}
	p = admin.do("GET", "/support?state=all&device="+strconv.FormatInt(f.device.ID, 10), nil)
	if got := rowRefs(f, p.body); !equal(got, []string{"printer-1", "vpn-00001", "mail-0001"}) || !strings.Contains(p.body, `id="support-device-filter"`) {
		t.Errorf("device filter: %v", got)
	}

	// The nav badge counts the new requests in scope.
	if p := tech.do("GET", "/partials/support-count", nil); !strings.Contains(p.body, ">1</span>") {
		t.Errorf("technician's badge: %s", p.body)
	}
	if p := admin.do("GET", "/partials/support-count", nil); !strings.Contains(p.body, ">2</span>") {
		t.Errorf("admin's badge: %s", p.body)
	}
}

// rowRefs lists the refs of the list's rows, in order.
func rowRefs(f *supportFixture, body string) []string {
	byID := map[string]string{}
	for ref, id := range f.ids {
		byID[strconv.FormatInt(id, 10)] = ref
	}
	var out []string
	for _, part := range strings.Split(body, `<tr id="sr-`)[1:] {
		id, _, _ := strings.Cut(part, `"`)
		out = append(out, byID[id])
	}
	return out
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// TestSupportListPaging: the open filter merges two states; the pages
// hold every request once, newest first.
func TestSupportListPaging(t *testing.T) {
	f := newSupportFixture(t)
	ctx := context.Background()
	base := time.Now().UTC().Add(-48 * time.Hour)
	for i := range supportPerPage + 10 {
		r := core.SupportRequest{DeviceID: f.device.ID, Ref: "bulk-" + strconv.Itoa(1000+i), OSUser: "anna", Message: "n" + strconv.Itoa(i),
			Lang: "en", CreatedAt: base, ReceivedAt: base.Add(time.Duration(i) * time.Minute)}
		if _, err := f.st.SaveSupportRequest(ctx, &r, nil, nil); err != nil {
			t.Fatal(err)
		}
		f.ids[r.Ref] = r.ID
		if i%2 == 0 {
			if _, err := f.st.UpdateSupportRequest(ctx, r.ID, core.SupportUpdate{State: core.SupportInProgress, At: base}); err != nil {
				t.Fatal(err)
			}
		}
	}
	b := f.browser(t, "en")
	b.login("tech@example.com", testPassword)
	p1 := b.do("GET", "/support", nil)
	first := rowRefs(f, p1.body)
	if len(first) != supportPerPage || first[0] != "printer-1" || first[1] != "vpn-00001" || first[2] != "bulk-1059" {
		t.Fatalf("first page: %d rows, starting %v", len(first), first[:3])
	}
	if !strings.Contains(p1.body, `id="support-next"`) || strings.Contains(p1.body, `id="support-prev"`) {
		t.Error("first page's pager")
	}
	p2 := b.do("GET", "/support?state=open&offset="+strconv.Itoa(supportPerPage), nil)
	second := rowRefs(f, p2.body)
	if len(second) != 12 || second[len(second)-1] != "bulk-1000" || !strings.Contains(p2.body, `id="support-prev"`) {
		t.Errorf("second page: %v", second)
	}
	seen := map[string]bool{}
	for _, ref := range append(first, second...) {
		if seen[ref] {
			t.Errorf("%s on both pages", ref)
		}
		seen[ref] = true
	}
}

func TestSupportRequestPage(t *testing.T) {
	f := newSupportFixture(t)
	tech := f.browser(t, "en")
	tech.login("tech@example.com", testPassword)
	p := tech.do("GET", f.path("printer-1"), nil)
	if p.status != http.StatusOK {
		t.Fatalf("request page: %d", p.status)
	}
	for _, want := range []string{
		"Mein Drucker &lt;b&gt;druckt&lt;/b&gt; nicht\nZweite Zeile mit Details", // pre-wrapped, escaped
		`href="mailto:anna@mueller.example"`,
		`href="tel:&#43;4930123456"`, // only the digits reach the link
		`MUELLER\anna`, "Müller GmbH", "Zentrale", "Deutsch", devicePath(f.device.ID),
		`src="` + f.path("printer-1") + `/screenshot"`,
		`id="sr-form"`, `<option value="new" selected>`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("request page lacks %q", want)
		}
	}
	if strings.Contains(p.body, "<x>") {
		t.Error("the contact's phone is not escaped")
	}
	shot := tech.do("GET", f.path("printer-1")+"/screenshot", nil)
	if shot.status != http.StatusOK || shot.header.Get("Content-Type") != "image/png" || shot.body != string(f.shot) ||
		shot.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(shot.header.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("screenshot: %d %v", shot.status, shot.header)
	}
	// Without a screenshot there is no image and no screenshot route.
	if p := tech.do("GET", f.path("vpn-00001"), nil); strings.Contains(p.body, "/screenshot") {
		t.Error("a request without a screenshot shows one")
	}
	if p := tech.do("GET", f.path("vpn-00001")+"/screenshot", nil); p.status != http.StatusNotFound {
		t.Errorf("missing screenshot: %d", p.status)
	}
	// Another client's request does not exist for the technician.
	for _, path := range []string{f.path("foreign-1"), f.path("foreign-1") + "/screenshot", "/support/999999", "/support/x"} {
		if p := tech.do("GET", path, nil); p.status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, p.status)
		}
	}

	ro := f.browser(t, "de")
	_, csrf := ro.login("readonly@example.com", testPassword)
	p = ro.do("GET", f.path("printer-1"), nil)
	if p.status != http.StatusOK || strings.Contains(p.body, `id="sr-form"`) || !strings.Contains(p.body, "Noch keine Antwort.") {
		t.Errorf("read-only: %d, form shown or German missing", p.status)
	}
	if p := ro.do("POST", f.path("printer-1"), url.Values{"csrf": {csrf}, "reply": {"hi"}, "state": {"done"}}); p.status != http.StatusForbidden {
		t.Errorf("read-only reply: %d", p.status)
	}
	if r, _ := f.st.GetSupportRequest(context.Background(), f.ids["printer-1"]); r.State != core.SupportNew || len(r.Replies) != 0 {
		t.Errorf("read-only changed the request: %+v", r)
	}
}

func TestSupportReply(t *testing.T) {
	f := newSupportFixture(t)
	ctx := context.Background()
	tech := f.browser(t, "de")
	_, csrf := tech.login("tech@example.com", testPassword)
	path := f.path("printer-1")

	p := tech.do("POST", path, url.Values{"csrf": {csrf}, "reply": {"Ich schaue mir das an.\r\nBitte Drucker anlassen."}, "state": {core.SupportInProgress}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != path+"?done=reply" {
		t.Fatalf("reply: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	r, err := f.st.GetSupportRequest(ctx, f.ids["printer-1"])
	if err != nil || r.State != core.SupportInProgress || len(r.Replies) != 1 || r.Replies[0].Body != "Ich schaue mir das an.\nBitte Drucker anlassen." {
		t.Fatalf("stored: %v %+v", err, r)
	}
	p = tech.do("GET", path+"?done=reply", nil)
	for _, want := range []string{"Der Benutzer sieht sie in der Tray-App", "Ich schaue mir das an.\nBitte Drucker anlassen.", r.Replies[0].Author,
		`<option value="in_progress" selected>`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("after the reply the page lacks %q", want)
		}
	}
	// A state change alone.
	p = tech.do("POST", path, url.Values{"csrf": {csrf}, "reply": {"  "}, "state": {core.SupportDone}})
	if p.status != http.StatusSeeOther || !strings.HasSuffix(p.header.Get("Location"), "?done=state") {
		t.Errorf("state: %d %q", p.status, p.header.Get("Location"))
	}
	if r, _ := f.st.GetSupportRequest(ctx, f.ids["printer-1"]); r.State != core.SupportDone || len(r.Replies) != 1 {
		t.Errorf("after the state change: %+v", r)
	}
	// A bad state is refused; the typed reply stays.
	p = tech.do("POST", path, url.Values{"csrf": {csrf}, "reply": {"Bitte neu starten"}, "state": {"bogus"}})
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="sr-error"`) || !strings.Contains(p.body, ">Bitte neu starten</textarea>") {
		t.Errorf("bad state: %d\n%s", p.status, p.body)
	}
	// Another client's request cannot be answered.
	if p := tech.do("POST", f.path("foreign-1"), url.Values{"csrf": {csrf}, "reply": {"x"}}); p.status != http.StatusNotFound {
		t.Errorf("foreign reply: %d", p.status)
	}
	if r, _ := f.st.GetSupportRequest(ctx, f.ids["foreign-1"]); len(r.Replies) != 0 {
		t.Error("the foreign request got a reply")
	}
}

// postFiles posts a multipart form with the files (by name) in field.
func (b *browser) postFiles(path, csrf, field string, files map[string][]byte) page {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.WriteField("csrf", csrf); err != nil {
		b.t.Fatal(err)
	}
	for name, data := range files {
		w, err := mw.CreateFormFile(field, name)
		if err != nil {
			b.t.Fatal(err)
		}
		if _, err := w.Write(data); err != nil {
			b.t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		b.t.Fatal(err)
	}
	req, err := http.NewRequest("POST", b.base+path, &buf)
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept-Language", b.lang)
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return page{resp.StatusCode, string(body), resp.Header}
}

// TestSupportTemplateKeys: every catalog key the tray card and the
// support pages name, literally or built from a value, exists in English
// and German.
func TestSupportTemplateKeys(t *testing.T) {
	re := regexp.MustCompile(`\.Tf? "([a-zA-Z0-9.]+)"`)
	var keys []string
	for _, name := range []string{"templates/partials-support.html", "templates/support.html", "templates/support-request.html"} {
		b, err := fs.ReadFile(webassets.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		ms := re.FindAllStringSubmatch(string(b), -1)
		if len(ms) < 10 {
			t.Fatalf("%s: only %d keys found; the pattern no longer matches the templates", name, len(ms))
		}
		for _, m := range ms {
			keys = append(keys, m[1])
		}
	}
	for _, s := range (supportPage{}).States() {
		keys = append(keys, "support.filter."+s)
	}
	for _, s := range supportStates {
		keys = append(keys, "support.state."+s)
	}
	for _, s := range remoteSupportTools {
		keys = append(keys, "tray.tool."+s)
	}
	for _, s := range []string{"saved", "icon", "iconRemoved"} {
		keys = append(keys, "tray.notice."+s)
	}
	for _, k := range keys {
		for _, l := range []string{langEN, langDE} {
			if _, ok := catalog[l][k]; !ok {
				t.Errorf("%s lacks %q", l, k)
			}
		}
	}
}

// BenchmarkSupportListPage renders the support list's first and a deep
// page of open requests among 10,000 (half new, half in progress) on
// SQLite, as a technician of the client sees them.
func BenchmarkSupportListPage(b *testing.B) {
	f := &supportFixture{fixture: newFixture(b), ids: map[string]int64{}}
	ctx := context.Background()
	base := time.Now().UTC().Add(-30 * 24 * time.Hour)
	for i := range 10000 {
		r := core.SupportRequest{DeviceID: f.device.ID, Ref: "bench-" + strconv.Itoa(100000+i), OSUser: "anna",
			Message: "Drucker druckt nicht\nDetails", Lang: "de", CreatedAt: base, ReceivedAt: base.Add(time.Duration(i) * time.Minute)}
		if _, err := f.st.SaveSupportRequest(ctx, &r, nil, nil); err != nil {
			b.Fatal(err)
		}
		if i%2 == 0 {
			if _, err := f.st.UpdateSupportRequest(ctx, r.ID, core.SupportUpdate{State: core.SupportInProgress, At: base}); err != nil {
				b.Fatal(err)
			}
		}
	}
	br := f.browser(b, "en")
	br.login("admin@example.com", testPassword)
	for _, c := range []struct{ name, path string }{{"first", "/support"}, {"offset5000", "/support?offset=5000"}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if p := br.do("GET", c.path, nil); p.status != http.StatusOK || !strings.Contains(p.body, `<tr id="sr-`) {
					b.Fatalf("%s: %d", c.path, p.status)
				}
			}
		})
	}
}
