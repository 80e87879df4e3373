package web

import (
	"archive/zip"
	"context"
	"crypto/rand"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
	webassets "github.com/wacht-rmm/wacht/web"
)

// fakeRemote is a commander whose agents are connected to no node: runs
// on explicitly chosen devices queue (scripts are not locked), actions
// answer offline.
type fakeRemote struct{ fakeCommander }

func (*fakeRemote) Do(context.Context, int64, string, any, any) error { return core.ErrOffline }
func (*fakeRemote) OpenStream(context.Context, int64, string, any) (*gateway.Stream, error) {
	return nil, core.ErrOffline
}
func (*fakeRemote) Disabled(int64) ([]string, bool) { return nil, false }

// scriptsFixture is the dashboard with a secret key (jobs need one) and a
// technician limited to a client without devices.
type scriptsFixture struct {
	*fixture
	tech   core.User
	second core.Device // another online device at the same site
}

func newScriptsFixture(t *testing.T) *scriptsFixture {
	t.Helper()
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	f := &fixture{st: st, cmd: &fakeCommander{}}
	f.device, f.users = seed(t, st, "pc-01")
	box, err := seal.NewBox([]byte(rand.Text() + rand.Text())[:32])
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Deps{Store: st, Service: service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Commander: &fakeRemote{}, Secrets: box})})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewTLSServer(h)
	t.Cleanup(f.srv.Close)
	other, _, err := st.EnsureClientSite(ctx, "Schmidt KG", "Lager")
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := authtest.Cost.Hash(testPassword)
	tech := core.User{Email: "tech@example.com", PasswordHash: hash, Role: core.RoleTechnician, Scope: core.Only(other.ID)}
	if err := st.CreateUser(ctx, &tech); err != nil {
		t.Fatal(err)
	}
	secret := auth.NewSecret("")
	if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), SiteID: f.device.SiteID}); err != nil {
		t.Fatal(err)
	}
	second := core.Device{Hostname: "pc-02", OS: "linux", MachineID: "m2", PublicKey: make([]byte, 32)}
	if err := st.Enroll(ctx, auth.HashSecret(secret), &second, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := st.TouchDevice(ctx, second.ID, time.Now(), "0.1.0"); err != nil {
		t.Fatal(err)
	}
	return &scriptsFixture{fixture: f, tech: tech, second: second}
}

// scriptForm is the editor's form for a bash script with one parameter
// of each kind that matters here.
func scriptForm(csrf, name, body string) url.Values {
	return url.Values{"csrf": {csrf}, "name": {name}, "description_en": {"Greets"}, "description_de": {"Grüßt"},
		"language": {"bash"}, "os": {"linux"}, "timeout_seconds": {"60"}, "run_as": {"system"}, "body": {body}, "prows": {"3"},
		"p0.name": {"WHO"}, "p0.type": {"text"}, "p0.default": {"Welt"}, "p0.label_de": {"Wen grüßen"},
		"p1.name": {"PASSWORT"}, "p1.type": {"secret"},
		"p2.name": {""}, "p2.type": {"text"}}
}

var scriptIDRE = regexp.MustCompile(`^/scripts/(\d+)\?saved=1$`)

