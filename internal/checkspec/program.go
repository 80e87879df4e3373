package checkspec

import (
	"path"

	"github.com/wacht-rmm/wacht/internal/check"
)

// Program declares the program check. Its parameters are name patterns
// matched against the installed-program list the agent reads anyway (the
// inventory's software part): they name no program to start, no file to
// read and change nothing, so none of them is privileged and a technician
// may set them all.
var Program = &check.Spec{
	Name:  "program",
	Label: tx("Watched program", "Überwachtes Programm"),
	Help: tx("Whether an installed program whose name matches is there: fail when one appears that should not (a second remote-access tool) or when none is left that should be (the antivirus was uninstalled).",
		"Ob ein installiertes Programm mit passendem Namen vorhanden ist: Fehler, wenn eines auftaucht, das nicht sein soll (ein zweites Fernwartungswerkzeug), oder keines mehr da ist, das sein soll (der Virenschutz wurde deinstalliert)."),
	Params: []check.Param{
		{Name: "name", Type: check.Text, Required: true, MaxLen: 256,
			Label: tx("Program name", "Programmname"),
			Help: tx("Pattern of the program name as the inventory lists it, with * and ?, any case: *AnyDesk*, TeamViewer*.",
				"Muster des Programmnamens, wie ihn das Inventar führt, mit * und ?, ohne Groß/Klein: *AnyDesk*, TeamViewer*.")},
		{Name: "expect", Type: check.Choice, Required: true, Choices: []string{"absent", "present"},
			Label: tx("Expected", "Erwartet"),
			Help: tx("absent: fail when a matching program is installed; present: fail when none is.",
				"absent: Fehler, wenn ein passendes Programm installiert ist; present: Fehler, wenn keines installiert ist.")},
		{Name: "publisher", Type: check.Text, MaxLen: 256,
			Label: tx("Publisher", "Hersteller"),
			Help: tx("Optional pattern of the publisher, with * and ?, any case; a program without a publisher does not match it.",
				"Optionales Muster des Herstellers, mit * und ?, ohne Groß/Klein; ein Programm ohne Hersteller passt nicht dazu.")},
	},
	Rules: []check.Rule{
		func(v check.Values) *check.FieldError {
			for _, f := range []string{"name", "publisher"} {
				if _, err := path.Match(v.Str(f), ""); err != nil {
					return &check.FieldError{Field: f, Message: tx("is not a valid pattern", "ist kein gültiges Muster")}
				}
			}
			return nil
		},
	},
}
