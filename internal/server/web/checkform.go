package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// Check parameter forms: the policy editor and the network device form
// render one form per check row from the check type's declaration
// (check.Spec), and paramsFromForm turns the posted fields back into the
// parameters' JSON, which the service validates through the same
// declaration. An input's name is the row's prefix, "p." and the
// parameter's path as field errors name it ("c2.p.products[1].binary"), so
// each refusal lands beside its field. Values the form cannot parse (a
// word in a number field) are passed on as text, so that validation names
// the field instead of the form dropping the value.

// checkForm is the parameter form of one check row.
type checkForm struct {
	L      Lang
	Row    int
	Type   string // "" before a type is chosen
	Help   string
	Fields []formField
	JSON   string // the parameters as JSON, for the advanced editor
	// OpenJSON opens the advanced editor: the parameters are not a
	// JSON object the fields could show.
	OpenJSON bool
}

// formField is one parameter's input (or group of inputs).
type formField struct {
	Name        string // the input's name
	ID          string
	Label       string
	Help        string
	Kind        string // text, textarea, password, number, duration, checkbox, tristate, select, lines, fieldset, rows, map
	Unit        string
	Min, Max    string
	Step        string
	Placeholder string
	Value       string
	Checked     bool
	Required    bool
	Choices     []string
	Locked      string // why only an administrator may change it; "" if editable
	SecretSet   bool   // a write-only secret is stored
	Error       string
	Example     string        // a value of the declared format ("z. B. 07:30"), when no default shows one
	Fields      []formField   // fieldset: an object's fields
	Items       []formItem    // rows: a list of objects, the last one blank
	Pairs       []formPair    // map: key and value rows, the last ones blank
	Count       int           // rows and map: how many slots were rendered
	Text        formFieldText // the form's words in the page's language
}

// formItem is one entry of a list of objects; Remove names its
// "remove" checkbox (stored entries only, not the blank one).
type formItem struct {
	Legend string
	Remove string
	Fields []formField
}

// formPair is one entry of a map.
type formPair struct{ KeyName, ValueName, Key, Value string }

// formFieldText holds the words a field's template needs.
type formFieldText struct {
	Required, SecretSet, Locked, Default, Yes, No, Key, Value, OnePerLine, Example, Remove, Add string
}

// blankMapPairs is how many empty key/value rows a map offers.
const blankMapPairs = 2

// formBuilder renders one row's form.
type formBuilder struct {
	lang    Lang
	admin   bool
	prefix  string            // "c2.p."
	errs    map[string]string // refusals by parameter path
	claimed map[string]bool   // paths of errs shown beside a field
	secrets []string          // secret parameters stored for the row
	text    formFieldText
}

// checkFormOf builds the form of row (its check c) in lang. errs are the
// refusals of its parameters by path; the paths shown beside a field are
// added to claimed. A non-administrator sees privileged parameters locked.
func checkFormOf(lang Lang, row int, c core.PolicyCheck, errs map[string]string, claimed map[string]bool, admin bool) checkForm {
	f := checkForm{L: lang, Row: row, Type: c.Type, JSON: prettyJSON(c.Params)}
	spec, ok := checkspec.Lookup(c.Type)
	if !ok {
		f.Type = ""
		f.OpenJSON = f.JSON != ""
		return f
	}
	var obj map[string]any
	if len(bytes.TrimSpace(c.Params)) > 0 {
		v, err := decodeJSON(c.Params)
		if obj, ok = v.(map[string]any); err != nil || !ok && v != nil {
			f.OpenJSON = true
		}
	}
	for k := range obj {
		if core.IsSecretParam(k) {
			// Write-only, also in the JSON editor; a typed one that was
			// refused must be typed again.
			delete(obj, k)
			f.JSON = prettyJSON(mustMarshal(obj))
		}
		if !slices.ContainsFunc(spec.Params, func(p check.Param) bool { return p.Name == k }) {
			f.OpenJSON = true
		}
	}
	if f.OpenJSON {
		// The fields cannot show it: the JSON editor is the form, so that
		// nothing typed is lost.
		return f
	}
	b := &formBuilder{lang: lang, admin: admin, prefix: "c" + strconv.Itoa(row) + ".p.", errs: errs, claimed: claimed,
		secrets: c.SecretsSet, text: formFieldText{
			Required: lang.T("form.required"), SecretSet: lang.T("form.secretSet"), Default: lang.T("form.default"),
			Yes: lang.T("task.yes"), No: lang.T("task.no"), Key: lang.T("form.key"), Value: lang.T("form.value"),
			OnePerLine: lang.T("form.onePerLine"), Locked: lang.T("form.locked"), Example: lang.T("form.example"),
			Remove: lang.T("form.remove"), Add: lang.T("form.add"),
		}}
	f.Help = lang.Message(spec.Help)
	f.Fields = b.fields("", spec.Params, obj, nil)
	return f
}

