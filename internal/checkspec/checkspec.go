// Package checkspec declares every check type's parameters apart from the
// code that collects (one file per check, named after it): name, type,
// unit, default, limits, whether only an administrator may set it, and
// English and German label and help. It links nothing but the standard
// library and internal/check, so the server validates policies with it
// without linking a collector; the collector decodes its parameters
// through the same declaration (check.Spec.Decode), the API serves it for
// forms (GET /api/v1/check-types) and docs/checks.md is generated from it.
package checkspec

//go:generate go run ./gen -o ../../docs/checks.md

import (
	"strconv"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

// all lists every declaration, sorted by name.
var all = []*check.Spec{
	Antivirus, Backup, CPU, Disk, EventLog, Growth, Logins, Memory, Ping, Program, Script, Services, SMART, SNMP, SNMPTrap, Website,
}

// All returns every check type's declaration, sorted by name.
func All() []*check.Spec { return all }

// Lookup returns the declaration of the named check type.
func Lookup(name string) (*check.Spec, bool) {
	for _, s := range all {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// Names lists the check types, sorted.
func Names() []string {
	out := make([]string, len(all))
	for i, s := range all {
		out[i] = s.Name
	}
	return out
}

func tx(en, de string) core.Text { return core.Text{EN: en, DE: de} }

var lim = check.Limit

// percentPair declares the warn and fail percentages most checks share.
func percentPair(what core.Text, warn, fail float64) []check.Param {
	return []check.Param{
		{Name: "warn", Type: check.Number, Unit: "%", Default: warn, Min: lim(0), Max: lim(100),
			Label: tx("Warning at", "Warnung ab"),
			Help:  tx("Warn when "+what.EN+" reaches this percentage.", "Warnen, wenn "+what.DE+" diesen Prozentsatz erreicht.")},
		{Name: "fail", Type: check.Number, Unit: "%", Default: fail, Min: lim(0), Max: lim(100),
			Label: tx("Failure at", "Fehler ab"),
			Help:  tx("Fail when "+what.EN+" reaches this percentage.", "Fehlschlagen, wenn "+what.DE+" diesen Prozentsatz erreicht.")},
	}
}

// limitObject declares a {warn, fail} object of one unit; zero is off.
func limitObject(name, unit string, label, help core.Text, def any, max *float64) check.Param {
	return check.Param{Name: name, Type: check.Object, Default: def, Label: label, Help: help, Fields: []check.Param{
		{Name: "warn", Type: check.Number, Unit: unit, Min: lim(0), Max: max,
			Label: tx("Warning at", "Warnung ab"), Help: tx("0 turns the warning level off.", "0 schaltet die Warnstufe ab.")},
		{Name: "fail", Type: check.Number, Unit: unit, Min: lim(0), Max: max,
			Label: tx("Failure at", "Fehler ab"), Help: tx("0 turns the failure level off.", "0 schaltet die Fehlerstufe ab.")},
	}}
}

// notAboveIn is check.NotAbove for the warn and fail of an object.
func notAboveIn(obj string, below bool) check.Rule {
	return func(v check.Values) *check.FieldError {
		o, _ := v.Raw(obj).(map[string]any)
		w, f := check.Num(o["warn"]), check.Num(o["fail"])
		if w == 0 || f == 0 || (!below && w <= f) || (below && w >= f) {
			return nil
		}
		if below {
			return &check.FieldError{Field: obj + ".warn", Message: tx("must not be below fail", "darf nicht unter fail liegen")}
		}
		return &check.FieldError{Field: obj + ".warn", Message: tx("must not be above fail", "darf nicht über fail liegen")}
	}
}

// text is a Text parameter's item, for lists.
func text(maxLen int) *check.Param { return &check.Param{Type: check.Text, MaxLen: maxLen} }

// hostParam is the host or address a network check talks to.
func hostParam(help core.Text) check.Param {
	return check.Param{Name: "host", Type: check.Text, Required: true, MaxLen: 253, Format: check.FormatHost,
		Label: tx("Host", "Host"), Help: help}
}

// logSource is the Linux log source choice of eventlog and logins.
var logSource = check.Param{Name: "source", Type: check.Choice, Choices: []string{"journal", "files"},
	Label: tx("Log source (Linux)", "Protokollquelle (Linux)"),
	Help: tx("journal or files; empty picks the journal when journald runs, else the log files.",
		"journal oder files; leer nimmt das Journal, wenn journald läuft, sonst die Protokolldateien.")}

func itoa(i int) string { return strconv.Itoa(i) }
