package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Spec declares one check type and its parameters, apart from the code
// that collects (package checkspec holds one per check). The server
// validates policies with it, the API serves it for forms, docs/checks.md is
// generated from it, and the collector decodes its parameters through it
// (Spec.Decode), so the four cannot disagree.
type Spec struct {
	Name  string    `json:"name"`
	Label core.Text `json:"label"`
	Help  core.Text `json:"help"`
	// Params are the parameters of the JSON object; no other key is valid.
	Params []Param `json:"params"`
	// Rules check what one parameter alone cannot (warn below fail);
	// they run only when every parameter is valid on its own.
	Rules []Rule `json:"-"`
}

// Type is what a parameter's JSON value is.
type Type string

// Parameter types.
const (
	Text    Type = "text"    // string; MaxLen limits its characters
	Number  Type = "number"  // any JSON number; Min and Max
	Integer Type = "integer" // a whole number; Min and Max
	Boolean Type = "boolean"
	// Duration is a Go duration string ("90s", "24h") or a number of
	// seconds; Min and Max are seconds.
	Duration Type = "duration"
	Choice   Type = "choice" // one of Choices, or "" for the default
	List     Type = "list"   // array of Items; MaxLen limits its length
	Object   Type = "object" // JSON object of Fields
	Map      Type = "map"    // JSON object of free keys to Items; MaxLen limits its size
)

// Param declares one parameter.
type Param struct {
	Name string `json:"name"` // JSON key; "" for a list's or map's Items
	Type Type   `json:"type"`
	// Items is the element of a List or the value of a Map.
	Items *Param `json:"items,omitempty"`
	// Fields are the keys of an Object.
	Fields []Param `json:"fields,omitempty"`
	Unit   string  `json:"unit,omitempty"`
	// Default is what the check uses when the parameter is absent or
	// null; nil means "none" (off, empty, or found on the device).
	Default any      `json:"default,omitempty"`
	Min     *float64 `json:"min,omitempty"`
	Max     *float64 `json:"max,omitempty"`
	Choices []string `json:"choices,omitempty"`
	// MaxLen is the most characters of a Text (DefaultMaxLen if 0) or
	// items of a List or Map (unlimited if 0).
	MaxLen int `json:"max_length,omitempty"`
	// Format is what a Text must look like besides its length (FormatHost,
	// FormatOID…; see format.go); "" for any text.
	Format   string `json:"format,omitempty"`
	Required bool   `json:"required,omitempty"`
	// Privileged says why only an administrator may set this parameter
	// to anything but its default; "" if anyone may.
	Privileged Kind      `json:"privileged,omitempty"`
	Label      core.Text `json:"label"`
	Help       core.Text `json:"help"`
}

// DefaultMaxLen bounds a Text parameter that declares no MaxLen.
const DefaultMaxLen = 4096

// Limit returns a pointer to v, for Param.Min and Param.Max.
func Limit(v float64) *float64 { return &v }

// FieldError is one refused parameter. Field is its path inside the
// parameters ("host", "products[1].binary"; "" for the whole object).
type FieldError struct {
	Field   string    `json:"field"`
	Message core.Text `json:"message"`
}

// ParamsError lists every refused parameter; the collector returns it
// from its factory, the server turns it into field errors of the policy.
type ParamsError struct {
	Check  string
	Fields []FieldError
}

func (e *ParamsError) Error() string { return e.Localized().EN }

// Localized returns every refusal in English and German, "; " apart.
func (e *ParamsError) Localized() core.Text {
	var en, de []string
	for _, f := range e.Fields {
		at := f.Field
		if at == "" {
			at = "parameters"
		}
		en = append(en, at+": "+f.Message.EN)
		de = append(de, at+": "+f.Message.DE)
	}
	return core.Text{EN: strings.Join(en, "; "), DE: strings.Join(de, "; ")}
}

// Rule checks the parameters as a whole, with every value already valid on
// its own; it returns nil or the refused field.
type Rule func(v Values) *FieldError

// Values reads validated parameters, falling back to declared defaults.
type Values struct {
	spec *Spec
	obj  map[string]any
}

// Num returns a Number, Integer or Duration (seconds) parameter or its
// default, 0 if it has none.
func (v Values) Num(name string) float64 {
	x, _ := v.get(name)
	return Num(x)
}

// Raw returns a parameter's decoded JSON (json.Number for numbers) or its
// default.
func (v Values) Raw(name string) any {
	x, _ := v.get(name)
	return x
}

// Num reads a number from decoded parameters: a json.Number, a Go number,
// or a duration string in seconds; 0 for anything else.
func Num(x any) float64 {
	switch x := x.(type) {
	case json.Number:
		f, _ := x.Float64()
		return f
	case float64:
		return x
	case int:
		return float64(x)
	case string:
		d, _ := time.ParseDuration(x)
		return d.Seconds()
	}
	return 0
}

