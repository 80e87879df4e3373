package web

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// patchPolicyForm is a policy form with full patch settings.
func patchPolicyForm(csrf string) url.Values {
	return url.Values{"csrf": {csrf}, "name": {"Kanzlei-Patches"}, "rows": {"0"},
		"patch.present": {"1"}, "patch.on": {"1"}, "patch.enabled": {"1"}, "patch.install": {"1"}, "patch.scan_at": {"11:30"},
		"patch.disabled": {"choco", "winget"}, "patch.rules": {"3"},
		"patch.r0.class": {"security"}, "patch.r0.sev": {"important"},
		"patch.r1.class": {""}, "patch.r1.sev": {""}, // blank row, dropped
		"patch.r2.class": {"*"}, "patch.r2.sev": {"critical"},
		"patch.kbs": {"KB5034441\r\nkb5001234"}, "patch.packages": {"linux-image-amd64, Mozilla.Firefox"},
		"patch.titles": {"*Preview*, Insider\r\n*Silverlight*"},
		"patch.wd":     {"2", "4"}, "patch.at": {"03:00"}, "patch.window": {"90"}, "patch.maintenance": {"1"}, "patch.lateness": {"12"},
		"patch.reboot": {"ask"}, "patch.deferrals": {"3"}, "patch.deadline": {"24"}, "patch.force_after": {"7"},
		"patch.critical_days": {"5"}, "patch.max_wait_days": {"30"}, "patch.reboot_days": {"2"}, "patch.max_failures": {"4"}}
}

