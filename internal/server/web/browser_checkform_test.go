package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// formInput is one value typed or chosen in a check's form: the
// parameter's path and the value.
type formInput struct{ path, value string }

// browserFormInputs are the values the browser test enters for each check
// type: the required ones and a few of every kind of input (number,
// duration, select, lines, nested fieldsets, list rows, key/value rows).
// A path ending in "#add" clicks the list's "add an entry" button.
var browserFormInputs = map[string][]formInput{
	"antivirus": {{"max_signature_age_days", "5"}},
	"backup": {{"products[0].type", "restic"}, {"products[0].repository", "/srv/restic"}, {"products#add", ""},
		{"products[1].type", "borg"}, {"products[1].repository", "/srv/borg"}, {"max_age_hours", "30"}, {"expected_days", "mon"}},
	"cpu":      {{"window", "30s"}, {"warn", "70"}, {"fail", "90"}},
	"disk":     {{"volumes", "/"}, {"warn", "80"}},
	"eventlog": {{"source", "journal"}, {"max_events", "50"}},
	"growth":   {{"warn_percent", "10"}},
	"logins":   {{"window", "15m"}, {"top", "3"}},
	"memory":   {{"warn", "75"}},
	"ping":     {{"host", "192.0.2.10"}, {"count", "3"}, {"loss_percent.warn", "20"}, {"mode", "unprivileged"}},
	"program":  {{"name", "*AnyDesk*"}, {"expect", "absent"}},
	"script":   {{"script_id", "SCRIPT"}, {"params#k0", "MODE"}, {"params#v0", "sanft"}},
	"services": {{"mode", "named"}, {"services", "cups"}},
	"smart":    {{"wear_warn", "80"}},
	"snmp":     {{"host", "192.0.2.11"}, {"port", "1161"}, {"template", "uptime"}},
	"snmptrap": {{"known_sources", "192.0.2.12"}},
	"website":  {{"url", "https://shop.example.com/"}, {"contains", "Willkommen"}, {"headers#k0", "X-Kunde"}, {"headers#v0", "Müller"}},
}

