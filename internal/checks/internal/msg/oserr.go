package msg

import (
	"errors"
	"fmt"
	"io/fs"
	"os/exec"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/comerr"
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

// WMI words a failed WMI query of class: a COM error by its HRESULT in hex
// with a short explanation (Windows' own text for it is often missing,
// e.g. under Wine), anything else by its own words.
func WMI(class string, err error) error {
	if err == nil {
		return nil
	}
	en, de := err.Error(), err.Error()
	if e, d, ok := comerr.Explain(err); ok {
		en, de = e, d
	}
	return &OSError{Err: err, Text: core.Text{
		EN: fmt.Sprintf("WMI query of %s failed: %s", class, en),
		DE: fmt.Sprintf("WMI-Abfrage von %s fehlgeschlagen: %s", class, de),
	}}
}