// Str returns a Text or Choice parameter or its default.
func (v Values) Str(name string) string {
	x, _ := v.get(name)
	s, _ := x.(string)
	return s
}

// Len returns the length of a List parameter (0 if absent).
func (v Values) Len(name string) int {
	x, _ := v.get(name)
	switch x := x.(type) {
	case []any:
		return len(x)
	case []string:
		return len(x)
	}
	return 0
}

// Set reports whether the parameter is given and not null.
func (v Values) Set(name string) bool { return v.obj[name] != nil }

func (v Values) get(name string) (any, bool) {
	if x := v.obj[name]; x != nil {
		return x, true
	}
	for _, p := range v.spec.Params {
		if p.Name == name {
			return p.Default, p.Default != nil
		}
	}
	return nil, false
}

// NotAbove is the common rule that low's value is not above high's (a
// warning threshold above its failure threshold). A zero value means the
// level is off and is not compared.
func NotAbove(low, high string) Rule { return notAbove(low, high, true) }

// Ordered is NotAbove for levels where zero is a level like any other, as
// Thresholds.Validate compares them (cpu, memory, disk, smart).
func Ordered(low, high string) Rule { return notAbove(low, high, false) }

func notAbove(low, high string, zeroOff bool) Rule {
	return func(v Values) *FieldError {
		l, h := v.Num(low), v.Num(high)
		if (!zeroOff || l != 0 && h != 0) && l > h {
			return &FieldError{Field: low, Message: core.Text{
				EN: fmt.Sprintf("must not be above %s (%v > %v)", high, l, h),
				DE: fmt.Sprintf("darf nicht über %s liegen (%v > %v)", high, l, h)}}
		}
		return nil
	}
}

// Validate checks raw (a check's parameters as JSON) against the
// declaration: a JSON object of declared keys, every value of its type
// and within its limits, required ones present, then the Rules. Empty
// params and null count as {}. It returns nil or every refused field.
func (s *Spec) Validate(raw json.RawMessage) []FieldError {
	obj := map[string]any{}
	if !isNull(raw) {
		v, err := decodeAny(raw)
		if err != nil {
			return []FieldError{fe("", "must be valid JSON", "muss gültiges JSON sein")}
		}
		o, ok := v.(map[string]any)
		if !ok {
			return []FieldError{fe("", "must be a JSON object", "muss ein JSON-Objekt sein")}
		}
		obj = o
	}
	var out []FieldError
	validateObject(&out, "", s.Params, obj)
	if len(out) > 0 {
		return out
	}
	for _, r := range s.Rules {
		if e := r(Values{spec: s, obj: obj}); e != nil {
			out = append(out, *e)
		}
	}
	return out
}

// Decode validates raw and decodes it strictly into v, the collector's
// parameter struct, which must match the declaration key for key
// (StructMismatch). Without params (none or null) it returns
// ErrNotConfigured and leaves v alone, for checks that need parameters or
// fall back to defaults; a refused parameter is a *ParamsError.
func (s *Spec) Decode(raw json.RawMessage, v any) error {
	if diffs := StructMismatch(s, v); len(diffs) > 0 {
		return fmt.Errorf("its parameter struct and its declaration differ: %s", strings.Join(diffs, "; "))
	}
	if isNull(raw) {
		return ErrNotConfigured
	}
	if fs := s.Validate(raw); len(fs) > 0 {
		return &ParamsError{Check: s.Name, Fields: fs}
	}
	return DecodeParams(raw, v)
}

// isNull reports params that are absent: nothing, JSON whitespace or null
// (a parsed document's raw value is never bare whitespace, but an API body
// field may be).
func isNull(raw json.RawMessage) bool {
	t := strings.Trim(string(raw), " \t\r\n")
	return t == "" || t == "null"
}

// decodeAny decodes one JSON value, keeping numbers exact, and refuses
// anything after it.
func decodeAny(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON value")
	}
	return v, nil
}

func fe(field, en, de string) FieldError {
	return FieldError{Field: field, Message: core.Text{EN: en, DE: de}}
}

func join(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

func validateObject(out *[]FieldError, at string, params []Param, obj map[string]any) {
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.ContainsFunc(params, func(p Param) bool { return p.Name == k }) {
			valid := make([]string, len(params))
			for i, p := range params {
				valid[i] = p.Name
			}
			slices.Sort(valid)
			*out = append(*out, fe(join(at, k),
				fmt.Sprintf("unknown parameter; valid: %s", strings.Join(valid, ", ")),
				fmt.Sprintf("unbekannter Parameter; gültig: %s", strings.Join(valid, ", "))))
		}
	}
	for _, p := range params {
		v := obj[p.Name]
		if v == nil {
			if p.Required {
				*out = append(*out, fe(join(at, p.Name), "is required", "ist erforderlich"))
			}
			continue
		}
		validateValue(out, join(at, p.Name), p, v)
	}
}