// TestBrowserCheckForms adds a check of every type to a policy through its
// form only, in German: choose the type (the form is loaded), fill the
// fields, save, open the policy again and find every value. Then one
// invalid value shows its German error beside its field.
func TestBrowserCheckForms(t *testing.T) {
	needChromium(t)
	if !hasAsset(t, "vendor/htmx.min.js") {
		t.Skip("the type choice loads its form with htmx, which is not built in")
	}
	st := storetest.NewSQLite(t)
	seed(t, st, "pc-01")
	ctx := context.Background()
	sc := core.Script{Name: "Prüfskript", Language: "sh", Body: "echo ok\n", TimeoutSeconds: 30, RunAs: core.RunAsSystem,
		Params: []core.ScriptParam{{Name: "MODE", Type: core.ParamChoice, Choices: []string{"sanft", "hart"}}}}
	if err := st.CreateScript(ctx, &sc); err != nil {
		t.Fatal(err)
	}
	h, err := New(Deps{Store: st, Service: service.New(service.Deps{Store: st, PasswordCost: authtest.Cost})})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := newChrome(t, srv.URL)
	c.login("admin@example.com", "tr.device")
	c.step("switch to German", chromedp.Click("#lang-de"), chromedp.WaitVisible(`html[lang="de"]`))

	// Three types per save: the form offers three blank rows.
	page, names := "/policies/new", checkspec.Names()
	value := func(in formInput) string {
		if in.value == "SCRIPT" {
			return strconv.FormatInt(sc.ID, 10)
		}
		return in.value
	}
	sel := func(i int, path string) string { return `[name="c` + strconv.Itoa(i) + ".p." + path + `"]` }
	for first := 0; first < len(names); first += emptyRows {
		c.step("open "+page, chromedp.Navigate(srv.URL+page), chromedp.WaitVisible("#policy-form"))
		if first == 0 {
			c.step("name", chromedp.SendKeys("#name", "Alle Prüfungen"))
		}
		for i := first; i < first+emptyRows && i < len(names); i++ {
			typ, row := names[i], "c"+strconv.Itoa(i)+"."
			inputs := browserFormInputs[typ]
			if len(inputs) == 0 {
				t.Fatalf("no form inputs for the check type %s", typ)
			}
			c.step("choose "+typ,
				chromedp.SendKeys(`[name="`+row+`name"]`, "t-"+typ),
				chromedp.SetValue(`[name="`+row+`type"]`, typ),
				jsDo(fmt.Sprintf(`document.querySelector('[name="%stype"]').dispatchEvent(new Event("change", {bubbles: true}))`, row)),
				chromedp.WaitVisible(`#params-`+strconv.Itoa(i)+` .param`))
			var fill []chromedp.Action[chromedp.Void]
			for _, in := range inputs {
				if list, ok := strings.CutSuffix(in.path, "#add"); ok {
					// The fields typed so far, then the click: the new
					// entry's inputs exist only after it.
					c.step("fill "+typ, fill...)
					fill = nil
					c.step("add to "+list, chromedp.Click(`.param-add[data-name="`+row+"p."+list+`"]`),
						chromedp.WaitVisible(sel(i, list+"[1].type")))
					continue
				}
				if c.tag(sel(i, in.path)) == "SELECT" {
					fill = append(fill, chromedp.SetValue(sel(i, in.path), value(in)))
				} else {
					fill = append(fill, chromedp.SendKeys(sel(i, in.path), value(in)))
				}
			}
			c.step("fill "+typ, fill...)
		}
		if first == 0 {
			c.shot("checkform")
		}
		c.step("save", chromedp.Click("#policy-save"), chromedp.WaitVisible("#policies"))
		if first == 0 {
			ps, err := st.ListPolicies(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range ps {
				if p.Name == "Alle Prüfungen" {
					page = "/policies/" + strconv.FormatInt(p.ID, 10)
				}
			}
		}
	}
	// Reloaded, every value is back in its field.
	c.step("reload", chromedp.Navigate(srv.URL+page), chromedp.WaitVisible("#policy-form"))
	for i, typ := range names {
		for _, in := range browserFormInputs[typ] {
			if strings.HasSuffix(in.path, "#add") {
				continue
			}
			got, err := chromedp.Run(c.ctx, chromedp.Value(sel(i, in.path)))
			if err != nil || strings.TrimSpace(got) != value(in) {
				t.Errorf("%s: %s is %q after saving, want %q (%v)", typ, in.path, got, value(in), err)
			}
		}
	}
	p, err := st.ListPolicies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, pol := range p {
		if pol.Name == "Alle Prüfungen" && len(pol.Checks) != len(checkspec.Names()) {
			t.Errorf("%d checks saved, want %d: %+v", len(pol.Checks), len(checkspec.Names()), pol.Checks)
		}
	}

	// A text of a declared format without default shows an example.
	pi := slices.Index(names, "ping")
	if ph, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector('%s').placeholder`, sel(pi, "host")))); err != nil || ph != "z. B. server01.kunde.local" {
		t.Errorf("ping host placeholder %q (%v), want the example", ph, err)
	}
	// Removing the first backup product keeps the second.
	bi := slices.Index(names, "backup")
	c.step("remove a product", chromedp.Click(sel(bi, "products#rm0")), chromedp.Click("#policy-save"), chromedp.WaitVisible("#policies"))
	if p, err := st.ListPolicies(ctx); err != nil {
		t.Fatal(err)
	} else {
		for _, pol := range p {
			for _, ch := range pol.Checks {
				if pol.Name == "Alle Prüfungen" && ch.Type == "backup" &&
					(!strings.Contains(string(ch.Params), `"/srv/borg"`) || strings.Contains(string(ch.Params), "restic")) {
					t.Errorf("backup products after removing the first: %s", ch.Params)
				}
			}
		}
	}
	c.step("reload", chromedp.Navigate(srv.URL+page), chromedp.WaitVisible("#policy-form"))

	c.checkConsole() // before the refused save, whose 400 the console reports
	// An invalid value: the German error beside its field, the value kept.
	w := -1
	for i, n := range checkspec.Names() {
		if n == "website" {
			w = i
		}
	}
	url := fmt.Sprintf(`[name="c%d.p.url"]`, w)
	c.step("invalid URL", chromedp.SetValue(url, "ftp://shop.example.com/"), chromedp.Click("#policy-save"),
		chromedp.WaitVisible(fmt.Sprintf("#f-c%d-p-url-error", w)))
	if e := c.text(fmt.Sprintf("#f-c%d-p-url-error", w)); e != "muss eine absolute http- oder https-URL mit Host und ohne Zugangsdaten sein" {
		t.Errorf("error beside the URL: %q", e)
	}
	if got, _ := chromedp.Run(c.ctx, chromedp.Value(url)); got != "ftp://shop.example.com/" {
		t.Errorf("the refused URL is not kept: %q", got)
	}
	c.shot("checkform-error")
}

// tag returns the tag name of the first element sel matches.
func (c *chrome) tag(sel string) string {
	c.t.Helper()
	tag, err := chromedp.Run(c.ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).tagName`, sel)))
	if err != nil {
		c.t.Fatalf("finding %s: %v", sel, err)
	}
	return tag
}

// jsDo runs a script in the page (the event a user's choice fires).
func jsDo(expr string) chromedp.Action[chromedp.Void] {
	ev := chromedp.Evaluate[bool](expr)
	return func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		_, err := ev(ctx, t)
		return chromedp.Void{}, err
	}
}

// shot saves screenshots of the page at 1400 and 390 pixels wide.
func (c *chrome) shot(name string) {
	c.t.Helper()
	for _, w := range []int64{1400, 390} {
		c.step("resize", chromedp.EmulateViewport(w, 900))
		c.screenshot(fmt.Sprintf("%s-%d.png", name, w))
	}
	c.step("resize back", chromedp.EmulateViewport(1280, 900))
}
