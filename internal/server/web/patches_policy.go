package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/patch"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// The patch settings of the policy form (issue 19): core.Policy.Patch as
// one card. "Has patch settings" off leaves them to a less specific
// policy (Patch nil). The card keeps what was typed: after a refused save
// it shows the posted values, not the parsed ones, with each message
// beside its field.

// patchSources are the sources a policy may turn off.
var patchSources = patch.Sources

// patchRebootModes are the reboot policy's modes, in the form's order.
var patchRebootModes = patch.RebootModes

// patchSeverities are the minimum severities of a rule, "" (any) first.
var patchSeverities = []string{"", core.SeverityLow, core.SeverityModerate, core.SeverityImportant, core.SeverityCritical}

// emptyPatchRules is how many blank auto-approval rows the form offers.
const emptyPatchRules = 2

// maxPatchRules bounds the rows read from a form.
const maxPatchRules = 50

// patchRuleRow is one auto-approval rule of the form.
type patchRuleRow struct {
	Index                       int
	Classification, MinSeverity string
	Error                       string
}

// patchForm is the patch card as shown: every value as text, so that a
// refused "abc" comes back as "abc".
type patchForm struct {
	On, Enabled, Install bool
	ScanAt               string
	Disabled             map[string]bool
	Rules                []patchRuleRow
	KBs, Packages        string // one a line
	Titles               string
	Weekdays             [7]bool
	At, Window, Lateness string
	Maintenance          bool
	RebootMode           string
	Deferrals, Deadline  string
	ForceAfter           string
	CriticalDays         string
	MaxWaitDays          string
	RebootDays           string
	MaxFailures          string
	// Errors are the messages per field ("schedule.at"); Error the rest
	// of the patch settings' messages.
	Errors map[string]string
	Error  string
}

// Sources, Modes, Classes and Severities feed the form's choices.
func (patchForm) Sources() []string { return patchSources }
func (patchForm) Modes() []string   { return patchRebootModes }
func (patchForm) Classes() []string {
	var cs []string
	for _, c := range core.Classifications {
		if c != core.ClassEOL { // removed, never approved
			cs = append(cs, c)
		}
	}
	return cs
}
func (patchForm) Severities() []string { return patchSeverities }

// patchDefaults are the values an empty field takes, shown as the
// fields' placeholders.
type patchDefaults struct {
	ScanAt, At                                      string
	Window, Lateness, Deferrals, Deadline           int
	CriticalDays, MaxWaitDays, RebootDays, Failures int
}

// Def returns the defaults of internal/patch.
func (patchForm) Def() patchDefaults {
	return patchDefaults{ScanAt: patch.DefaultScanAt, At: patch.DefaultInstallAt, Window: patch.DefaultWindowMinutes,
		Lateness: patch.DefaultMaxLatenessHours, Deferrals: patch.DefaultDeferrals, Deadline: patch.DefaultDeadlineHours,
		CriticalDays: patch.DefaultCriticalDays, MaxWaitDays: patch.DefaultMaxWaitDays, RebootDays: patch.DefaultRebootDays,
		Failures: patch.DefaultMaxFailures}
}

// Err is the message of one field, "" if none.
func (f patchForm) Err(field string) string { return f.Errors[field] }

// Days are the weekdays' numbers, Sunday first.
func (patchForm) Days() []int { return []int{1, 2, 3, 4, 5, 6, 0} }

// WeekdayOn reports whether day d is ticked.
func (f patchForm) WeekdayOn(d int) bool { return d >= 0 && d < 7 && f.Weekdays[d] }

