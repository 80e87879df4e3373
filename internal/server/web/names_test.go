package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestNamesRefusedWithFieldMessage: the dashboard's client and site forms
// refuse CR/LF and overlong names with the field's message in the user's
// language, and store nothing.
func TestNamesRefusedWithFieldMessage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	cid := strconv.FormatInt(f.device.ClientID, 10)
	for _, lang := range []string{"en", "de"} {
		b := f.browser(t, lang)
		_, csrf := b.login(f.users[core.RoleAdmin].Email, testPassword)
		want := map[string]string{"en": "must not contain line breaks", "de": "darf keine Zeilenumbrüche"}[lang]
		for _, c := range []struct {
			path string
			form url.Values
		}{
			{"/clients", url.Values{"name": {"Evil\r\nGmbH"}, "report_lang": {"de"}}},
			{"/clients/" + cid, url.Values{"name": {"Müller GmbH"}, "contact_name": {"Eve\nBcc: x"}, "report_lang": {"de"}}},
			{"/clients/" + cid + "/sites", url.Values{"name": {"Lager\nNord"}}},
		} {
			c.form.Set("csrf", csrf)
			p := b.do("POST", c.path, c.form)
			if p.status != http.StatusBadRequest || !strings.Contains(p.body, want) {
				t.Errorf("%s POST %s: %d, want 400 with %q", lang, c.path, p.status, want)
			}
		}
		p := b.do("POST", "/clients", url.Values{"csrf": {csrf}, "name": {strings.Repeat("x", 10000)}, "report_lang": {"de"}})
		if p.status != http.StatusBadRequest || !strings.Contains(p.body, map[string]string{"en": "at most 200", "de": "höchstens 200"}[lang]) {
			t.Errorf("%s: 10,000-character client name: %d", lang, p.status)
		}
	}
	cs, _ := f.st.ListClients(ctx)
	ss, _ := f.st.ListSites(ctx)
	if len(cs) != 1 || cs[0].ContactName != "" || len(ss) != 1 {
		t.Errorf("stored %d clients (contact %q), %d sites", len(cs), cs[0].ContactName, len(ss))
	}
}
