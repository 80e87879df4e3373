package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
	webassets "github.com/wacht-rmm/wacht/web"
)

// TestWithoutHTMX serves assets without static/vendor (web/build.sh not
// run): pages render without the script and without hx- attributes, and the
// plain forms still work.
func TestWithoutHTMX(t *testing.T) {
	assets := fstest.MapFS{}
	err := fs.WalkDir(webassets.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, "static/vendor/") {
			return err
		}
		b, err := fs.ReadFile(webassets.FS, p)
		assets[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.NewSQLite(t)
	d, _ := seed(t, st, "pc-01")
	cmd := &fakeCommander{}
	h, err := newServer(Deps{Store: st, Service: service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Commander: cmd})}, assets)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, cmd: cmd, srv: httptest.NewTLSServer(h), device: d}
	defer f.srv.Close()

	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	dev := "/devices/" + strconv.FormatInt(d.ID, 10)
	p := b.do("GET", dev, nil)
	if p.status != http.StatusOK || strings.Contains(p.body, "htmx.min.js") || strings.Contains(p.body, "hx-get") || strings.Contains(p.body, "hx-post") {
		t.Errorf("page without htmx references htmx: %d\n%s", p.status, p.body)
	}
	if !strings.Contains(p.body, `href="`+dev+`">Refresh`) {
		t.Error("no refresh link as fallback")
	}
	if r := b.do("POST", dev+"/run-checks", url.Values{"csrf": {csrf}}); r.status != http.StatusSeeOther || r.header.Get("Location") != dev+"?run=ok" {
		t.Errorf("plain run-checks: %d %q", r.status, r.header.Get("Location"))
	}
	if p := b.do("GET", dev+"?run=ok", nil); !strings.Contains(p.body, "Checks requested") {
		t.Error("no notice after plain run-checks")
	}
	if r := b.do("GET", "/static/vendor/htmx.min.js", nil); r.status != http.StatusNotFound {
		t.Errorf("htmx served: %d", r.status)
	}
}
