// Package comerr words the COM errors (HRESULTs) a WMI query or another
// COM call ends with, in English and German. Windows' own text for them is
// often missing (and under Wine), so the code and a short
// explanation are what a technician gets. Portable, so that the server
// (which words check errors) and the tests on Linux use it too.
package comerr

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-ole/go-ole"
)

// hresults explains the COM and WMI error codes a WMI query commonly ends
// with, in English and German.
var hresults = map[uint32][2]string{
	0x80004002: {"interface not supported", "Schnittstelle nicht unterstützt"},
	0x80004005: {"unspecified failure", "nicht näher bezeichneter Fehler"},
	0x80070005: {"access denied", "Zugriff verweigert"},
	0x800401F3: {"WMI is not available (invalid class string)", "WMI ist nicht verfügbar (ungültige Klassenzeichenfolge)"},
	0x80020005: {"type mismatch", "Typkonflikt"},
	0x80020009: {"the WMI provider raised an exception", "der WMI-Anbieter hat eine Ausnahme ausgelöst"},
	0x80041001: {"generic WMI failure", "allgemeiner WMI-Fehler"},
	0x80041003: {"access denied", "Zugriff verweigert"},
	0x8004100C: {"not supported", "nicht unterstützt"},
	0x8004100E: {"the WMI namespace does not exist", "der WMI-Namensraum existiert nicht"},
	0x80041010: {"the WMI class does not exist", "die WMI-Klasse existiert nicht"},
	0x80041013: {"the WMI provider could not be loaded", "der WMI-Anbieter konnte nicht geladen werden"},
	0x80041017: {"invalid query", "ungültige Abfrage"},
}

// Explain words a COM error in err by its HRESULT in hex with a short
// explanation, in English and German (Windows' own text for it is often
// missing, e.g. under Wine); false for an error without one.
func Explain(err error) (en, de string, ok bool) {
	oe := (*ole.OleError)(nil)
	if !errors.As(err, &oe) {
		return "", "", false
	}
	hr := uint32(oe.Code())
	why, known := hresults[hr]
	if !known {
		why = [2]string{"COM error", "COM-Fehler"}
	}
	en = fmt.Sprintf("HRESULT 0x%08X, %s", hr, why[0])
	de = fmt.Sprintf("HRESULT 0x%08X, %s", hr, why[1])
	if d := strings.TrimSpace(oe.Description()); d != "" && d != "<nil>" {
		en += " (" + d + ")"
		de += " (" + d + ")"
	}
	return en, de, true
}
