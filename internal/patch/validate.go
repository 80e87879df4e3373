package patch

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Bounds of a patch policy (Validate).
const (
	MaxRules           = 20
	MaxExclusions      = 200 // per list
	MaxExclusionLen    = 200
	MinWindowMinutes   = 15
	MaxWindowMinutes   = 24 * 60
	MaxLatenessHours   = 14 * 24
	MaxDeferrals       = 10
	MaxDeadlineHours   = 14 * 24
	MaxForceAfterDays  = 90
	MaxThresholdDays   = 365
	MaxRebootDays      = 90
	MaxFailuresLimit   = 20
	maxDisabledSources = 20
)

// Sources lists the update sources a policy may turn off.
var Sources = []string{core.SourceWindowsUpdate, core.SourceWinget, core.SourceChoco, core.SourceApt, core.SourceDnf,
	core.SourceZypper, core.SourceSoftwareUpd, core.SourceBrew}

// RebootModes lists the reboot modes.
var RebootModes = []string{core.RebootModeNever, core.RebootModeWindow, core.RebootModeAsk, core.RebootModeForce}

// Severities lists the severities a rule may ask for, most severe first.
var Severities = []string{core.SeverityCritical, core.SeverityImportant, core.SeverityModerate, core.SeverityLow}

// FieldError is one refused field of a patch policy, its path relative to
// the policy ("schedule.at", "auto_approve[1].min_severity").
type FieldError struct {
	Field   string    `json:"field"`
	Message core.Text `json:"message"`
}

// ValidationError lists every refused field; it wraps core.ErrInvalid.
type ValidationError struct {
	Fields []FieldError `json:"fields"`
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Field + ": " + f.Message.EN
	}
	return strings.Join(msgs, "; ")
}

func (e *ValidationError) Unwrap() error { return core.ErrInvalid }

type fields []FieldError

func (v *fields) add(field, en, de string) {
	*v = append(*v, FieldError{Field: field, Message: core.Text{EN: en, DE: de}})
}

func (v *fields) between(field string, n, lo, hi int, unit, einheit string) {
	if n != 0 && (n < lo || n > hi) {
		v.add(field, fmt.Sprintf("must be 0 (the default) or between %d and %d %s", lo, hi, unit),
			fmt.Sprintf("muss 0 (die Vorgabe) oder zwischen %d und %d %s sein", lo, hi, einheit))
	}
}

// ParseAt parses a time of day "HH:MM" (00:00–23:59).
func ParseAt(s string) (hour, minute int, err error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, 0, fmt.Errorf("time of day %q is not HH:MM", s)
	}
	h, m := s[:2], s[3:]
	for _, c := range h + m {
		if c < '0' || c > '9' {
			return 0, 0, fmt.Errorf("time of day %q is not HH:MM", s)
		}
	}
	hour, minute = int(h[0]-'0')*10+int(h[1]-'0'), int(m[0]-'0')*10+int(m[1]-'0')
	if hour > 23 || minute > 59 {
		return 0, 0, fmt.Errorf("time of day %q is not HH:MM", s)
	}
	return hour, minute, nil
}

// Validate checks a patch policy as a technician saves it (before
// Defaults: zero fields are allowed and mean the default). The error is a
// *ValidationError that names every refused field and its valid values.
func Validate(p core.PatchPolicy) error {
	var v fields
	if p.ScanAt != "" {
		if _, _, err := ParseAt(p.ScanAt); err != nil {
			v.add("scan_at", "must be a time of day HH:MM, e.g. "+DefaultScanAt, "muss eine Uhrzeit HH:MM sein, z. B. "+DefaultScanAt)
		}
	}
	if len(p.DisabledSources) > maxDisabledSources {
		v.add("disabled_sources", fmt.Sprintf("must list at most %d sources", maxDisabledSources), fmt.Sprintf("darf höchstens %d Quellen enthalten", maxDisabledSources))
	} else {
		for i, s := range p.DisabledSources {
			if !slices.Contains(Sources, s) {
				list := strings.Join(Sources, ", ")
				v.add(fmt.Sprintf("disabled_sources[%d]", i), fmt.Sprintf("unknown source %q (valid: %s)", s, list),
					fmt.Sprintf("unbekannte Quelle %q (gültig: %s)", s, list))
			}
		}
	}
	validateRules(&v, p.AutoApprove)
	validateExclusions(&v, p.Exclusions)
	validateSchedule(&v, p.Schedule)
	r := p.Reboot
	if r.Mode != "" && !slices.Contains(RebootModes, r.Mode) {
		list := strings.Join(RebootModes, ", ")
		v.add("reboot.mode", fmt.Sprintf("unknown reboot mode %q (valid: %s)", r.Mode, list), fmt.Sprintf("unbekannter Neustart-Modus %q (gültig: %s)", r.Mode, list))
	}
	v.between("reboot.deferrals", r.Deferrals, 1, MaxDeferrals, "deferrals", "Aufschübe")
	v.between("reboot.deadline_hours", r.DeadlineHours, 1, MaxDeadlineHours, "hours", "Stunden")
	v.between("reboot.force_after_days", r.ForceAfterDays, 1, MaxForceAfterDays, "days", "Tage")
	if r.Mode == core.RebootModeNever && r.ForceAfterDays != 0 {
		v.add("reboot.force_after_days", "a policy that never restarts cannot force a restart; choose another mode or leave this 0",
			"eine Richtlinie, die nie neu startet, kann keinen Neustart erzwingen; wählen Sie einen anderen Modus oder lassen Sie dies 0")
	}
	t := p.Thresholds
	v.between("thresholds.critical_days", t.CriticalDays, 1, MaxThresholdDays, "days", "Tage")
	v.between("thresholds.max_wait_days", t.MaxWaitDays, 1, MaxThresholdDays, "days", "Tage")
	v.between("thresholds.reboot_days", t.RebootDays, 1, MaxRebootDays, "days", "Tage")
	v.between("max_failures", p.MaxFailures, 1, MaxFailuresLimit, "failures", "Fehlschläge")
	if len(v) > 0 {
		return &ValidationError{Fields: v}
	}
	return nil
}

