package check

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Kind says why a parameter is privileged.
type Kind string

// Kinds of privileged parameters.
const (
	// Executable names a program the agent starts.
	Executable Kind = "executable"
	// ReadPath names a file or folder the agent reads, or something it
	// hands to a program that reads it (a repository, a password file, an
	// environment variable).
	ReadPath Kind = "read"
	// Changes makes the agent change the system (restart a service).
	Changes Kind = "changes"
)

// Reason explains the kind to a user, in English and German, as the end
// of a sentence "… because …" / "…, weil …".
func (k Kind) Reason() core.Text {
	switch k {
	case Executable:
		return core.Text{EN: "it names a program the agent starts with full rights", DE: "er ein Programm nennt, das der Agent mit vollen Rechten startet"}
	case ReadPath:
		return core.Text{EN: "it names something on the device the agent reads with full rights", DE: "er etwas auf dem Gerät nennt, das der Agent mit vollen Rechten liest"}
	default:
		return core.Text{EN: "it makes the agent change the device", DE: "er den Agenten das Gerät verändern lässt"}
	}
}

// Setting is a privileged parameter set to a value other than its default.
type Setting struct {
	Path string // concrete, e.g. "products[1].binary"
	Kind Kind
}

// privileged is a privileged parameter found in a declaration: its path
// ("restart", or "products[].binary" for a field of every element of a
// list), kind and default.
type privileged struct {
	path string
	kind Kind
	def  any
}

func (s *Spec) privileged() []privileged {
	var out []privileged
	var visit func(at string, ps []Param)
	visit = func(at string, ps []Param) {
		for _, p := range ps {
			path := join(at, p.Name)
			if p.Privileged != "" {
				out = append(out, privileged{path, p.Privileged, p.Default})
				continue
			}
			switch {
			case p.Type == Object:
				visit(path, p.Fields)
			case p.Type == List && p.Items.Type == Object:
				visit(path+"[]", p.Items.Fields)
			}
		}
	}
	visit("", s.Params)
	return out
}

// PrivilegedPaths returns the paths of the declared privileged
// parameters: "restart", or "products[].binary" for a field of every
// element of a list.
func (s *Spec) PrivilegedPaths() []string {
	var out []string
	for _, p := range s.privileged() {
		out = append(out, p.path)
	}
	return out
}

// Privileged returns the privileged parameters that raw sets to something
// other than their default. It only decodes raw (the server calls it
// without running anything); a raw that is not a JSON object is an error.
func (s *Spec) Privileged(raw json.RawMessage) ([]Setting, error) {
	ps := s.privileged()
	if len(ps) == 0 || isNull(raw) {
		return nil, nil
	}
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("parsing parameters: %w", err)
	}
	var out []Setting
	for _, p := range ps {
		var def any
		if p.def != nil {
			// Compare as decoded JSON, as the values are.
			b, err := json.Marshal(p.def)
			if err == nil {
				err = json.Unmarshal(b, &def)
			}
			if err != nil {
				panic("check " + s.Name + ": default of " + p.path + ": " + err.Error())
			}
		}
		walk(root, strings.Split(p.path, "."), "", func(at string, v any) {
			if !isDefault(v, def) {
				out = append(out, Setting{Path: at, Kind: p.kind})
			}
		})
	}
	return out, nil
}

// walk calls found with the concrete path and value of every parameter
// that path (split at dots) reaches in v.
func walk(v any, path []string, at string, found func(at string, v any)) {
	if len(path) == 0 {
		found(at, v)
		return
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return
	}
	key, each := strings.CutSuffix(path[0], "[]")
	child, ok := obj[key]
	if !ok {
		return
	}
	if at != "" {
		at += "."
	}
	at += key
	if !each {
		walk(child, path[1:], at, found)
		return
	}
	list, ok := child.([]any)
	if !ok {
		// Not a list: the check refuses it; count it as set.
		found(at, child)
		return
	}
	for i, el := range list {
		walk(el, path[1:], fmt.Sprintf("%s[%d]", at, i), found)
	}
}

// isDefault reports whether v is def, or the zero value when def is nil.
func isDefault(v, def any) bool {
	if def != nil {
		return reflect.DeepEqual(v, def)
	}
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case float64:
		return x == 0
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}