// TestPatchFormParse: every field of the card reaches core.PatchPolicy,
// blank rule rows are dropped, "any classification" is "", and bad
// numbers are refused with the policy's field names.
func TestPatchFormParse(t *testing.T) {
	r, _ := http.NewRequest("POST", "/policies", strings.NewReader(patchPolicyForm("x").Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	p, errs := formPatch(r)
	if len(errs) != 0 || p == nil {
		t.Fatalf("errors %v, policy %v", errs, p)
	}
	want := core.PatchPolicy{Enabled: true, Install: true, ScanAt: "11:30", DisabledSources: []string{"winget", "choco"},
		AutoApprove: []core.PatchRule{{Classification: "security", MinSeverity: "important"}, {MinSeverity: "critical"}},
		Exclusions: core.PatchExclusions{KBs: []string{"KB5034441", "kb5001234"}, Packages: []string{"linux-image-amd64", "Mozilla.Firefox"},
			Titles: []string{"*Preview*, Insider", "*Silverlight*"}},
		Schedule:   core.PatchSchedule{Weekdays: []int{2, 4}, At: "03:00", WindowMinutes: 90, Maintenance: true, MaxLatenessHours: 12},
		Reboot:     core.PatchReboot{Mode: "ask", Deferrals: 3, DeadlineHours: 24, ForceAfterDays: 7},
		Thresholds: core.PatchThresholds{CriticalDays: 5, MaxWaitDays: 30, RebootDays: 2}, MaxFailures: 4}
	if got := *p; !samePatchPolicy(got, want) {
		t.Fatalf("parsed\n%+v\nwant\n%+v", got, want)
	}

	// Round trip: the stored settings shown again parse to the same.
	f := patchFormOf(p, false)
	again, errs := f.parse()
	if len(errs) != 0 || !samePatchPolicy(*again, want) {
		t.Fatalf("shown and parsed again: %+v %v", again, errs)
	}

	// Off: no settings (a less specific policy decides).
	form := patchPolicyForm("x")
	form.Del("patch.on")
	r, _ = http.NewRequest("POST", "/policies", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if p, errs := formPatch(r); p != nil || errs != nil {
		t.Fatalf("patch settings off: %+v %v", p, errs)
	}

	form = patchPolicyForm("x")
	form.Set("patch.window", "neunzig")
	form.Set("patch.max_failures", "-1")
	form.Set("patch.reboot", "sometimes")
	r, _ = http.NewRequest("POST", "/policies", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, errs = formPatch(r)
	var fields []string
	for _, e := range errs {
		fields = append(fields, e.Field)
	}
	slices.Sort(fields)
	if !slices.Equal(fields, []string{"patch.max_failures", "patch.reboot.mode", "patch.schedule.window_minutes"}) {
		t.Fatalf("refused fields: %v", fields)
	}
}

func samePatchPolicy(a, b core.PatchPolicy) bool {
	return a.Enabled == b.Enabled && a.Install == b.Install && a.ScanAt == b.ScanAt && slices.Equal(a.DisabledSources, b.DisabledSources) &&
		slices.Equal(a.AutoApprove, b.AutoApprove) && slices.Equal(a.Exclusions.KBs, b.Exclusions.KBs) &&
		slices.Equal(a.Exclusions.Packages, b.Exclusions.Packages) && slices.Equal(a.Exclusions.Titles, b.Exclusions.Titles) &&
		slices.Equal(a.Schedule.Weekdays, b.Schedule.Weekdays) && a.Schedule.At == b.Schedule.At &&
		a.Schedule.WindowMinutes == b.Schedule.WindowMinutes && a.Schedule.Maintenance == b.Schedule.Maintenance &&
		a.Schedule.MaxLatenessHours == b.Schedule.MaxLatenessHours && a.Reboot == b.Reboot && a.Thresholds == b.Thresholds &&
		a.MaxFailures == b.MaxFailures
}

// TestPatchFormErrorsBeside: a refused number comes back as typed with its
// message beside the field, in German, and nothing else typed is lost.
func TestPatchFormErrorsBeside(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t, "de")
	_, csrf := b.login("admin@example.com", testPassword)
	if p := b.do("GET", "/policies/new", nil); !strings.Contains(p.body, `id="policy-patch"`) || !strings.Contains(p.body, "Patchverwaltung") ||
		!strings.Contains(p.body, `name="patch.window" value="" size="4" inputmode="numeric" placeholder="180"`) {
		t.Fatalf("the new policy form has no patch card: %s", p.body)
	}
	form := patchPolicyForm(csrf)
	form.Set("patch.window", "neunzig")
	p := b.do("POST", "/policies", form)
	if p.status != http.StatusBadRequest {
		t.Fatalf("a bad window length: %d", p.status)
	}
	for _, want := range []string{
		`name="patch.window" value="neunzig"`,
		`geben Sie eine ganze Zahl ab 0 ein</p>`,
		`name="patch.at" value="03:00"`, `name="patch.scan_at" value="11:30"`,
		`name="patch.deferrals" value="3"`, `name="patch.max_failures" value="4"`,
		"KB5034441\nkb5001234</textarea>", "*Preview*, Insider\n*Silverlight*</textarea>",
		`<option value="ask" selected>`, `name="patch.disabled" value="choco" checked`,
		`name="patch.wd" value="2" checked`, `name="patch.maintenance" value="1" checked`,
		`<option value="security" selected>Sicherheitsupdate</option>`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the refused form lacks %q", want)
		}
	}
	// The message stands beside the window field, not above the form.
	i := strings.Index(p.body, `name="patch.window"`)
	j := strings.Index(p.body, "geben Sie eine ganze Zahl ab 0 ein")
	k := strings.Index(p.body, `name="patch.maintenance"`)
	if i < 0 || j < i || j > k {
		t.Errorf("the message is not beside the window field (%d %d %d)", i, j, k)
	}
	// The patch rules' validation: a time that is none, beside its field.
	form.Set("patch.window", "90")
	form.Set("patch.at", "25:00")
	p = b.do("POST", "/policies", form)
	i = strings.Index(p.body, `name="patch.at" value="25:00"`)
	j = strings.Index(p.body, "muss eine Uhrzeit HH:MM sein")
	k = strings.Index(p.body, `name="patch.window"`)
	if p.status != http.StatusBadRequest || i < 0 || j < i || j > k {
		t.Errorf("a bad install time: %d, message at %d between %d and %d", p.status, j, i, k)
	}
	ps, err := f.st.ListPolicies(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, pol := range ps {
		if pol.Name == "Kanzlei-Patches" {
			t.Fatal("a refused policy was stored")
		}
	}
}

// TestPatchFormValidationPlaced: messages of the policy validation land
// beside their field, a rule's beside its row (renumbered past blank
// rows), unknown fields above the card.
func TestPatchFormValidationPlaced(t *testing.T) {
	f := patchForm{Rules: []patchRuleRow{{Index: 0}, {Index: 1, Classification: "security"}, {Index: 2}, {Index: 3, MinSeverity: "low"}}}
	ve := &policy.ValidationError{Fields: []policy.FieldError{
		{Field: "patch.schedule.at", Message: core.Text{EN: "not a time", DE: "keine Uhrzeit"}},
		{Field: "patch.auto_approve[1].classification", Message: core.Text{EN: "unknown", DE: "unbekannt"}},
		{Field: "patch.something_new", Message: core.Text{EN: "odd", DE: "seltsam"}},
		{Field: "name", Message: core.Text{EN: "empty", DE: "leer"}},
	}}
	got := f.withErrors(f.renumberRuleErrors(ve), langOf(langDE))
	if got.Err("schedule.at") != "keine Uhrzeit" {
		t.Errorf("schedule.at: %q", got.Err("schedule.at"))
	}
	if got.Rules[3].Error != "unbekannt" || got.Rules[1].Error != "" {
		t.Errorf("rule errors: %+v", got.Rules)
	}
	if got.Error != "patch.something_new: seltsam" {
		t.Errorf("other patch errors: %q", got.Error)
	}
}