func validateRules(v *fields, rules []core.PatchRule) {
	if len(rules) > MaxRules {
		v.add("auto_approve", fmt.Sprintf("must list at most %d rules", MaxRules), fmt.Sprintf("darf höchstens %d Regeln enthalten", MaxRules))
		return
	}
	classes := append(slices.Clone(core.Classifications), ClassNone)
	for i, r := range rules {
		at := fmt.Sprintf("auto_approve[%d]", i)
		if r.Classification != "" && !slices.Contains(classes, r.Classification) {
			list := strings.Join(classes, ", ")
			v.add(at+".classification", fmt.Sprintf("unknown classification %q (valid: empty for any, %s)", r.Classification, list),
				fmt.Sprintf("unbekannte Klassifizierung %q (gültig: leer für alle, %s)", r.Classification, list))
		}
		if r.Classification == ClassNone && len(rules) > 1 {
			v.add(at+".classification", `"none" (approve nothing automatically) must be the only rule`,
				`"none" (nichts automatisch freigeben) muss die einzige Regel sein`)
		}
		if r.Classification == core.ClassEOL {
			v.add(at+".classification", "end-of-life software has no update to approve: it must be removed (a deployment)",
				"Software ohne Herstellerunterstützung hat kein Update zur Freigabe: sie muss entfernt werden (eine Verteilung)")
		}
		if r.MinSeverity != "" && !slices.Contains(Severities, r.MinSeverity) {
			list := strings.Join(Severities, ", ")
			v.add(at+".min_severity", fmt.Sprintf("unknown severity %q (valid: empty for any, %s)", r.MinSeverity, list),
				fmt.Sprintf("unbekannter Schweregrad %q (gültig: leer für alle, %s)", r.MinSeverity, list))
		}
	}
}

func validateExclusions(v *fields, e core.PatchExclusions) {
	for _, l := range []struct {
		name string
		list []string
	}{{"exclusions.kbs", e.KBs}, {"exclusions.packages", e.Packages}, {"exclusions.titles", e.Titles}} {
		if len(l.list) > MaxExclusions {
			v.add(l.name, fmt.Sprintf("must list at most %d entries", MaxExclusions), fmt.Sprintf("darf höchstens %d Einträge enthalten", MaxExclusions))
			continue
		}
		for i, x := range l.list {
			at := fmt.Sprintf("%s[%d]", l.name, i)
			x = strings.TrimSpace(x)
			switch {
			case x == "":
				v.add(at, "must not be empty", "darf nicht leer sein")
			case len(x) > MaxExclusionLen:
				v.add(at, fmt.Sprintf("must be at most %d characters", MaxExclusionLen), fmt.Sprintf("darf höchstens %d Zeichen lang sein", MaxExclusionLen))
			case l.name == "exclusions.kbs" && core.NormalizeKB(x) == "":
				v.add(at, fmt.Sprintf("%q is not a KB number (e.g. KB5034441 or 5034441)", x), fmt.Sprintf("%q ist keine KB-Nummer (z. B. KB5034441 oder 5034441)", x))
			case l.name == "exclusions.titles":
				if _, err := compileGlob(x); err != nil {
					v.add(at, fmt.Sprintf("%q is not a valid pattern (* any text, ? one character, [abc] one of them, \\ escapes)", x),
						fmt.Sprintf("%q ist kein gültiges Muster (* beliebiger Text, ? ein Zeichen, [abc] eines davon, \\ maskiert)", x))
				}
			}
		}
	}
}

func validateSchedule(v *fields, s core.PatchSchedule) {
	if s.At != "" {
		if _, _, err := ParseAt(s.At); err != nil {
			v.add("schedule.at", "must be a time of day HH:MM, e.g. "+DefaultInstallAt, "muss eine Uhrzeit HH:MM sein, z. B. "+DefaultInstallAt)
		}
	}
	if len(s.Weekdays) > 7 {
		v.add("schedule.weekdays", "must list at most 7 weekdays", "darf höchstens 7 Wochentage enthalten")
	}
	for i, d := range s.Weekdays {
		if d < 0 || d > 6 {
			v.add(fmt.Sprintf("schedule.weekdays[%d]", i), "must be 0 (Sunday) to 6 (Saturday)", "muss 0 (Sonntag) bis 6 (Samstag) sein")
		}
	}
	v.between("schedule.window_minutes", s.WindowMinutes, MinWindowMinutes, MaxWindowMinutes, "minutes", "Minuten")
	v.between("schedule.max_lateness_hours", s.MaxLatenessHours, 1, MaxLatenessHours, "hours", "Stunden")
}
