// Package policy is the model of monitoring policies (templates): their
// validation with messages that name the offending field, the built-in
// "Server" and "Workstation" templates, and the resolution of the policies
// assigned at the default, client, site and device levels into the
// effective set of checks of one device. It is pure: callers hand it the
// policies (Resolve) or a small store interface (Effective).
package policy

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Limits of a policy.
const (
	MaxChecks       = 100
	MaxNameLen      = 100
	MaxDescLen      = 2000
	MaxParamsBytes  = 16 << 10
	MinEveryMinutes = 1
	MaxEveryMinutes = 120
	// DefaultEveryMinutes is the interval of a 24x7 check without one.
	DefaultEveryMinutes = 5
	// DefaultAtServer and DefaultAtWorkstation are the local times of daily
	// checks without one.
	DefaultAtServer      = "06:00"
	DefaultAtWorkstation = "10:00"
)

// checkName is what a check entry may be called: it becomes the check name
// of its results (at most 64 characters, see protocol.Results.Validate).
var checkName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// FieldError is one refused field, in English and German. Field is a path
// such as "checks[2].params.warn".
type FieldError struct {
	Field   string    `json:"field"`
	Message core.Text `json:"message"`
}

func (e FieldError) Error() string { return e.Field + ": " + e.Message.EN }

// In returns "field: message" in lang.
func (e FieldError) In(lang string) string { return e.Field + ": " + e.Message.In(lang) }

// ValidationError lists every refused field of a policy. It wraps
// core.ErrInvalid.
type ValidationError struct {
	Fields []FieldError `json:"fields"`
}

func (e *ValidationError) Error() string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.Error()
	}
	return strings.Join(msgs, "; ")
}

// In returns all messages in lang, separated by "; ".
func (e *ValidationError) In(lang string) string {
	msgs := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		msgs[i] = f.In(lang)
	}
	return strings.Join(msgs, "; ")
}

func (e *ValidationError) Unwrap() error { return core.ErrInvalid }

// OnlyParams reports whether every refused field is a check parameter
// ("checks[2].params.host").
func (e *ValidationError) OnlyParams() bool {
	for _, f := range e.Fields {
		_, rest, ok := strings.Cut(f.Field, "].params")
		if !ok || !strings.HasPrefix(f.Field, "checks[") || rest != "" && rest[0] != '.' {
			return false
		}
	}
	return len(e.Fields) > 0
}

// For returns the message for one field (and fields below it), "" if none.
func (e *ValidationError) For(field, lang string) string {
	var msgs []string
	for _, f := range e.Fields {
		if f.Field == field || strings.HasPrefix(f.Field, field+".") || strings.HasPrefix(f.Field, field+"[") {
			msgs = append(msgs, f.In(lang))
		}
	}
	return strings.Join(msgs, "; ")
}

type errs struct{ list []FieldError }

func (v *errs) add(field, en, de string) {
	v.list = append(v.list, FieldError{Field: field, Message: core.Text{EN: en, DE: de}})
}

