package policy

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/core"
)

// MaxLabelLen is the longest name, in characters, that a person may give a
// client or site: long enough for any company or branch, short enough for
// a table cell, a mail subject or a log line.
const MaxLabelLen = 200

// CleanName is the one check of free-text names (clients, sites, contact
// details; the API, the dashboard and the CLI all call it). It returns s
// without surrounding white space, or a FieldError for field if the result
// is empty, longer than maxLen characters, not UTF-8, or holds a control
// character (CR, LF, tab, NUL …), a line or paragraph separator or a bidi
// override, any of which could forge log lines, mail headers or how a name
// reads on screen.
func CleanName(field, s string, maxLen int) (string, *FieldError) {
	s = strings.TrimSpace(s)
	bad := func(en, de string) (string, *FieldError) {
		return s, &FieldError{Field: field, Message: core.Text{EN: en, DE: de}}
	}
	switch {
	case s == "":
		return bad("is required", "ist erforderlich")
	case !utf8.ValidString(s):
		return bad("is not valid UTF-8 text", "ist kein gültiger UTF-8-Text")
	case utf8.RuneCountInString(s) > maxLen:
		return bad(fmt.Sprintf("must be at most %d characters", maxLen), fmt.Sprintf("darf höchstens %d Zeichen lang sein", maxLen))
	case strings.IndexFunc(s, forbiddenInName) >= 0:
		return bad("must not contain line breaks, tabs or other control characters",
			"darf keine Zeilenumbrüche, Tabulatoren oder anderen Steuerzeichen enthalten")
	}
	return s, nil
}

// forbiddenInName reports control characters (C0, DEL, C1), the Unicode
// line and paragraph separators and the bidi embedding, override and
// isolate characters.
func forbiddenInName(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' ||
		(r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')
}