func itoaOr0(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// patchFormOf shows stored settings (nil: none).
func patchFormOf(p *core.PatchPolicy, readOnly bool) patchForm {
	f := patchForm{Disabled: map[string]bool{}}
	if p != nil {
		f.On, f.Enabled, f.Install, f.ScanAt = true, p.Enabled, p.Install, p.ScanAt
		for _, s := range p.DisabledSources {
			f.Disabled[s] = true
		}
		for i, r := range p.AutoApprove {
			f.Rules = append(f.Rules, patchRuleRow{Index: i, Classification: r.Classification, MinSeverity: r.MinSeverity})
		}
		f.KBs = strings.Join(p.Exclusions.KBs, "\n")
		f.Packages = strings.Join(p.Exclusions.Packages, "\n")
		f.Titles = strings.Join(p.Exclusions.Titles, "\n")
		for _, d := range p.Schedule.Weekdays {
			if d >= 0 && d < 7 {
				f.Weekdays[d] = true
			}
		}
		f.At, f.Window, f.Maintenance, f.Lateness = p.Schedule.At, itoaOr0(p.Schedule.WindowMinutes), p.Schedule.Maintenance, itoaOr0(p.Schedule.MaxLatenessHours)
		f.RebootMode, f.Deferrals, f.Deadline, f.ForceAfter = p.Reboot.Mode, itoaOr0(p.Reboot.Deferrals), itoaOr0(p.Reboot.DeadlineHours), itoaOr0(p.Reboot.ForceAfterDays)
		f.CriticalDays, f.MaxWaitDays, f.RebootDays = itoaOr0(p.Thresholds.CriticalDays), itoaOr0(p.Thresholds.MaxWaitDays), itoaOr0(p.Thresholds.RebootDays)
		f.MaxFailures = itoaOr0(p.MaxFailures)
	}
	if !readOnly {
		for i := 0; i < emptyPatchRules; i++ {
			f.Rules = append(f.Rules, patchRuleRow{Index: len(f.Rules)})
		}
	}
	return f
}

// patchFormPosted reads the card as posted, for showing it again.
func patchFormPosted(r *http.Request) patchForm {
	v := func(k string) string {
		return strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("patch."+k), "\r\n", "\n"))
	}
	f := patchForm{On: v("on") != "", Enabled: v("enabled") != "", Install: v("install") != "", ScanAt: v("scan_at"),
		Disabled: map[string]bool{}, KBs: v("kbs"), Packages: v("packages"), Titles: v("titles"),
		At: v("at"), Window: v("window"), Maintenance: v("maintenance") != "", Lateness: v("lateness"),
		RebootMode: v("reboot"), Deferrals: v("deferrals"), Deadline: v("deadline"), ForceAfter: v("force_after"),
		CriticalDays: v("critical_days"), MaxWaitDays: v("max_wait_days"), RebootDays: v("reboot_days"), MaxFailures: v("max_failures")}
	for _, s := range r.PostForm["patch.disabled"] {
		if slices.Contains(patchSources, s) {
			f.Disabled[s] = true
		}
	}
	for _, d := range r.PostForm["patch.wd"] {
		if n, err := strconv.Atoi(d); err == nil && n >= 0 && n < 7 {
			f.Weekdays[n] = true
		}
	}
	n, _ := strconv.Atoi(v("rules"))
	for i := 0; i < n && i < maxPatchRules; i++ {
		c, sev := v("r"+strconv.Itoa(i)+".class"), v("r"+strconv.Itoa(i)+".sev")
		f.Rules = append(f.Rules, patchRuleRow{Index: i, Classification: c, MinSeverity: sev})
	}
	return f
}

// titleLines splits the title patterns, one a line (a title may hold a
// comma).
func titleLines(s string) []string {
	var out []string
	for _, l := range lines(s) {
		out = append(out, strings.TrimSpace(l))
	}
	return out
}