// Normalize trims names and drops parameters of excluding entries, so that
// what is stored is what was validated.
func Normalize(p *core.Policy) {
	p.Name = strings.TrimSpace(p.Name)
	p.Description.EN = strings.TrimSpace(p.Description.EN)
	p.Description.DE = strings.TrimSpace(p.Description.DE)
	for i := range p.Checks {
		c := &p.Checks[i]
		c.Name = strings.TrimSpace(c.Name)
		c.Type = strings.TrimSpace(c.Type)
		if c.Exclude {
			c.Type, c.Params, c.Schedule = "", nil, core.Schedule{}
			continue
		}
		if c.Name == "" {
			c.Name = c.Type
		}
		if s := strings.TrimSpace(string(c.Params)); s == "" || s == "null" {
			c.Params = nil
		}
		if c.Schedule.Class == "" {
			c.Schedule.Class = core.Schedule24x7
		}
	}
	for i := range p.Tasks {
		t := &p.Tasks[i]
		t.Name, t.FixCheck = strings.TrimSpace(t.Name), strings.TrimSpace(t.FixCheck)
		t.Schedule.At = strings.TrimSpace(t.Schedule.At)
		if t.Exclude {
			*t = core.PolicyTask{Name: t.Name, Exclude: true}
			continue
		}
		if len(t.Params) == 0 {
			t.Params = nil
		}
		// Only the fields of the schedule's kind are kept.
		s := t.Schedule
		t.Schedule = core.TaskSchedule{Kind: s.Kind}
		switch s.Kind {
		case core.TaskInterval:
			t.Schedule.EveryMinutes = s.EveryMinutes
		case core.TaskDaily:
			t.Schedule.At = s.At
		case core.TaskWeekly:
			t.Schedule.At, t.Schedule.Weekdays = s.At, slices.Compact(slices.Sorted(slices.Values(s.Weekdays)))
		case core.TaskMonthly:
			t.Schedule.At, t.Schedule.Day = s.At, s.Day
		}
	}
	normalizeSoftware(p)
	normalizePatch(p.Patch)
}

// Validate checks a policy as the API and dashboard receive it (after
// Normalize). Check parameters are validated against their declarations
// (package checkspec), without linking any collector. The error is a *ValidationError listing every refused field.
func Validate(p core.Policy) error {
	var v errs
	if _, fe := CleanName("name", p.Name, MaxNameLen); fe != nil {
		v.list = append(v.list, *fe)
	}
	if len(p.Description.EN) > MaxDescLen {
		v.add("description.en", fmt.Sprintf("must be at most %d characters", MaxDescLen), fmt.Sprintf("darf höchstens %d Zeichen lang sein", MaxDescLen))
	}
	if len(p.Description.DE) > MaxDescLen {
		v.add("description.de", fmt.Sprintf("must be at most %d characters", MaxDescLen), fmt.Sprintf("darf höchstens %d Zeichen lang sein", MaxDescLen))
	}
	if len(p.Checks) > MaxChecks {
		v.add("checks", fmt.Sprintf("must list at most %d checks", MaxChecks), fmt.Sprintf("darf höchstens %d Prüfungen enthalten", MaxChecks))
	}
	seen := map[string]int{}
	for i, c := range p.Checks {
		validateCheck(&v, fmt.Sprintf("checks[%d]", i), c)
		if c.Name == "" {
			continue
		}
		if j, dup := seen[c.Name]; dup {
			v.add(fmt.Sprintf("checks[%d].name", i), fmt.Sprintf("%q is already used by checks[%d]", c.Name, j), fmt.Sprintf("%q wird schon von checks[%d] verwendet", c.Name, j))
		} else {
			seen[c.Name] = i
		}
	}
	validateTasks(&v, p)
	validateSoftware(&v, p)
	validatePatch(&v, p.Patch)
	if len(v.list) > 0 {
		return &ValidationError{Fields: v.list}
	}
	return nil
}

// Limits of a task.
const (
	MinTaskEveryMinutes = 5
	MaxTaskEveryMinutes = 7 * 24 * 60
	MaxFixesPerDay      = 24
)