func TestScriptPages(t *testing.T) {
	f := newScriptsFixture(t)
	ctx := context.Background()
	b := f.browser(t, "de")
	_, csrf := b.login("admin@example.com", testPassword)

	list := b.do("GET", "/scripts", nil)
	if list.status != http.StatusOK || !strings.Contains(list.body, `id="nav-scripts"`) || !strings.Contains(list.body, "Clean temporary files") ||
		!strings.Contains(list.body, `id="script-new"`) || !strings.Contains(list.body, `id="import-form"`) || !strings.Contains(list.body, "mitgeliefert") {
		t.Fatalf("library: %d\n%s", list.status, list.body)
	}
	if p := b.do("GET", "/scripts?q=spooler", nil); strings.Contains(p.body, "Clean temporary files") || !strings.Contains(p.body, "print spooler") {
		t.Errorf("filter: %s", p.body)
	}

	// Refused: each message beside its field, in German; nothing stored.
	bad := scriptForm(csrf, " ", "echo hi")
	bad.Set("language", "cobol")
	bad.Set("p0.name", "1x")
	bad.Set("p2.default", "5") // typed without a name: refused, not dropped
	p := b.do("POST", "/scripts", bad)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="name-error"`) || !strings.Contains(p.body, `id="language-error"`) ||
		!strings.Contains(p.body, `id="param-0-error"`) || !strings.Contains(p.body, `id="param-2-error"`) || strings.Contains(p.body, `id="param-1-error"`) || !strings.Contains(p.body, "muss 1 bis 100 Zeichen haben") || !strings.Contains(p.body, `value="Welt"`) {
		t.Fatalf("invalid script: %d\n%s", p.status, p.body)
	}
	if p := b.do("POST", "/scripts", scriptForm("", "Grüße", "echo hi")); p.status != http.StatusForbidden {
		t.Errorf("POST without CSRF: %d", p.status)
	}
	before, _ := f.st.ListScripts(ctx)

	// Created, then edited: two versions.
	p = b.do("POST", "/scripts", scriptForm(csrf, "Grüße", "echo \"Hallo $WHO\"\r\n"))
	m := scriptIDRE.FindStringSubmatch(p.header.Get("Location"))
	if p.status != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d %q %s", p.status, p.header.Get("Location"), p.body)
	}
	id := m[1]
	after, _ := f.st.ListScripts(ctx)
	if len(after) != len(before)+1 {
		t.Fatalf("%d scripts after the refused posts and one create, want %d", len(after), len(before)+1)
	}
	p = b.do("POST", "/scripts/"+id, scriptForm(csrf, "Grüße", "echo \"Servus $WHO\"\n"))
	if p.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", p.status, p.body)
	}
	sc, _ := f.st.GetScript(ctx, mustInt(t, id))
	if sc.Version != 2 || sc.Body != "echo \"Servus $WHO\"\n" || len(sc.Params) != 2 || sc.Params[1].Type != core.ParamSecret || sc.Description.DE != "Grüßt" {
		t.Fatalf("stored %+v", sc)
	}
	ed := b.do("GET", "/scripts/"+id+"?saved=1", nil)
	for _, want := range []string{"Als neue Version gespeichert.", `id="version-1"`, `id="version-2"`, `src="/static/vendor/codemirror.js"`,
		`id="script-save"`, `id="script-run"`, "<td>admin@example.com</td>", `value="linux" checked`} {
		if !strings.Contains(ed.body, want) {
			t.Errorf("editor lacks %q", want)
		}
	}
	old := b.do("GET", "/scripts/"+id+"?version=1", nil)
	if !strings.Contains(old.body, `id="old-version"`) || !strings.Contains(old.body, "Hallo $WHO") || strings.Contains(old.body, `id="script-save"`) ||
		!strings.Contains(old.body, `<fieldset class="plain" disabled>`) || !strings.Contains(old.body, `/scripts/new?from=`+id+`&amp;version=1`) {
		t.Errorf("old version:\n%s", old.body)
	}
	dup := b.do("GET", "/scripts/new?from="+id+"&version=1", nil)
	if !strings.Contains(dup.body, `value="Kopie von Grüße"`) || !strings.Contains(dup.body, "Hallo $WHO") {
		t.Errorf("duplicate:\n%s", dup.body)
	}

	// Built-in scripts are read-only, with Duplicate.
	var builtin core.Script
	for _, s := range after {
		if s.Builtin != "" {
			builtin = s
			break
		}
	}
	bp := b.do("GET", "/scripts/"+strconv.FormatInt(builtin.ID, 10), nil)
	if strings.Contains(bp.body, `id="script-save"`) || !strings.Contains(bp.body, `id="script-duplicate"`) || strings.Contains(bp.body, `id="script-delete"`) {
		t.Errorf("built-in script page:\n%s", bp.body)
	}
	if p := b.do("POST", "/scripts/"+strconv.FormatInt(builtin.ID, 10), scriptForm(csrf, "x", "echo")); p.status != http.StatusForbidden {
		t.Errorf("editing a built-in: %d", p.status)
	}

	// Run on the device: the job page polls until every run is final.
	dev := strconv.FormatInt(f.device.ID, 10)
	rd := b.do("GET", "/scripts/"+id+"/run?device="+dev, nil)
	if rd.status != http.StatusOK || !strings.Contains(rd.body, `id="dev-`+dev+`" checked`) || !strings.Contains(rd.body, `type="password" id="param-PASSWORT"`) ||
		!strings.Contains(rd.body, "Wen grüßen") || !strings.Contains(rd.body, `value="Welt"`) {
		t.Fatalf("run dialog: %d\n%s", rd.status, rd.body)
	}
	run := url.Values{"csrf": {csrf}, "target": {"devices"}, "devices": {dev}, "p.WHO": {"Köln"}, "p.PASSWORT": {"geheim-123"}, "expires_hours": {"0"}}
	if p := b.do("POST", "/scripts/"+id+"/run", run); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="expires-error"`) || strings.Contains(p.body, "geheim-123") {
		t.Errorf("run with a bad expiry: %d\n%s", p.status, p.body)
	}
	run.Set("expires_hours", "2")
	p = b.do("POST", "/scripts/"+id+"/run", run)
	loc := p.header.Get("Location")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/jobs/") {
		t.Fatalf("run: %d %q\n%s", p.status, loc, p.body)
	}
	job := b.do("GET", loc, nil)
	for _, want := range []string{`hx-get="` + loc + `/progress"`, `hx-trigger="every 2s"`, `id="count-queued"`, "eingereiht: 1", "WHO=Köln", "PASSWORT=••••"} {
		if !strings.Contains(job.body, want) {
			t.Errorf("job page lacks %q:\n%s", want, job.body)
		}
	}
	if strings.Contains(job.body, "geheim-123") {
		t.Error("the job page shows the secret")
	}
	r, _, ok, err := f.st.ClaimScriptRun(ctx, f.device.ID, time.Now(), time.Minute)
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	exit, fin := 0, time.Now()
	r.State, r.ExitCode, r.Stdout, r.Truncated, r.DurationMS, r.FinishedAt = core.RunDone, &exit, "Servus <Köln>", true, 1500, &fin
	if err := f.st.FinishScriptRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	prog := b.do("GET", loc+"/progress", nil)
	if strings.Contains(prog.body, "hx-trigger") || !strings.Contains(prog.body, `id="job-finished"`) || !strings.Contains(prog.body, "Servus &lt;Köln&gt;") ||
		!strings.Contains(prog.body, "gekürzt") || !strings.Contains(prog.body, "1,5 s") && !strings.Contains(prog.body, "1.5 s") {
		t.Errorf("finished progress:\n%s", prog.body)
	}
	if jl := b.do("GET", "/jobs", nil); !strings.Contains(jl.body, `href="`+loc+`"`) || !strings.Contains(jl.body, "erledigt 1") {
		t.Errorf("jobs list:\n%s", jl.body)
	}
	if dp := b.do("GET", "/devices/"+dev, nil); !strings.Contains(dp.body, `id="device-runs"`) || !strings.Contains(dp.body, "Servus &lt;Köln&gt;") ||
		!strings.Contains(dp.body, `id="remote-script"`) {
		t.Errorf("device page lacks its runs:\n%s", dp.body)
	}
	if e := auditOf(t, f.fixture, "script.run"); len(e) != 1 || strings.Contains(e[0].Detail, "geheim-123") {
		t.Errorf("audit %+v", e)
	}

	// Readonly: the list and the script, nothing that changes or runs.
	ro := f.browser(t, "en")
	_, roCSRF := ro.login("readonly@example.com", testPassword)
	rl := ro.do("GET", "/scripts", nil)
	if rl.status != http.StatusOK || strings.Contains(rl.body, `id="script-new"`) || strings.Contains(rl.body, `id="import-form"`) || strings.Contains(rl.body, `id="run-`) {
		t.Errorf("readonly library:\n%s", rl.body)
	}
	if p := ro.do("GET", "/scripts/"+id, nil); p.status != http.StatusOK || strings.Contains(p.body, `id="script-save"`) || strings.Contains(p.body, `id="script-run"`) {
		t.Errorf("readonly script page: %d", p.status)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/scripts/new"}, {"POST", "/scripts"}, {"POST", "/scripts/" + id}, {"POST", "/scripts/" + id + "/delete"},
		{"GET", "/scripts/" + id + "/run"}, {"POST", "/scripts/" + id + "/run"}, {"GET", "/scripts/export"}, {"POST", "/scripts/import"},
	} {
		var form url.Values
		if c.method == "POST" {
			form = run
			form.Set("csrf", roCSRF)
		}
		if p := ro.do(c.method, c.path, form); p.status != http.StatusForbidden {
			t.Errorf("readonly %s %s: %d", c.method, c.path, p.status)
		}
	}
	if p := ro.do("GET", loc, nil); p.status != http.StatusOK {
		t.Errorf("readonly job page: %d", p.status)
	}

	// A technician of another client sees neither the job nor the device.
	tb := f.browser(t, "en")
	_, techCSRF := tb.login("tech@example.com", testPassword)
	if p := tb.do("GET", loc, nil); p.status != http.StatusNotFound {
		t.Errorf("out-of-scope job: %d", p.status)
	}
	if p := tb.do("GET", "/jobs", nil); strings.Contains(p.body, `href="`+loc+`"`) {
		t.Error("out-of-scope job listed")
	}
	if p := tb.do("GET", "/scripts/"+id+"/run", nil); strings.Contains(p.body, `id="dev-`+dev+`"`) {
		t.Error("out-of-scope device offered")
	}
	run.Set("csrf", techCSRF)
	if p := tb.do("POST", "/scripts/"+id+"/run", run); p.status != http.StatusNotFound {
		t.Errorf("out-of-scope run: %d", p.status)
	}
	if p := tb.do("GET", "/scripts?device="+dev, nil); p.status != http.StatusNotFound {
		t.Errorf("out-of-scope device in the library: %d", p.status)
	}

	// Export, then import: unchanged; an edited body: a new version.
	ex := b.do("GET", "/scripts/export", nil)
	zr, err := zip.NewReader(strings.NewReader(ex.body), int64(len(ex.body)))
	if err != nil || ex.header.Get("Content-Type") != "application/zip" {
		t.Fatalf("export: %v %q", err, ex.header.Get("Content-Type"))
	}
	files := map[string][]byte{}
	for _, zf := range zr.File {
		rc, _ := zf.Open()
		files[zf.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	if string(files["gruesse.sh"]) != "echo \"Servus $WHO\"\n" || files["gruesse.script.json"] == nil || len(files) != 2 {
		t.Fatalf("exported %v", files)
	}
	if p := b.upload("/scripts/import", csrf, map[string][]byte{"scripts.zip": []byte(ex.body)}); p.status != http.StatusOK ||
		!strings.Contains(p.body, "Importiert: 0 neu, 0 geändert (je eine neue Version), 1 unverändert.") {
		t.Errorf("import unchanged: %d\n%s", p.status, p.body)
	}
	files["gruesse.sh"] = []byte("echo Moin\n")
	if p := b.upload("/scripts/import", csrf, files); !strings.Contains(p.body, "0 neu, 1 geändert") {
		t.Errorf("import edited files:\n%s", p.body)
	}
	if sc, _ := f.st.GetScript(ctx, mustInt(t, id)); sc.Version != 3 || sc.Body != "echo Moin\n" {
		t.Errorf("after the import: %+v", sc)
	}
	files["kaputt.script.json"] = []byte(`{"name":"Kaputt","language":"cobol","body_file":"gruesse.sh"}`)
	if p := b.upload("/scripts/import", csrf, files); p.status != http.StatusBadRequest || !strings.Contains(p.body, "kaputt.script.json") ||
		!strings.Contains(p.body, "muss eines von") {
		t.Errorf("import an invalid file: %d\n%s", p.status, p.body)
	}

	// Deleting cancels nothing left here, and leaves the library.
	if p := b.do("POST", "/scripts/"+id+"/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); p.status != http.StatusSeeOther {
		t.Errorf("delete: %d", p.status)
	}
	if _, err := f.st.GetScript(ctx, mustInt(t, id)); err == nil {
		t.Error("the script is still there")
	}
}

func mustInt(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// upload posts files as the import form does.
func (b *browser) upload(path, csrf string, files map[string][]byte) page {
	return b.postFiles(path, csrf, "files", files)
}

// Every catalog key the script pages name literally, or as a parameter
// type or run state, is in both languages.
func TestScriptPagesTranslated(t *testing.T) {
	keyRE := regexp.MustCompile(`\.L\.T "([^"]+)"|L\.T "([^"]+)"`)
	var keys []string
	for _, name := range []string{"scripts", "script", "script-run", "jobs", "job", "partials-scripts"} {
		b, err := fs.ReadFile(webassets.FS, "templates/"+name+".html")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
			keys = append(keys, m[1]+m[2])
		}
	}
	for _, typ := range []string{core.ParamText, core.ParamNumber, core.ParamBool, core.ParamChoice, core.ParamSecret} {
		keys = append(keys, "script.type."+typ)
	}
	for _, st := range runStates {
		keys = append(keys, "runstate."+st)
	}
	for _, k := range keys {
		for _, lang := range []string{langEN, langDE} {
			if _, ok := catalog[lang][k]; !ok {
				t.Errorf("%s: no %q", lang, k)
			}
		}
	}
}