// mustMarshal encodes decoded JSON, which cannot fail.
func mustMarshal(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

// decodeJSON decodes one JSON value keeping numbers as written.
func decodeJSON(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

// prettyJSON indents valid JSON for the advanced editor and returns
// anything else as it was typed.
func prettyJSON(raw json.RawMessage) string {
	var b bytes.Buffer
	if len(bytes.TrimSpace(raw)) == 0 || json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

func joinPath(at, name string) string {
	if at == "" {
		return name
	}
	return at + "." + name
}

// fields builds the inputs of an object's params at path at; obj holds
// its values and def the object's default values (either may be nil).
func (b *formBuilder) fields(at string, params []check.Param, obj, def map[string]any) []formField {
	out := make([]formField, 0, len(params))
	for _, p := range params {
		d := p.Default
		if d == nil && def != nil {
			d = def[p.Name]
		}
		out = append(out, b.field(joinPath(at, p.Name), p, obj[p.Name], d))
	}
	return out
}

// field builds the input of one parameter at path with value v and
// default def.
func (b *formBuilder) field(path string, p check.Param, v, def any) formField {
	f := formField{Name: b.prefix + path, ID: fieldID(b.prefix + path), Label: b.lang.Message(p.Label), Help: b.lang.Message(p.Help),
		Unit: unitText(b.lang, p.Unit), Required: p.Required, Placeholder: scalarText(def), Text: b.text, Error: b.claim(path, p.Type)}
	if p.Privileged != "" && !b.admin {
		f.Locked = b.lang.Message(p.Privileged.Reason())
	}
	if !strings.ContainsAny(path, ".[") && core.IsSecretParam(path) {
		f.SecretSet = slices.Contains(b.secrets, path)
		v = nil // write-only: never shown again
	}
	switch p.Type {
	case check.Text:
		f.Kind, f.Value = "text", scalarText(v)
		if p.MaxLen > check.DefaultMaxLen {
			f.Kind = "textarea" // certificates, scripts

		}
		if f.SecretSet || core.IsSecretParam(path) && !strings.ContainsAny(path, ".[") {
			f.Kind = "password"
		}
	case check.Number, check.Integer:
		f.Kind, f.Value, f.Step = "number", scalarText(v), "any"
		if p.Type == check.Integer {
			f.Step = "1"
		}
		if p.Min != nil {
			f.Min = scalarText(*p.Min)
		}
		if p.Max != nil {
			f.Max = scalarText(*p.Max)
		}
	case check.Duration:
		f.Kind, f.Value = "duration", scalarText(v)
	case check.Boolean:
		if p.Default == nil {
			// No default: absent means "as the check decides", which a
			// checkbox cannot say.
			f.Kind, f.Value = "tristate", scalarText(v)
		} else {
			f.Kind = "checkbox"
			f.Checked, _ = v.(bool)
			if v == nil {
				f.Checked, _ = def.(bool)
			}
		}
	case check.Choice:
		f.Kind, f.Value, f.Choices = "select", scalarText(v), p.Choices
	case check.List:
		if p.Items.Type == check.Object {
			f.Kind = "rows"
			l, _ := v.([]any)
			for i := 0; i <= len(l); i++ {
				var o map[string]any
				if i < len(l) {
					o, _ = l[i].(map[string]any)
				}
				it := formItem{Legend: f.Label + " " + strconv.Itoa(i+1),
					Fields: b.fields(fmt.Sprintf("%s[%d]", path, i), p.Items.Fields, o, nil)}
				if i < len(l) {
					it.Remove = removeName(f.Name, i)
				}
				f.Items = append(f.Items, it)
			}
			f.Count = len(f.Items)
			break
		}
		f.Kind, f.Value = "lines", linesText(v)
		f.Placeholder = linesText(def)
	case check.Object:
		f.Kind = "fieldset"
		o, _ := v.(map[string]any)
		d, _ := def.(map[string]any)
		f.Fields = b.fields(path, p.Fields, o, d)
	case check.Map:
		f.Kind = "map"
		m, _ := v.(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i := 0; i < len(keys)+blankMapPairs; i++ {
			pair := formPair{KeyName: fmt.Sprintf("%s#k%d", f.Name, i), ValueName: fmt.Sprintf("%s#v%d", f.Name, i)}
			if i < len(keys) {
				pair.Key, pair.Value = keys[i], scalarText(m[keys[i]])
			}
			f.Pairs = append(f.Pairs, pair)
		}
		f.Count = len(f.Pairs)
	}
	if f.Kind != "checkbox" && f.Kind != "tristate" && f.Kind != "select" {
		if f.Placeholder != "" {
			f.Placeholder = f.Text.Default + " " + f.Placeholder
		}
	}
	format := p.Format
	if p.Type == check.List && p.Items != nil {
		format = p.Items.Format
	}
	if ex := check.FormatExample(format); ex != "" && f.Placeholder == "" && f.Kind != "password" {
		f.Placeholder = f.Text.Example + " " + ex
	}
	return f
}

// removeName is the name of the checkbox that removes entry i of the list
// of objects named name; the form then leaves that entry out.
func removeName(name string, i int) string { return fmt.Sprintf("%s#rm%d", name, i) }

// unitText is a declared unit in lang ("days" → "Tage"); symbols such as
// "%" or "GB" stay as they are.
func unitText(lang Lang, unit string) string {
	if unit == "" {
		return ""
	}
	if t := lang.T("unit." + unit); t != "unit."+unit {
		return t
	}
	return unit
}

// claim returns the refusals of the parameter at path (for lines and
// maps also those of their entries) and marks them shown.
func (b *formBuilder) claim(path string, t check.Type) string {
	var msgs []string
	for _, k := range slices.Sorted(maps.Keys(b.errs)) {
		below := (t == check.List || t == check.Map) && (strings.HasPrefix(k, path+"[") || strings.HasPrefix(k, path+"."))
		if k == path || below {
			msgs = append(msgs, b.errs[k])
			b.claimed[k] = true
		}
	}
	return strings.Join(msgs, "; ")
}

// fieldID makes an input name usable as an element ID.
func fieldID(name string) string {
	return "f-" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, name)
}

// scalarText shows a JSON value in an input: numbers as written, text as
// is, anything else as JSON.
func scalarText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case int:
		return strconv.Itoa(v)
	case bool:
		return strconv.FormatBool(v)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// linesText shows a list one entry per line.
func linesText(v any) string {
	var out []string
	switch l := v.(type) {
	case []any:
		for _, x := range l {
			out = append(out, scalarText(x))
		}
	case []string:
		out = l
	}
	return strings.Join(out, "\n")
}

// paramsFromForm builds a check's parameters from the fields of its form
// (prefix is the row's, e.g. "c2."): a JSON object of the parameters
// given, leaving out empty ones so that the declaration's defaults apply
// and stored secrets are kept. Nothing is validated here; the service
// validates the result through the same declaration.
func paramsFromForm(spec *check.Spec, form url.Values, prefix string) json.RawMessage {
	obj := objectFromForm(spec.Params, form, prefix+"p.", "")
	if len(obj) == 0 {
		return nil
	}
	b, _ := json.Marshal(obj) // strings, numbers, bools, lists and maps only
	return b
}

func objectFromForm(params []check.Param, form url.Values, prefix, at string) map[string]any {
	obj := map[string]any{}
	for _, p := range params {
		if v, ok := valueFromForm(p, form, prefix, joinPath(at, p.Name)); ok {
			obj[p.Name] = v
		}
	}
	return obj
}

// valueFromForm reads one parameter; ok is false when it is left empty.
func valueFromForm(p check.Param, form url.Values, prefix, path string) (any, bool) {
	name := prefix + path
	s := strings.TrimSpace(form.Get(name))
	switch p.Type {
	case check.Text:
		// Text is taken as typed (a PEM block keeps its line ends), but a
		// host, URL or OID never holds surrounding blanks: a pasted one
		// would only be refused for them.
		raw := strings.ReplaceAll(form.Get(name), "\r\n", "\n")
		if p.Format != "" && p.Format != check.FormatPEM {
			raw = strings.TrimSpace(raw)
		}
		return raw, strings.TrimSpace(raw) != ""
	case check.Choice:
		return s, s != ""
	case check.Number, check.Integer:
		return numberOrText(s), s != ""
	case check.Duration:
		if _, err := strconv.ParseFloat(s, 64); err == nil {
			return json.Number(s), true // seconds
		}
		return s, s != ""
	case check.Boolean:
		if p.Default == nil {
			// A tristate select: "", "true" or "false".
			b, err := strconv.ParseBool(s)
			return b, err == nil
		}
		// A checkbox: unchecked sends nothing.
		on := s != ""
		def, _ := p.Default.(bool)
		return on, on != def
	case check.List:
		if p.Items.Type == check.Object {
			n, _ := strconv.Atoi(form.Get(name + "#n"))
			var l []any
			for i := 0; i < n && i <= maxSlots(p); i++ {
				if form.Get(removeName(name, i)) != "" {
					continue
				}
				if o := objectFromForm(p.Items.Fields, form, prefix, fmt.Sprintf("%s[%d]", path, i)); len(o) > 0 {
					l = append(l, o)
				}
			}
			return l, len(l) > 0
		}
		var l []any
		for _, line := range strings.Split(form.Get(name), "\n") {
			if line = strings.TrimSpace(line); line == "" {
				continue
			}
			if p.Items.Type == check.Number || p.Items.Type == check.Integer {
				l = append(l, numberOrText(line))
			} else {
				l = append(l, line)
			}
		}
		return l, len(l) > 0
	case check.Object:
		o := objectFromForm(p.Fields, form, prefix, path)
		return o, len(o) > 0
	case check.Map:
		n, _ := strconv.Atoi(form.Get(name + "#n"))
		m := map[string]any{}
		for i := 0; i < n && i <= maxSlots(p); i++ {
			k := strings.TrimSpace(form.Get(fmt.Sprintf("%s#k%d", name, i)))
			if k != "" {
				m[k] = form.Get(fmt.Sprintf("%s#v%d", name, i))
			}
		}
		return m, len(m) > 0
	}
	return nil, false
}

// maxSlots bounds the entries read of a list or map: one past its limit,
// so that validation reports a list that is too long.
func maxSlots(p check.Param) int {
	if p.MaxLen > 0 {
		return p.MaxLen
	}
	return 1000
}

// numberOrText is a JSON number when s is one, else s itself, which
// validation refuses naming the field.
func numberOrText(s string) any {
	s = strings.Replace(s, ",", ".", 1) // a German decimal comma
	if _, err := strconv.ParseFloat(s, 64); err == nil {
		return json.Number(s)
	}
	return s
}

// rowParams picks a row's parameters from the posted form: the advanced
// JSON editor when it was changed, else the fields when the form was
// rendered for the row's type, else the JSON (a form without fields, a
// type changed without a new form).
func rowParams(form url.Values, prefix, typ string) json.RawMessage {
	js := strings.TrimSpace(form.Get(prefix + "params"))
	if js != "" && js != strings.TrimSpace(form.Get(prefix+"params0")) {
		return json.RawMessage(js)
	}
	if spec, ok := checkspec.Lookup(typ); ok && form.Get(prefix+"form") == typ {
		return paramsFromForm(spec, form, prefix)
	}
	if js != "" {
		return json.RawMessage(js)
	}
	return nil
}

// paramErrors splits the refusals of row i (fields "checks[i]…") into
// those of its parameters, by path, and the rest, in lang.
func paramErrors(ve *policy.ValidationError, i int, lang Lang) (params map[string]string, rest []string) {
	params = map[string]string{}
	if ve == nil {
		return params, nil
	}
	at := "checks[" + strconv.Itoa(i) + "]"
	for _, f := range ve.Fields {
		if f.Field != at && !strings.HasPrefix(f.Field, at+".") {
			continue
		}
		if p, ok := strings.CutPrefix(f.Field, at+".params."); ok {
			if params[p] != "" {
				params[p] += "; "
			}
			params[p] += f.Message.In(lang.Code())
			continue
		}
		rest = append(rest, f.In(lang.Code()))
	}
	return params, rest
}

// checkFormRoutes registers the form fragment the type choice loads.
func (s *server) checkFormRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /check-form", authz.Operate, s.withSession(s.checkFormFragment))
}

// checkFormFragment renders the parameter form of row for the type the
// row's select names, when the user changes it.
func (s *server) checkFormFragment(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	row, err := strconv.Atoi(r.URL.Query().Get("row"))
	if err != nil || row < 0 || row > 10000 {
		s.renderError(w, r, rc.lang, core.ErrInvalid)
		return
	}
	typ := r.URL.Query().Get("c" + strconv.Itoa(row) + ".type")
	v := s.view(r, rc.lang, rc)
	v.Page = checkFormOf(rc.lang, row, core.PolicyCheck{Type: typ}, nil, map[string]bool{}, rc.user.Role == core.RoleAdmin)
	s.render(w, http.StatusOK, "check-form", v)
}