// validateTasks checks the tasks' own fields; that the script exists and
// takes the parameters is the service's part (it reads the library).
func validateTasks(v *errs, p core.Policy) {
	if len(p.Tasks) > protocol.MaxPolicyTasks {
		v.add("tasks", fmt.Sprintf("must list at most %d tasks", protocol.MaxPolicyTasks), fmt.Sprintf("darf höchstens %d Aufgaben enthalten", protocol.MaxPolicyTasks))
	}
	seen := map[string]int{}
	for i, t := range p.Tasks {
		at := fmt.Sprintf("tasks[%d]", i)
		switch {
		case t.Name == "":
			v.add(at+".name", "is required", "ist erforderlich")
		case !checkName.MatchString(t.Name):
			v.add(at+".name", "must be 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
				"muss aus 1–64 Kleinbuchstaben, Ziffern, '.', '_' oder '-' bestehen und mit Buchstabe oder Ziffer beginnen")
		default:
			if j, dup := seen[t.Name]; dup {
				v.add(at+".name", fmt.Sprintf("%q is already used by tasks[%d]", t.Name, j), fmt.Sprintf("%q wird schon von tasks[%d] verwendet", t.Name, j))
			} else {
				seen[t.Name] = i
			}
		}
		if t.Exclude {
			continue
		}
		if t.ScriptID <= 0 {
			v.add(at+".script_id", "choose a script of the library", "wählen Sie ein Skript der Bibliothek")
		}
		if t.ScriptVersion < 0 {
			v.add(at+".script_version", "must be 0 (the current version) or a version number", "muss 0 (die aktuelle Version) oder eine Versionsnummer sein")
		}
		if t.MaxPerDay < 0 || t.MaxPerDay > MaxFixesPerDay {
			v.add(at+".max_per_day", fmt.Sprintf("must be between 0 (default %d) and %d", core.DefaultFixesPerDay, MaxFixesPerDay),
				fmt.Sprintf("muss zwischen 0 (Vorgabe %d) und %d liegen", core.DefaultFixesPerDay, MaxFixesPerDay))
		}
		if t.FixCheck != "" && !checkName.MatchString(t.FixCheck) {
			v.add(at+".fix_check", "must name a check of the policy", "muss eine Prüfung der Richtlinie nennen")
		}
		validateTaskSchedule(v, at, t)
	}
}

func validateTaskSchedule(v *errs, at string, t core.PolicyTask) {
	s := t.Schedule
	needAt := func() {
		if _, _, err := ParseAt(s.At); err != nil {
			v.add(at+".schedule.at", "must be a time of day HH:MM, e.g. 03:00", "muss eine Uhrzeit HH:MM sein, z. B. 03:00")
		}
	}
	switch s.Kind {
	case core.TaskInterval:
		if s.EveryMinutes < MinTaskEveryMinutes || s.EveryMinutes > MaxTaskEveryMinutes {
			v.add(at+".schedule.every_minutes", fmt.Sprintf("must be between %d and %d minutes", MinTaskEveryMinutes, MaxTaskEveryMinutes),
				fmt.Sprintf("muss zwischen %d und %d Minuten liegen", MinTaskEveryMinutes, MaxTaskEveryMinutes))
		}
	case core.TaskDaily:
		needAt()
	case core.TaskWeekly:
		needAt()
		if len(s.Weekdays) == 0 {
			v.add(at+".schedule.weekdays", "choose at least one weekday", "wählen Sie mindestens einen Wochentag")
		}
		for _, d := range s.Weekdays {
			if d < 0 || d > 6 {
				v.add(at+".schedule.weekdays", "must be 0 (Sunday) to 6 (Saturday)", "muss 0 (Sonntag) bis 6 (Samstag) sein")
				break
			}
		}
	case core.TaskMonthly:
		needAt()
		if s.Day < 1 || s.Day > 31 {
			v.add(at+".schedule.day", "must be a day of the month, 1 to 31", "muss ein Tag des Monats sein, 1 bis 31")
		}
	case core.TaskAtStart:
	case core.TaskFixOnly:
		if t.FixCheck == "" {
			v.add(at+".fix_check", "a task that only fixes needs the check it fixes", "eine Aufgabe, die nur behebt, braucht die Prüfung, die sie behebt")
		}
	default:
		kinds := strings.Join([]string{core.TaskInterval, core.TaskDaily, core.TaskWeekly, core.TaskMonthly, core.TaskAtStart, core.TaskFixOnly}, ", ")
		v.add(at+".schedule.kind", "must be one of "+kinds, "muss eines von "+kinds+" sein")
	}
}