// patchLines splits a textarea into its non-empty lines (commas separate too).
func patchLines(s string) []string {
	var out []string
	for _, l := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' }) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// parse turns the card into settings; fields that are not whole numbers
// are refused here, with the field names the policy validation uses.
// The rules keep their form indexes in the messages: a blank rule row is
// dropped only after the others are numbered.
func (f patchForm) parse() (*core.PatchPolicy, []policy.FieldError) {
	if !f.On {
		return nil, nil
	}
	var errs []policy.FieldError
	num := func(field, s string) int {
		if s == "" {
			return 0
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			errs = append(errs, policy.FieldError{Field: "patch." + field,
				Message: core.Text{EN: "enter a whole number of at least 0", DE: "geben Sie eine ganze Zahl ab 0 ein"}})
			return 0
		}
		return n
	}
	p := &core.PatchPolicy{Enabled: f.Enabled, Install: f.Install, ScanAt: f.ScanAt,
		Exclusions: core.PatchExclusions{KBs: patchLines(f.KBs), Packages: patchLines(f.Packages), Titles: titleLines(f.Titles)},
		Schedule: core.PatchSchedule{At: f.At, WindowMinutes: num("schedule.window_minutes", f.Window), Maintenance: f.Maintenance,
			MaxLatenessHours: num("schedule.max_lateness_hours", f.Lateness)},
		Reboot: core.PatchReboot{Mode: f.RebootMode, Deferrals: num("reboot.deferrals", f.Deferrals),
			DeadlineHours: num("reboot.deadline_hours", f.Deadline), ForceAfterDays: num("reboot.force_after_days", f.ForceAfter)},
		Thresholds: core.PatchThresholds{CriticalDays: num("thresholds.critical_days", f.CriticalDays),
			MaxWaitDays: num("thresholds.max_wait_days", f.MaxWaitDays), RebootDays: num("thresholds.reboot_days", f.RebootDays)},
		MaxFailures: num("max_failures", f.MaxFailures)}
	for _, s := range patchSources {
		if f.Disabled[s] {
			p.DisabledSources = append(p.DisabledSources, s)
		}
	}
	for d, on := range f.Weekdays {
		if on {
			p.Schedule.Weekdays = append(p.Schedule.Weekdays, d)
		}
	}
	for _, r := range f.Rules {
		if r.Classification == "" && r.MinSeverity == "" {
			continue // blank row
		}
		if r.Classification == "*" {
			r.Classification = ""
		}
		p.AutoApprove = append(p.AutoApprove, core.PatchRule{Classification: r.Classification, MinSeverity: r.MinSeverity})
	}
	// The rules' validation too; a field already refused as no number
	// was read as 0 and keeps the first message only.
	for _, e := range patchFieldErrors(patch.Validate(*p)) {
		if !slices.ContainsFunc(errs, func(x policy.FieldError) bool { return x.Field == e.Field }) {
			errs = append(errs, e)
		}
	}
	return p, errs
}

// patchFieldErrors turns the patch rules' validation into the policy
// form's field errors ("patch." + its path); nil for no error.
func patchFieldErrors(err error) []policy.FieldError {
	var pe *patch.ValidationError
	if !errors.As(err, &pe) {
		return nil
	}
	out := make([]policy.FieldError, len(pe.Fields))
	for i, f := range pe.Fields {
		out[i] = policy.FieldError{Field: "patch." + f.Field, Message: f.Message}
	}
	return out
}

// formPatch reads the patch settings of a posted policy form.
func formPatch(r *http.Request) (*core.PatchPolicy, []policy.FieldError) {
	if r.PostFormValue("patch.present") == "" {
		return nil, nil // a form without the card (an older page)
	}
	return patchFormPosted(r).parse()
}

// patchFieldNames are the fields the card shows messages beside, by the
// name after "patch."; messages of other patch fields go to Error.
var patchFieldNames = []string{"scan_at", "disabled_sources", "auto_approve", "exclusions.kbs", "exclusions.packages", "exclusions.titles",
	"schedule.weekdays", "schedule.at", "schedule.window_minutes", "schedule.max_lateness_hours", "schedule.maintenance",
	"reboot.mode", "reboot.deferrals", "reboot.deadline_hours", "reboot.force_after_days",
	"thresholds.critical_days", "thresholds.max_wait_days", "thresholds.reboot_days", "max_failures"}

// withErrors places the validation messages of the patch settings:
// beside their field, a rule's beside its row, the rest above the card.
func (f patchForm) withErrors(ve *policy.ValidationError, lang Lang) patchForm {
	if ve == nil {
		return f
	}
	f.Errors = map[string]string{}
	var rest []string
	for _, fe := range ve.Fields {
		name, ok := strings.CutPrefix(fe.Field, "patch.")
		if !ok {
			if fe.Field == "patch" {
				rest = append(rest, fe.Message.In(lang.Code()))
			}
			continue
		}
		msg := fe.Message.In(lang.Code())
		if i, ok := ruleIndex(name); ok {
			for j := range f.Rules {
				if f.Rules[j].Index == i {
					f.Rules[j].Error = joinMsg(f.Rules[j].Error, msg)
					ok = false
				}
			}
			if !ok {
				continue
			}
		}
		placed := false
		for _, k := range patchFieldNames {
			if name == k || strings.HasPrefix(name, k+".") || strings.HasPrefix(name, k+"[") {
				f.Errors[k] = joinMsg(f.Errors[k], msg)
				placed = true
				break
			}
		}
		if !placed {
			rest = append(rest, fe.In(lang.Code()))
		}
	}
	f.Error = strings.Join(rest, "; ")
	return f
}

// ruleIndex parses "auto_approve[3]…" into 3.
func ruleIndex(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, "auto_approve[")
	if !ok {
		return 0, false
	}
	num, _, ok := strings.Cut(rest, "]")
	if !ok {
		return 0, false
	}
	i, err := strconv.Atoi(num)
	return i, err == nil
}

func joinMsg(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// patchRuleIndexes maps the indexes of the rules as parsed (blank rows
// dropped) to the form's rows, so that "auto_approve[1]" from the
// validation lands beside the second non-blank row.
func (f patchForm) renumberRuleErrors(ve *policy.ValidationError) *policy.ValidationError {
	if ve == nil {
		return nil
	}
	var rows []int
	for _, r := range f.Rules {
		if r.Classification != "" || r.MinSeverity != "" {
			rows = append(rows, r.Index)
		}
	}
	out := &policy.ValidationError{Fields: make([]policy.FieldError, len(ve.Fields))}
	for i, fe := range ve.Fields {
		if name, ok := strings.CutPrefix(fe.Field, "patch."); ok {
			if n, ok := ruleIndex(name); ok && n < len(rows) {
				_, tail, _ := strings.Cut(name, "]")
				fe.Field = "patch.auto_approve[" + strconv.Itoa(rows[n]) + "]" + tail
			}
		}
		out.Fields[i] = fe
	}
	return out
}
