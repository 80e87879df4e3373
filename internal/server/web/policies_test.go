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

func TestPolicyPages(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)

	list := b.do("GET", "/policies", nil)
	for _, want := range []string{"Server", "Workstation", "built-in", "Disk space", `id="default-policies"`} {
		if !strings.Contains(list.body, want) {
			t.Errorf("policy list lacks %q", want)
		}
	}

	// Invalid input is refused with the field named next to its row.
	form := url.Values{"csrf": {csrf}, "name": {"Kanzlei"}, "rows": {"5"},
		"c0.name": {"disk"}, "c0.type": {"disk"}, "c0.class": {"24x7"}, "c0.params": {`{"warn": -5}`},
		"c1.name": {"cpu"}, "c1.type": {"cpu"}, "c1.class": {"24x7"}, "c1.every": {"121"},
		"c3.name": {"memory"}, "c3.exclude": {"1"}, "c3.class": {"24x7"},
	}
	p := b.do("POST", "/policies", form)
	if p.status != http.StatusBadRequest {
		t.Fatalf("invalid policy: %d", p.status)
	}
	for _, want := range []string{`id="f-c0-p-warn-error">must be between 0 and 100`,
		`id="row-1-error">checks[1].schedule.every_minutes: must be between 1 and 120`, `value="memory"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("refused form lacks %q", want)
		}
	}
	if strings.Contains(p.body, `id="row-2-error"`) {
		t.Error("the excluding row got an error")
	}
	de := f.browser(t, "de")
	_, csrfDE := de.login("admin@example.com", testPassword)
	form.Set("csrf", csrfDE)
	if p := de.do("POST", "/policies", form); !strings.Contains(p.body, `id="f-c0-p-warn-error">muss zwischen 0 und 100 liegen`) {
		t.Errorf("German form lacks the German message")
	}

	// Corrected, it is saved.
	form.Set("csrf", csrf)
	form.Set("c0.params", `{"warn": 70, "fail": 85}`)
	form.Set("c1.every", "10")
	if p := b.do("POST", "/policies", form); p.status != http.StatusSeeOther {
		t.Fatalf("valid policy: %d %s", p.status, p.body)
	}
	ps, err := f.st.ListPolicies(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var mine core.Policy
	for _, p := range ps {
		if p.Name == "Kanzlei" {
			mine = p
		}
	}
	if len(mine.Checks) != 3 || mine.Checks[1].Schedule.EveryMinutes != 10 || !mine.Checks[2].Exclude {
		t.Fatalf("stored policy %+v", mine)
	}

	// Assigned to the device, the effective set shows where each check
	// comes from.
	dev := "/devices/" + strconv.FormatInt(f.device.ID, 10) + "/policies"
	p = b.do("POST", dev, url.Values{"csrf": {csrf}, "policy": {strconv.FormatInt(mine.ID, 10)}})
	if p.status != http.StatusOK {
		t.Fatalf("assign: %d", p.status)
	}
	excluded := `memory: excluded by <a href="/policies/` + strconv.FormatInt(mine.ID, 10) + `">Device: Kanzlei</a>`
	for _, want := range []string{"Effective checks", "Device: Kanzlei", "Default: Workstation</a>)", excluded, "every 10 min"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("device policy page lacks %q", want)
		}
	}
	// The device page loads the same set as a fragment.
	if p := b.do("GET", "/devices/"+strconv.FormatInt(f.device.ID, 10)+"/effective", nil); p.status != http.StatusOK ||
		strings.Contains(p.body, "<html") || !strings.Contains(p.body, excluded) {
		t.Errorf("effective fragment: %d %s", p.status, p.body)
	}
	if p := b.do("GET", "/devices/999999/effective", nil); p.status != http.StatusNotFound {
		t.Errorf("effective fragment of an unknown device: %d", p.status)
	}
	if a := auditOf(t, f, "policy.assign"); len(a) != 1 {
		t.Errorf("assignment audited %d times", len(a))
	}

	// Built-in templates are shown read-only.
	for _, p := range ps {
		if p.Builtin != "" {
			page := b.do("GET", "/policies/"+strconv.FormatInt(p.ID, 10), nil)
			if page.status != http.StatusOK || strings.Contains(page.body, `id="policy-form"`) || !strings.Contains(page.body, "read-only") {
				t.Errorf("template %s page: %d, editable or without the read-only note", p.Name, page.status)
			}
		}
	}

	// Read-only users see, but cannot change.
	ro := f.browser(t, "en")
	_, csrfRO := ro.login("readonly@example.com", testPassword)
	if p := ro.do("GET", dev, nil); p.status != http.StatusOK || strings.Contains(p.body, `id="assign-form"`) {
		t.Errorf("read-only device policy page: %d", p.status)
	}
	if p := ro.do("POST", "/policies", form); p.status != http.StatusForbidden {
		t.Errorf("read-only creating a policy: %d", p.status)
	}
	if p := ro.do("POST", dev, url.Values{"csrf": {csrfRO}}); p.status != http.StatusForbidden {
		t.Errorf("read-only assigning: %d", p.status)
	}
}

// TestDevicePolicyPageShowsInherited: a device's policy page shows, above
// its own assignments, the policies it inherits and its effective checks,
// each source linked to its policy, in English and German.
func TestDevicePolicyPageShowsInherited(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	p := core.Policy{Name: "Praxis", Checks: []core.PolicyCheck{{Name: "uptime-praxis", Type: "uptime",
		Schedule: core.Schedule{Class: core.Schedule24x7}}}}
	if err := f.st.CreatePolicy(ctx, &p); err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetAssignments(ctx, core.LevelClient, f.device.ClientID, []int64{p.ID}); err != nil {
		t.Fatal(err)
	}
	link := `<a href="/policies/` + strconv.FormatInt(p.ID, 10) + `">`
	dev := "/devices/" + strconv.FormatInt(f.device.ID, 10) + "/policies"
	for _, c := range []struct{ lang, inherited, source string }{
		{"en", "Inherited policies", link + "Client: Praxis</a>"},
		{"de", "Geerbte Richtlinien", link + "Kunde: Praxis</a>"},
	} {
		b := f.browser(t, c.lang)
		b.login("admin@example.com", testPassword)
		page := b.do("GET", dev, nil)
		if page.status != http.StatusOK {
			t.Fatalf("%s: device policy page: %d", c.lang, page.status)
		}
		inherited := strings.Index(page.body, `id="inherited"`)
		effective := strings.Index(page.body, `id="effective"`)
		form := strings.Index(page.body, `id="assign-form"`)
		if inherited < 0 || effective < 0 || form < 0 || inherited > form || effective > form {
			t.Errorf("%s: inherited at %d, effective at %d, own assignments at %d: want both above", c.lang, inherited, effective, form)
		}
		for _, want := range []string{c.inherited, c.source} {
			if !strings.Contains(page.body, want) {
				t.Errorf("%s: device policy page lacks %q", c.lang, want)
			}
		}
		// The check's row names its source with the link.
		row := page.body[strings.Index(page.body, "uptime-praxis"):]
		if end := strings.Index(row, "</tr>"); end < 0 || !strings.Contains(row[:end], c.source) {
			t.Errorf("%s: effective row of uptime-praxis lacks the linked source", c.lang)
		}
	}
}

// TestDeletesAsk: deleting a policy or a site first asks, naming it, and
// says afterwards that it is gone.
func TestDeletesAsk(t *testing.T) {
	f := newFixture(t)
	p := core.Policy{Name: "Praxis", Checks: []core.PolicyCheck{}}
	if err := f.st.CreatePolicy(context.Background(), &p); err != nil {
		t.Fatal(err)
	}
	b := f.browser(t, "de")
	_, csrf := b.login("admin@example.com", testPassword)
	pid := strconv.FormatInt(p.ID, 10)
	page := b.do("GET", "/policies/"+pid, nil)
	for _, want := range []string{`<details class="confirm" id="policy-delete-confirm">`, `id="policy-delete-question">Die Richtlinie „Praxis“ löschen?`,
		`<form method="post" action="/policies/` + pid + `/delete">`, `id="policy-delete-now">Ja, löschen</button>`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("policy page lacks %q", want)
		}
	}
	sid := strconv.FormatInt(f.device.SiteID, 10)
	page = b.do("GET", "/clients/"+strconv.FormatInt(f.device.ClientID, 10), nil)
	if !strings.Contains(page.body, `id="site-delete-`+sid+`-confirm"`) || !strings.Contains(page.body, `id="site-delete-`+sid+`-question">Den Standort „`) {
		t.Errorf("client page lacks the site's delete question")
	}
	del := b.do("POST", "/policies/"+pid+"/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}})
	if del.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", del.status)
	}
	if list := b.do("GET", del.header.Get("Location"), nil); !strings.Contains(list.body, "Richtlinie gelöscht.") {
		t.Errorf("no notice after deleting: %s", del.header.Get("Location"))
	}
}
