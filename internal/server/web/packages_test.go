package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
	webassets "github.com/wacht-rmm/wacht/web"
)

// newPackagesFixture is the dashboard with a secret key and a blob store
// in dir, and a technician.
func newPackagesFixture(t *testing.T, dir string) *fixture {
	t.Helper()
	st := storetest.NewSQLite(t)
	f := &fixture{st: st, cmd: &fakeCommander{}}
	f.device, f.users = seed(t, st, "pc-01")
	box, err := seal.NewBox([]byte(rand.Text() + rand.Text())[:32])
	if err != nil {
		t.Fatal(err)
	}
	bs, err := blobs.Open(dir, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Deps{Store: st, Service: service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Secrets: box, Blobs: bs})})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewTLSServer(h)
	t.Cleanup(f.srv.Close)
	hash, _ := authtest.Cost.Hash(testPassword)
	tech := core.User{Email: "tech@example.com", PasswordHash: hash, Role: core.RoleTechnician}
	if err := st.CreateUser(context.Background(), &tech); err != nil {
		t.Fatal(err)
	}
	return f
}

// packageForm is the editor's form of an upload with a secret token.
func packageForm(csrf string) url.Values {
	return url.Values{"csrf": {csrf}, "name": {"Acronis Müller"}, "version": {"24.10"}, "os": {"windows"}, "arch": {"amd64"},
		"kind": {"upload"}, "install": {"{{file}}\r\n--quiet\r\n--reg_token={{token}}\r\n--reg_address=https://eu2-cloud.acronis.com\r\n"},
		"uninstall": {""}, "exit_codes": {"0=ok\r\n3010=reboot\r\n1618=retry\r\n"}, "timeout_seconds": {"900"},
		"detection_kind": {"registry"}, "display_name": {"Acronis Cyber Protect*"}, "min_version": {"24.0"},
		"prows": {"3"}, "p0.name": {"token"}, "p0.value": {"reg-geheim-42"}, "p0.secret": {"1"}, "p1.name": {"site"}, "p1.value": {"Zentrale Köln"}}
}

var packageIDRE = regexp.MustCompile(`^/packages/(\d+)\?saved=1$`)

// put sends body as a PUT with the page's CSRF token in its header, as
// static/upload.js does.
func (b *browser) put(path, csrf string, body []byte) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPut, b.base+path, bytes.NewReader(body))
	if csrf != "" {
		req.Header.Set("X-CSRF-Token", csrf)
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(data), resp.Header}
}

