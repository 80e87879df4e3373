package checkspec

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/wacht-rmm/wacht/internal/check"
)

// TestDeclarations checks every declaration for what forms, docs and
// validation rely on: sorted unique names, labels and help in English and
// German, the parts each type needs, and defaults that pass their own
// declaration.
func TestDeclarations(t *testing.T) {
	names := Names()
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) || len(names) < 14 {
		t.Errorf("names %q: want at least 14, sorted and unique", names)
	}
	for _, s := range All() {
		if got, ok := Lookup(s.Name); !ok || got != s {
			t.Errorf("Lookup(%s) = %v, %v", s.Name, got, ok)
		}
		if s.Label.EN == "" || s.Label.DE == "" || s.Help.EN == "" || s.Help.DE == "" {
			t.Errorf("%s: label or help missing in a language", s.Name)
		}
		checkParams(t, s, s.Name, s.Params)
	}
	if _, ok := Lookup("nosuchcheck"); ok {
		t.Error("Lookup of an unknown type succeeded")
	}
}

func checkParams(t *testing.T, s *check.Spec, at string, ps []check.Param) {
	seen := map[string]bool{}
	for _, p := range ps {
		path := at + "." + p.Name
		if p.Name == "" || seen[p.Name] {
			t.Errorf("%s: empty or duplicate name", path)
		}
		seen[p.Name] = true
		if p.Label.EN == "" || p.Label.DE == "" || p.Help.EN == "" || p.Help.DE == "" {
			t.Errorf("%s: label or help missing in a language", path)
		}
		switch p.Type {
		case check.List, check.Map:
			if p.Items == nil || p.Items.Name != "" {
				t.Errorf("%s: a %s needs unnamed Items", path, p.Type)
			} else if p.Items.Type == check.Object {
				checkParams(t, s, path+"[]", p.Items.Fields)
			}
		case check.Object:
			if len(p.Fields) == 0 {
				t.Errorf("%s: an object needs Fields", path)
			}
			checkParams(t, s, path, p.Fields)
		case check.Choice:
			if len(p.Choices) == 0 {
				t.Errorf("%s: a choice needs Choices", path)
			}
		case check.Text, check.Number, check.Integer, check.Boolean, check.Duration:
		default:
			t.Errorf("%s: unknown type %q", path, p.Type)
		}
		checkFormat(t, path, p)
		if p.Items != nil {
			checkFormat(t, path+"[]", *p.Items)
		}
		if p.Default != nil && at == s.Name {
			raw, _ := json.Marshal(map[string]any{p.Name: p.Default})
			for _, fe := range s.Validate(raw) {
				if fe.Field == p.Name || len(fe.Field) > len(p.Name) && fe.Field[:len(p.Name)+1] == p.Name+"." {
					t.Errorf("%s: the default %v is refused: %s", path, p.Default, fe.Message.EN)
				}
			}
		}
	}
}

// checkFormat fails for a format that is unknown or not on a text.
func checkFormat(t *testing.T, path string, p check.Param) {
	if p.Format == "" {
		return
	}
	if p.Type != check.Text {
		t.Errorf("%s: a format on a %s", path, p.Type)
	}
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", path, r)
		}
	}()
	check.FormatMessage(p.Format, "x")
}