func validateCheck(v *errs, at string, c core.PolicyCheck) {
	switch {
	case c.Name == "":
		v.add(at+".name", "is required", "ist erforderlich")
	case !checkName.MatchString(c.Name):
		v.add(at+".name", "must be 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit",
			"muss aus 1–64 Kleinbuchstaben, Ziffern, '.', '_' oder '-' bestehen und mit Buchstabe oder Ziffer beginnen")
	}
	if c.Exclude {
		return // an exclusion needs only the name
	}
	known := checkspec.Names()
	spec, typeOK := checkspec.Lookup(c.Type)
	switch {
	case c.Type == "":
		v.add(at+".type", "is required", "ist erforderlich")
	case !typeOK:
		v.add(at+".type", fmt.Sprintf("unknown check %q (known: %s)", c.Type, strings.Join(known, ", ")),
			fmt.Sprintf("unbekannte Prüfung %q (bekannt: %s)", c.Type, strings.Join(known, ", ")))
	}
	validateSchedule(v, at+".schedule", c.Schedule)
	if len(c.Params) > MaxParamsBytes {
		v.add(at+".params", fmt.Sprintf("must be at most %d bytes", MaxParamsBytes), fmt.Sprintf("darf höchstens %d Bytes groß sein", MaxParamsBytes))
		return
	}
	if typeOK {
		// alert_after is the server's (protocol.ServerParams): the agent
		// strips it before the check sees its parameters.
		validateAlertAfter(v, at+".params", c.Params)
		for _, f := range spec.Validate(protocol.CheckParams(c.Params)) {
			field := at + ".params"
			if f.Field != "" {
				field += "." + f.Field
			}
			v.list = append(v.list, FieldError{Field: field, Message: f.Message})
		}
	}
}

// validateAlertAfter checks the server's alert_after parameter, a whole
// number of consecutive failures.
func validateAlertAfter(v *errs, at string, raw json.RawMessage) {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil || m["alert_after"] == nil {
		return
	}
	var n int
	if err := json.Unmarshal(m["alert_after"], &n); err != nil || n < 1 || n > 1000 {
		v.add(at+".alert_after", "must be a whole number between 1 and 1000", "muss eine ganze Zahl zwischen 1 und 1000 sein")
	}
}

func validateSchedule(v *errs, at string, s core.Schedule) {
	switch s.Class {
	case "", core.Schedule24x7:
		if s.EveryMinutes != 0 && (s.EveryMinutes < MinEveryMinutes || s.EveryMinutes > MaxEveryMinutes) {
			v.add(at+".every_minutes", fmt.Sprintf("must be between %d and %d", MinEveryMinutes, MaxEveryMinutes),
				fmt.Sprintf("muss zwischen %d und %d liegen", MinEveryMinutes, MaxEveryMinutes))
		}
		if s.At != "" {
			v.add(at+".at", "is only for daily checks", "gilt nur für tägliche Prüfungen")
		}
	case core.ScheduleDaily:
		if s.At != "" {
			if _, _, err := ParseAt(s.At); err != nil {
				v.add(at+".at", "must be a time of day HH:MM, e.g. 06:00", "muss eine Uhrzeit HH:MM sein, z. B. 06:00")
			}
		}
		if s.EveryMinutes != 0 {
			v.add(at+".every_minutes", "is only for 24x7 checks", "gilt nur für 24x7-Prüfungen")
		}
	default:
		v.add(at+".class", fmt.Sprintf("must be %q or %q", core.Schedule24x7, core.ScheduleDaily),
			fmt.Sprintf("muss %q oder %q sein", core.Schedule24x7, core.ScheduleDaily))
	}
}

// ParseAt parses a daily check's "HH:MM".
func ParseAt(s string) (hour, minute int, err error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, 0, fmt.Errorf("time of day %q is not HH:MM", s)
	}
	if _, err := fmt.Sscanf(s, "%02d:%02d", &hour, &minute); err != nil || hour > 23 || minute > 59 || hour < 0 || minute < 0 {
		return 0, 0, fmt.Errorf("time of day %q is not HH:MM", s)
	}
	return hour, minute, nil
}