func TestPackagePages(t *testing.T) {
	data := t.TempDir()
	f := newPackagesFixture(t, data)
	ctx := context.Background()
	b := f.browser(t, "de")
	_, csrf := b.login("admin@example.com", testPassword)

	// The catalog: listed with its badges, filtered by text, OS, source.
	list := b.do("GET", "/packages", nil)
	for _, want := range []string{`id="nav-packages"`, "RustDesk", "Acronis Cyber Protect agent", "7-Zip", "mitgeliefert",
		"vor Gebrauch prüfen", `id="package-new"`, "<code>7zip.7zip</code>"} {
		if !strings.Contains(list.body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	if p := b.do("GET", "/packages?kind=winget&q=zip", nil); !strings.Contains(p.body, "7-Zip") || strings.Contains(p.body, "RustDesk") || strings.Contains(p.body, "VLC") {
		t.Errorf("filter by kind and text:\n%s", p.body)
	}
	if p := b.do("GET", "/packages?os=linux", nil); strings.Contains(p.body, "7-Zip") || !strings.Contains(p.body, "Kein Paket passt.") {
		t.Errorf("filter by OS:\n%s", p.body)
	}

	// Refused: each message beside its field, in German; nothing stored.
	before, _ := f.st.ListPackages(ctx)
	bad := packageForm(csrf)
	bad.Set("name", " ")
	bad.Set("detection_kind", "service")
	bad.Set("install", "{{file}}\n--token={{tokn}}")
	bad.Set("p0.value", "")
	p := b.do("POST", "/packages", bad)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="name-error"`) || !strings.Contains(p.body, `id="install-error"`) ||
		!strings.Contains(p.body, `id="detection_name-error"`) || !strings.Contains(p.body, `id="param-0-error"`) ||
		!strings.Contains(p.body, "{{tokn}} bezeichnet keinen Parameter") || !strings.Contains(p.body, `value="Zentrale Köln"`) {
		t.Fatalf("invalid package: %d\n%s", p.status, p.body)
	}
	badCodes := packageForm(csrf)
	badCodes.Set("exit_codes", "0=ok\nzehn=reboot")
	if p := b.do("POST", "/packages", badCodes); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="exit_codes-error"`) ||
		strings.Contains(p.body, "reg-geheim-42") {
		t.Errorf("bad exit code line: %d\n%s", p.status, p.body)
	}
	if p := b.do("POST", "/packages", packageForm("")); p.status != http.StatusForbidden {
		t.Errorf("POST without CSRF: %d", p.status)
	}
	if after, _ := f.st.ListPackages(ctx); len(after) != len(before) {
		t.Fatalf("refused posts stored a package")
	}

	// Created: one argument per line, the secret sealed and never shown.
	p = b.do("POST", "/packages", packageForm(csrf))
	m := packageIDRE.FindStringSubmatch(p.header.Get("Location"))
	if p.status != http.StatusSeeOther || m == nil {
		t.Fatalf("create: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	id := m[1]
	stored, err := f.st.GetPackage(ctx, mustInt(t, id))
	if err != nil || len(stored.Install) != 4 || stored.Install[2] != "--reg_token={{token}}" || stored.ExitCodes[3010] != core.ExitReboot ||
		stored.Params[1].Value != "Zentrale Köln" || !stored.Params[0].Secret || stored.Params[0].Value != "" || bytes.Contains(stored.Sealed, []byte("reg-geheim")) {
		t.Fatalf("stored %+v, %v", stored, err)
	}
	// A command package: offered by the kind select, saved without a
	// file, its editor without the upload.
	cmd := packageForm(csrf)
	cmd.Set("name", "Defender-Einstellungen")
	cmd.Set("kind", "command")
	cmd.Set("install", "powershell.exe\n-Command\nSet-MpPreference -PUAProtection Enabled")
	cmd.Set("detection_kind", "service")
	cmd.Set("detection_name", "WinDefend")
	cmd.Set("display_name", "")
	cmd.Set("min_version", "")
	cmd.Set("prows", "0")
	cp := b.do("POST", "/packages", cmd)
	cm := packageIDRE.FindStringSubmatch(cp.header.Get("Location"))
	if cp.status != http.StatusSeeOther || cm == nil {
		t.Fatalf("create a command: %d\n%s", cp.status, cp.body)
	}
	if ce := b.do("GET", "/packages/"+cm[1], nil); strings.Contains(ce.body, `id="package-upload"`) ||
		!strings.Contains(ce.body, `<option value="command" selected>Befehl (ohne Datei)</option>`) {
		t.Errorf("command editor:\n%s", ce.body)
	}
	ed := b.do("GET", "/packages/"+id+"?saved=1", nil)
	for _, want := range []string{"Das Paket wurde gespeichert.", `id="package-save"`, `id="package-upload"`, `id="file-none"`, `type="password"`,
		"gespeichert – tippen zum Ersetzen", `src="/static/upload.js"`, `id="package-delete"`, "--reg_token={{token}}\n--reg_address"} {
		if !strings.Contains(ed.body, want) {
			t.Errorf("editor lacks %q", want)
		}
	}
	if strings.Contains(ed.body, "reg-geheim-42") {
		t.Errorf("the secret is shown")
	}
	// Saved again without the secret: the stored one stays.
	keep := packageForm(csrf)
	keep.Set("p0.value", "")
	keep.Set("version", "24.11")
	if p := b.do("POST", "/packages/"+id, keep); p.status != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", p.status, p.body)
	}
	if got, _ := f.st.GetPackage(ctx, mustInt(t, id)); got.Version != "24.11" || len(got.Sealed) == 0 || got.Params[0].Value != "" {
		t.Errorf("edited %+v", got)
	}

	// Upload through the page: stored by SHA-256, shown with its size.
	installer := make([]byte, 200<<10)
	rand.Read(installer)
	sum := sha256.Sum256(installer)
	if p := b.put("/packages/"+id+"/file?name=agent.exe", "", installer); p.status != http.StatusForbidden {
		t.Errorf("upload without CSRF: %d", p.status)
	}
	up := b.put("/packages/"+id+"/file?name=agent.exe", csrf, installer)
	if up.status != http.StatusOK || !strings.Contains(up.body, hex.EncodeToString(sum[:])) {
		t.Fatalf("upload: %d %s", up.status, up.body)
	}
	if blob, err := os.ReadFile(filepath.Join(data, "blobs", "sha256", hex.EncodeToString(sum[:])[:2], hex.EncodeToString(sum[:]))); err != nil || !bytes.Equal(blob, installer) {
		t.Errorf("stored blob: %v", err)
	}
	if big := b.put("/packages/"+id+"/file?name=big.exe", csrf, make([]byte, 1<<20+1)); big.status != http.StatusRequestEntityTooLarge || !strings.Contains(big.body, `"message"`) {
		t.Errorf("too large: %d %s", big.status, big.body)
	}
	shown := b.do("GET", "/packages/"+id+"?uploaded=1", nil)
	for _, want := range []string{hex.EncodeToString(sum[:]), `id="file-name">agent.exe`, "200,0 KiB (204800 B)", "Das Installationsprogramm wurde hochgeladen."} {
		if !strings.Contains(shown.body, want) {
			t.Errorf("file not shown: lacks %q", want)
		}
	}

	// A catalog entry is read-only, with its source and Duplicate.
	var acronis core.Package
	all, _ := f.st.ListPackages(ctx)
	for _, pk := range all {
		if pk.Builtin == "acronis-cyber-protect" {
			acronis = pk
		}
	}
	aid := strconv.FormatInt(acronis.ID, 10)
	bp := b.do("GET", "/packages/"+aid, nil)
	if strings.Contains(bp.body, `id="package-save"`) || strings.Contains(bp.body, `id="package-delete"`) || strings.Contains(bp.body, `id="package-upload"`) ||
		!strings.Contains(bp.body, `id="package-duplicate"`) || !strings.Contains(bp.body, `id="package-source"`) || !strings.Contains(bp.body, `<fieldset class="plain" disabled>`) ||
		!strings.Contains(bp.body, "nicht gesetzt – bitte eingeben") {
		t.Errorf("catalog entry page:\n%s", bp.body)
	}
	if p := b.do("POST", "/packages/"+aid, packageForm(csrf)); p.status != http.StatusForbidden {
		t.Errorf("editing a catalog entry: %d", p.status)
	}
	if p := b.do("POST", "/packages/"+aid+"/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); p.status != http.StatusForbidden {
		t.Errorf("deleting a catalog entry: %d", p.status)
	}
	dup := b.do("GET", "/packages/new?from="+aid, nil)
	if !strings.Contains(dup.body, `value="Acronis Cyber Protect agent (Kopie)"`) || !strings.Contains(dup.body, "--reg_token={{token}}") ||
		!strings.Contains(dup.body, `id="package-save"`) || !strings.Contains(dup.body, `id="package-source"`) {
		t.Errorf("duplicate:\n%s", dup.body)
	}

	// Technicians and read-only users read, without the editor's controls;
	// their changes are refused.
	for _, email := range []string{"tech@example.com", "readonly@example.com"} {
		o := f.browser(t, "en")
		_, ocsrf := o.login(email, testPassword)
		if p := o.do("GET", "/packages/"+id, nil); p.status != http.StatusOK || strings.Contains(p.body, `id="package-save"`) ||
			strings.Contains(p.body, `id="package-upload"`) || strings.Contains(p.body, `id="package-duplicate"`) || strings.Contains(p.body, "reg-geheim-42") ||
			!strings.Contains(p.body, `<fieldset class="plain" disabled>`) {
			t.Errorf("%s package page: %d\n%s", email, p.status, p.body)
		}
		if p := o.do("GET", "/packages", nil); strings.Contains(p.body, `id="package-new"`) {
			t.Errorf("%s sees New package", email)
		}
		for _, c := range []struct {
			method, path string
		}{{"POST", "/packages"}, {"POST", "/packages/" + id}, {"POST", "/packages/" + id + "/delete"}, {"GET", "/packages/new"}} {
			var form url.Values
			if c.method == "POST" {
				form = packageForm(ocsrf)
			}
			if p := o.do(c.method, c.path, form); p.status != http.StatusForbidden {
				t.Errorf("%s %s %s: %d", email, c.method, c.path, p.status)
			}
		}
		if p := o.put("/packages/"+id+"/file?name=x.exe", ocsrf, []byte("MZ")); p.status != http.StatusForbidden {
			t.Errorf("%s upload: %d", email, p.status)
		}
	}

	// Deleted by the administrator.
	if p := b.do("POST", "/packages/"+id+"/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); p.status != http.StatusSeeOther {
		t.Errorf("delete: %d", p.status)
	}
	if _, err := f.st.GetPackage(ctx, mustInt(t, id)); err == nil {
		t.Errorf("deleted package still stored")
	}
}

// TestPackagePagesTranslated: every string of the package pages, every
// source and detection kind, in English and German.
func TestPackagePagesTranslated(t *testing.T) {
	keyRE := regexp.MustCompile(`\.L\.T "([^"]+)"|L\.T "([^"]+)"`)
	var keys []string
	for _, name := range []string{"packages", "package"} {
		b, err := fs.ReadFile(webassets.FS, "templates/"+name+".html")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range keyRE.FindAllStringSubmatch(string(b), -1) {
			keys = append(keys, m[1]+m[2])
		}
	}
	for k := range core.PackageKinds {
		keys = append(keys, "package.kind."+k)
	}
	for _, d := range []string{core.DetectRegistry, core.DetectFile, core.DetectService, core.DetectOSPackage, core.DetectAppBundle} {
		keys = append(keys, "package.detect."+d)
	}
	keys = append(keys, "package.copyOf", "package.uploadFailed", "packages.deleted", "package.saved", "package.uploaded", "package.invalid")
	for _, k := range keys {
		for _, lang := range []string{langEN, langDE} {
			if _, ok := catalog[lang][k]; !ok {
				t.Errorf("%s: no %q", lang, k)
			}
		}
	}
}
