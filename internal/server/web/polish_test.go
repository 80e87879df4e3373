package web

import (
	"context"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// between returns the part of s from the first from up to the next to.
func between(t *testing.T, s, from, to string) string {
	t.Helper()
	i := strings.Index(s, from)
	if i < 0 {
		t.Fatalf("%q not found", from)
	}
	j := strings.Index(s[i:], to)
	if j < 0 {
		t.Fatalf("%q not found after %q", to, from)
	}
	return s[i : i+j]
}

var tdRE = regexp.MustCompile(`<td[ >]`)

// TestUsersColumns: role, clients, 2FA and state each sit in their own
// column, for the signed-in administrator as for the others.
func TestUsersColumns(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t, "de")
	b.login("admin@example.com", testPassword)
	p := b.do("GET", "/users", nil)
	self := between(t, p.body, `id="user-`+strconv.FormatInt(f.users[core.RoleAdmin].ID, 10)+`"`, "</tr>")
	ro := f.users[core.RoleReadOnly].ID
	other := between(t, p.body, `id="user-`+strconv.FormatInt(ro, 10)+`"`, "</tr>")
	for name, row := range map[string]string{"self": self, "other": other} {
		if n := len(tdRE.FindAllString(row, -1)); n != 5 {
			t.Errorf("%s row has %d cells, want 5:\n%s", name, n, row)
		}
		if strings.Contains(row, "colspan") {
			t.Errorf("%s row spans columns:\n%s", name, row)
		}
		if !strings.Contains(row, ">aus<") {
			t.Errorf("%s row does not say 2FA is off:\n%s", name, row)
		}
	}
	if !strings.Contains(self, "<td>Administrator</td>") || !strings.Contains(self, "<td>alle</td>") {
		t.Errorf("own row lacks translated role or client scope:\n%s", self)
	}
	// The checkboxes live in the clients cell but belong to the row's form.
	if !strings.Contains(other, `form="user-form-`+strconv.FormatInt(ro, 10)+`"`) || !strings.Contains(other, `id="user-form-`+strconv.FormatInt(ro, 10)+`"`) {
		t.Errorf("clients checkboxes are not tied to the row's form:\n%s", other)
	}
	if !strings.Contains(other, `>Nur lesen</option>`) {
		t.Errorf("role choices are not translated:\n%s", other)
	}
}

// TestNavigation: account pages hang off the user's e-mail, and only
// administrators see the administration pages.
func TestNavigation(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		email string
		admin bool
	}{{"admin@example.com", true}, {"readonly@example.com", false}} {
		b := f.browser(t, "en")
		b.login(tc.email, testPassword)
		top := between(t, b.do("GET", "/", nil).body, "<header", "</header>")
		for _, id := range []string{`id="nav-users"`, `id="nav-audit"`} {
			if strings.Contains(top, id) != tc.admin {
				t.Errorf("%s: %s shown=%v", tc.email, id, !tc.admin)
			}
		}
		if !strings.Contains(top, `href="/account/2fa" id="nav-account"`) || !strings.Contains(top, ">"+tc.email+"</a>") {
			t.Errorf("%s: e-mail is not the account link:\n%s", tc.email, top)
		}
		if strings.Contains(top, "/account/tokens") || strings.Contains(top, "Two-factor") {
			t.Errorf("%s: account items still in the top bar:\n%s", tc.email, top)
		}
		for path, link := range map[string]string{"/policies": `id="nav-policies" class="active"`, "/clients": `id="nav-clients" class="active"`, "/devices/" + strconv.FormatInt(f.device.ID, 10): `<a href="/" class="active">`} {
			if top := between(t, b.do("GET", path, nil).body, "<header", "</header>"); !strings.Contains(top, link) || strings.Count(top, `class="active"`) != 2 {
				t.Errorf("%s: %s does not mark just its own section (and language) active:\n%s", tc.email, path, top)
			}
		}
		for _, path := range []string{"/account/2fa", "/account/tokens"} {
			tabs := between(t, b.do("GET", path, nil).body, `<nav class="tabs"`, "</nav>")
			if !strings.Contains(tabs, `href="/account/2fa"`) || !strings.Contains(tabs, `href="/account/tokens"`) {
				t.Errorf("%s: %s does not link both account pages:\n%s", tc.email, path, tabs)
			}
			if !strings.Contains(tabs, `href="`+path+`" class="active"`) {
				t.Errorf("%s: %s is not marked as the current tab:\n%s", tc.email, path, tabs)
			}
		}
	}
}

// TestDevicePolish: check names are translated, a key equal to the check
// name is not shown as an instance, tags are chips, and the edit form has
// its own section.
func TestDevicePolish(t *testing.T) {
	f := newFixture(t)
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := f.st.SaveResults(context.Background(), f.device.ID, []core.Result{
		{ID: "av1", Check: "antivirus", Key: "antivirus", Status: core.StatusOK, Message: core.Text{EN: "Defender is on", DE: "Defender ist an"}, At: now},
		{ID: "g1", Check: "growth", Key: "C:", Status: core.StatusOK, Message: core.Text{EN: "fine", DE: "gut"}, At: now},
	}); err != nil {
		t.Fatal(err)
	}
	b := f.browser(t, "de")
	_, csrf := b.login("admin@example.com", testPassword)
	dev := "/devices/" + strconv.FormatInt(f.device.ID, 10)
	b.do("POST", dev+"/edit", url.Values{"csrf": {csrf}, "site_id": {strconv.FormatInt(f.device.SiteID, 10)}, "role": {"server"}, "tags": {"VIP, buchhaltung"}})
	body := b.do("GET", dev, nil).body

	av := between(t, body, `data-check="antivirus"`, "</tr>")
	if !strings.Contains(av, "Virenschutz") || strings.Contains(av, "<code>") {
		t.Errorf("antivirus row:\n%s", av)
	}
	growth := between(t, body, `data-check="growth"`, "</tr>")
	if !strings.Contains(growth, "Datenwachstum") || !strings.Contains(growth, "<code>C:</code>") {
		t.Errorf("growth row:\n%s", growth)
	}
	facts := between(t, body, `class="card facts"`, "</section>")
	if strings.Contains(facts, "<form") {
		t.Error("the edit form is still inside the facts card")
	}
	if !strings.Contains(facts, `<span class="chip">buchhaltung</span><span class="chip">vip</span>`) {
		t.Errorf("tags are not chips:\n%s", facts)
	}
	manage := between(t, body, `class="card manage"`, "</section>")
	for _, want := range []string{"<h2>Verwalten</h2>", `id="role"`, `id="site"`, `id="tags-input"`, `id="retire" class="danger"`} {
		if !strings.Contains(manage, want) {
			t.Errorf("manage section lacks %s", want)
		}
	}
}
