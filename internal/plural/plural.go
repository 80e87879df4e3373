// Package plural formats counted phrases — "1 device", "2 devices",
// "1 Gerät", "2 Geräte" — for the dashboard and the reports, so that both
// follow one rule. A phrase is written once per language as its singular
// and plural form separated by "|" ("%d device|%d devices"); a phrase
// without "|" is the same for every count.
//
// English and German share the plural rule (CLDR "one" for exactly 1,
// "other" for everything else, 0 included), so the rule needs no language.
package plural

import (
	"fmt"
	"strings"
)

// Sep separates the singular from the plural form of a phrase.
const Sep = "|"

// Pick returns the form of phrase that goes with the count n.
func Pick(phrase string, n int) string {
	one, other, ok := strings.Cut(phrase, Sep)
	if !ok {
		return phrase
	}
	if n == 1 {
		return one
	}
	return other
}

// Sprintf picks the form of phrase for n and fills it with args; without
// args the form gets n itself.
func Sprintf(phrase string, n int, args ...any) string {
	form := Pick(phrase, n)
	if len(args) == 0 {
		args = []any{n}
	}
	return fmt.Sprintf(form, args...)
}

// Forms returns every form of phrase, for tests that look for a phrase in
// a rendered page.
func Forms(phrase string) []string { return strings.Split(phrase, Sep) }

// units are the counted units checks report (result.Unit), as English and
// German phrases; symbols ("%", "GB", "s") are not listed and stay as
// they are.
var units = map[string][2]string{
	"services": {"service|services", "Dienst|Dienste"},
	"events":   {"event|events", "Ereignis|Ereignisse"},
	"failures": {"failure|failures", "Fehlschlag|Fehlschläge"},
}

// Unit is unit in lang ("de", else English), in the form for the value v:
// "1 Dienst", "4 Dienste", "2 services".
func Unit(lang, unit string, v float64) string {
	forms, ok := units[unit]
	if !ok {
		return unit
	}
	phrase := forms[0]
	if lang == "de" {
		phrase = forms[1]
	}
	n := 2
	if v == 1 {
		n = 1
	}
	return Pick(phrase, n)
}