func validateValue(out *[]FieldError, at string, p Param, v any) {
	bad := func(en, de string) { *out = append(*out, fe(at, en, de)) }
	switch p.Type {
	case Text:
		s, ok := v.(string)
		if !ok {
			bad("must be text", "muss Text sein")
			return
		}
		max := p.MaxLen
		if max == 0 {
			max = DefaultMaxLen
		}
		if n := utf8.RuneCountInString(s); n > max {
			bad(fmt.Sprintf("must be at most %d characters", max), fmt.Sprintf("darf höchstens %d Zeichen lang sein", max))
		} else if p.Required && strings.TrimSpace(s) == "" {
			bad("is required", "ist erforderlich")
		} else if p.Format != "" {
			if m := FormatMessage(p.Format, s); m != nil {
				bad(m.EN, m.DE)
			}
		}
	case Number, Integer:
		n, ok := v.(json.Number)
		if !ok {
			bad("must be a number", "muss eine Zahl sein")
			return
		}
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) {
			bad("must be a number", "muss eine Zahl sein")
			return
		}
		if p.Type == Integer {
			if _, err := n.Int64(); err != nil {
				bad("must be a whole number", "muss eine ganze Zahl sein")
				return
			}
		}
		checkRange(bad, p, f, "")
	case Boolean:
		if _, ok := v.(bool); !ok {
			bad("must be true or false", "muss true oder false sein")
		}
	case Duration:
		var secs float64
		switch x := v.(type) {
		case string:
			d, err := time.ParseDuration(x)
			if err != nil {
				bad(`must be a duration such as "90s", "15m" or "24h"`, `muss eine Dauer wie "90s", "15m" oder "24h" sein`)
				return
			}
			secs = d.Seconds()
		case json.Number:
			f, err := x.Float64()
			if err != nil || math.IsInf(f, 0) || math.Abs(f) > float64(math.MaxInt64/int64(time.Second)) {
				bad("must be a duration", "muss eine Dauer sein")
				return
			}
			secs = f
		default:
			bad(`must be a duration such as "90s", "15m" or "24h"`, `muss eine Dauer wie "90s", "15m" oder "24h" sein`)
			return
		}
		checkRange(bad, p, secs, "s")
	case Choice:
		// "" takes the default, as it does in every collector.
		s, ok := v.(string)
		if !ok || !slices.Contains(p.Choices, s) && (s != "" || p.Required) {
			list := strings.Join(p.Choices, ", ")
			bad("must be one of "+list, "muss eines von "+list+" sein")
		}
	case List:
		l, ok := v.([]any)
		if !ok {
			bad("must be a list", "muss eine Liste sein")
			return
		}
		if p.MaxLen > 0 && len(l) > p.MaxLen {
			bad(fmt.Sprintf("must have at most %d entries", p.MaxLen), fmt.Sprintf("darf höchstens %d Einträge haben", p.MaxLen))
			return
		}
		for i, x := range l {
			if x == nil {
				*out = append(*out, fe(fmt.Sprintf("%s[%d]", at, i), "must not be null", "darf nicht null sein"))
				continue
			}
			validateValue(out, fmt.Sprintf("%s[%d]", at, i), *p.Items, x)
		}
	case Object:
		o, ok := v.(map[string]any)
		if !ok {
			bad("must be an object", "muss ein Objekt sein")
			return
		}
		validateObject(out, at, p.Fields, o)
	case Map:
		o, ok := v.(map[string]any)
		if !ok {
			bad("must be an object", "muss ein Objekt sein")
			return
		}
		if p.MaxLen > 0 && len(o) > p.MaxLen {
			bad(fmt.Sprintf("must have at most %d entries", p.MaxLen), fmt.Sprintf("darf höchstens %d Einträge haben", p.MaxLen))
			return
		}
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if o[k] == nil {
				*out = append(*out, fe(at+"."+k, "must not be null", "darf nicht null sein"))
				continue
			}
			validateValue(out, at+"."+k, *p.Items, o[k])
		}
	default:
		panic("check " + at + ": unknown parameter type " + string(p.Type))
	}
}

func checkRange(bad func(en, de string), p Param, f float64, unit string) {
	switch {
	case p.Min != nil && p.Max != nil && (f < *p.Min || f > *p.Max):
		bad(fmt.Sprintf("must be between %v%s and %v%s", *p.Min, unit, *p.Max, unit),
			fmt.Sprintf("muss zwischen %v%s und %v%s liegen", *p.Min, unit, *p.Max, unit))
	case p.Min != nil && f < *p.Min:
		bad(fmt.Sprintf("must be at least %v%s", *p.Min, unit), fmt.Sprintf("muss mindestens %v%s sein", *p.Min, unit))
	case p.Max != nil && f > *p.Max:
		bad(fmt.Sprintf("must be at most %v%s", *p.Max, unit), fmt.Sprintf("darf höchstens %v%s sein", *p.Max, unit))
	}
}
