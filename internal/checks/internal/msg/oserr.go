package msg

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"strings"

	"github.com/go-ole/go-ole"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

// OSError is a failed OS call (a Windows API, a WMI query, a program the
// check starts), worded in English and German so that a check that could
// not look says which call failed and why. It is a check.Localized error:
// the runner words a check's error with it, and check.ErrorText finds it
// in a wrapped chain.
type OSError struct {
	Text core.Text
	Err  error
}

func (e *OSError) Error() string { return e.Text.EN }

// Unwrap returns the OS call's own error.
func (e *OSError) Unwrap() error { return e.Err }

// Localized returns the message in both languages.
func (e *OSError) Localized() core.Text { return e.Text }

// Call words the failure of the OS call named call (e.g. "QueryServiceConfig"),
// with err's own words (a Localized err's in each language) as the reason.
// A nil err stays nil.
func Call(call string, err error) error {
	if err == nil {
		return nil
	}
	why := check.ErrorText(err)
	return &OSError{Err: err, Text: core.Text{
		EN: fmt.Sprintf("%s failed: %s", call, why.EN),
		DE: fmt.Sprintf("%s fehlgeschlagen: %s", call, why.DE),
	}}
}

// Wrap puts what the check was doing (en, de) before err's words, in both
// languages, as fmt.Errorf("doing: %w") does in one. A nil err stays nil.
func Wrap(en, de string, err error) error {
	if err == nil {
		return nil
	}
	why := check.ErrorText(err)
	return &OSError{Err: err, Text: core.Text{EN: en + ": " + why.EN, DE: de + ": " + why.DE}}
}

// Program words the failure of a program a check started: not installed,
// or failed with its last words on stderr (may be empty). A refusal of the
// local allowlist keeps its own words.
func Program(name string, err error, stderr string) error {
	if err == nil {
		return nil
	}
	if le := check.Localized(nil); errors.As(err, &le) {
		return err
	}
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		return &OSError{Err: err, Text: core.Text{
			EN: fmt.Sprintf("the program %s was not found (%v)", name, err),
			DE: fmt.Sprintf("das Programm %s wurde nicht gefunden (%v)", name, err),
		}}
	}
	if stderr != "" {
		err = fmt.Errorf("%w: %s", err, stderr)
	}
	return &OSError{Err: err, Text: core.Text{
		EN: fmt.Sprintf("the program %s failed: %v", name, err),
		DE: fmt.Sprintf("das Programm %s ist fehlgeschlagen: %v", name, err),
	}}
}

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

// WMI words a failed WMI query of class: a COM error by its HRESULT in hex
// with a short explanation (Windows' own text for it is often missing,
// e.g. under Wine), anything else by its own words.
func WMI(class string, err error) error {
	if err == nil {
		return nil
	}
	en, de := err.Error(), err.Error()
	if oe := (*ole.OleError)(nil); errors.As(err, &oe) {
		hr := uint32(oe.Code())
		why, ok := hresults[hr]
		if !ok {
			why = [2]string{"COM error", "COM-Fehler"}
		}
		en = fmt.Sprintf("HRESULT 0x%08X, %s", hr, why[0])
		de = fmt.Sprintf("HRESULT 0x%08X, %s", hr, why[1])
		if d := strings.TrimSpace(oe.Description()); d != "" && d != "<nil>" {
			en += " (" + d + ")"
			de += " (" + d + ")"
		}
	}
	return &OSError{Err: err, Text: core.Text{
		EN: fmt.Sprintf("WMI query of %s failed: %s", class, en),
		DE: fmt.Sprintf("WMI-Abfrage von %s fehlgeschlagen: %s", class, de),
	}}
}
