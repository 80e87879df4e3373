package policy

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
)

// PrivilegeError lists the privileged parameters (check.Param.Privileged) that a user
// who is not an administrator tried to set or change. It wraps
// core.ErrForbidden.
type PrivilegeError struct {
	Fields []FieldError `json:"fields"`
}

func (e *PrivilegeError) Error() string { return (&ValidationError{Fields: e.Fields}).Error() }

// In returns all messages in lang, separated by "; ".
func (e *PrivilegeError) In(lang string) string { return (&ValidationError{Fields: e.Fields}).In(lang) }

func (e *PrivilegeError) Unwrap() error { return core.ErrForbidden }

// AuthorizePrivileged checks that checks (what a user saves) sets no
// privileged parameter unless the user is an administrator. A check that
// sets one is accepted from anyone else only unchanged: the same name,
// type and parameters as in old (what is stored), so that editing other
// fields or checks of the same policy or network device keeps it as it is.
// Parameters that are not valid JSON are left to Validate.
func AuthorizePrivileged(admin bool, old, checks []core.PolicyCheck) error {
	if admin {
		return nil
	}
	var fs []FieldError
	for i, c := range checks {
		if c.Exclude {
			continue
		}
		spec, ok := checkspec.Lookup(c.Type)
		if !ok {
			continue // Validate refuses the type
		}
		set, err := spec.Privileged(c.Params)
		if err != nil || len(set) == 0 || unchanged(old, c) {
			continue
		}
		for _, s := range set {
			why := s.Kind.Reason()
			fs = append(fs, FieldError{Field: fmt.Sprintf("checks[%d].params.%s", i, s.Path), Message: core.Text{
				EN: fmt.Sprintf("only an administrator may set or change the parameter %s of a %s check, because %s; leave this check as it is or ask an administrator",
					s.Path, c.Type, why.EN),
				DE: fmt.Sprintf("nur ein Administrator darf den Parameter %s einer Prüfung vom Typ %s setzen oder ändern, weil %s; lassen Sie diese Prüfung unverändert oder fragen Sie einen Administrator",
					s.Path, c.Type, why.DE),
			}})
		}
	}
	if len(fs) > 0 {
		return &PrivilegeError{Fields: fs}
	}
	return nil
}

// unchanged reports whether old has a check of c's name and type with the
// same parameters (compared as JSON values, so that key order and spacing
// do not matter).
func unchanged(old []core.PolicyCheck, c core.PolicyCheck) bool {
	for _, o := range old {
		if o.Name != c.Name || o.Type != c.Type || o.Exclude {
			continue
		}
		return sameJSON(o.Params, c.Params)
	}
	return false
}

func sameJSON(a, b json.RawMessage) bool {
	var va, vb any
	if len(strings.TrimSpace(string(a))) > 0 && json.Unmarshal(a, &va) != nil {
		return false
	}
	if len(strings.TrimSpace(string(b))) > 0 && json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
