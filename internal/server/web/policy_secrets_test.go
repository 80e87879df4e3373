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

// TestPolicySecretsNotShown: the policy form, the list and a device's
// effective checks never show a secret check parameter, to an
// administrator neither; the form says which are stored, in English and
// German, and saving it without them keeps them (issue 12, M5).
func TestPolicySecretsNotShown(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const pw = "geheim-4711"
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	form := url.Values{"csrf": {csrf}, "name": {"Shop"}, "rows": {"1"},
		"c0.name": {"web"}, "c0.type": {"website"}, "c0.class": {"24x7"},
		"c0.params": {`{"url":"https://shop.example.com/","username":"u","password":"` + pw + `"}`}}
	if p := b.do("POST", "/policies", form); p.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", p.status, p.body)
	}
	var mine core.Policy
	ps, err := f.st.ListPolicies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Name == "Shop" {
			mine = p
		}
	}
	id := strconv.FormatInt(mine.ID, 10)
	if p := b.do("POST", "/devices/"+strconv.FormatInt(f.device.ID, 10)+"/policies", url.Values{"csrf": {csrf}, "policy": {id}}); p.status != http.StatusOK {
		t.Fatalf("assign: %d", p.status)
	}
	ro := f.browser(t, "de")
	ro.login("readonly@example.com", testPassword)
	pages := []struct {
		who  *browser
		path string
		want string
	}{
		{b, "/policies/" + id, `name="c0.p.password" autocomplete="new-password" placeholder="set — leave empty to keep"`},
		{ro, "/policies/" + id, "Gespeicherte Geheimnisse, bleiben ohne neue Eingabe erhalten: password"},
		{b, "/devices/" + strconv.FormatInt(f.device.ID, 10) + "/effective", "shop.example.com"},
		{ro, "/devices/" + strconv.FormatInt(f.device.ID, 10) + "/policies", "shop.example.com"},
	}
	for _, pg := range pages {
		p := pg.who.do("GET", pg.path, nil)
		if p.status != http.StatusOK || strings.Contains(p.body, pw) || !strings.Contains(p.body, pg.want) {
			t.Errorf("GET %s: %d, shows the secret %v, lacks %q", pg.path, p.status, strings.Contains(p.body, pw), pg.want)
		}
	}

	// The form as shown, saved with another username: the password stays.
	form.Set("c0.params", `{"url":"https://shop.example.com/","username":"v"}`)
	if p := b.do("POST", "/policies/"+id, form); p.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", p.status, p.body)
	}
	got, err := f.st.GetPolicy(ctx, mine.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s := string(got.Checks[0].Params); !strings.Contains(s, pw) || !strings.Contains(s, `"v"`) {
		t.Errorf("stored after the save: %s", s)
	}
}
