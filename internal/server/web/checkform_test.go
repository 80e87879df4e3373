package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// sampleValue is a value of p other than its default, for every type.
func sampleValue(p check.Param, i int) any {
	switch p.Type {
	case check.Text:
		return fmt.Sprintf("%s-%d", p.Name, i)
	case check.Number, check.Integer:
		n := 3.0
		if p.Min != nil {
			n = *p.Min + 1
		}
		if p.Max != nil && n > *p.Max {
			n = *p.Max
		}
		if d, ok := p.Default.(float64); ok && d == n && (p.Max == nil || n-1 >= *p.Min) {
			n--
		}
		if p.Type == check.Number && (p.Max == nil || n+0.5 <= *p.Max) {
			n += 0.5
		}
		return n
	case check.Duration:
		return "90s"
	case check.Boolean:
		d, _ := p.Default.(bool)
		return !d
	case check.Choice:
		return p.Choices[len(p.Choices)-1]
	case check.List:
		return []any{sampleValue(*p.Items, 1), sampleValue(*p.Items, 2)}
	case check.Object:
		return sampleObject(p.Fields)
	case check.Map:
		return map[string]any{"a-key": "one", "b-key": "two"}
	}
	panic("unknown type " + p.Type)
}

// sampleObject gives every param of an object a value, secrets aside
// (write-only, never rendered back).
func sampleObject(ps []check.Param) map[string]any {
	o := map[string]any{}
	for _, p := range ps {
		if core.IsSecretParam(p.Name) {
			continue
		}
		o[p.Name] = sampleValue(p, 0)
	}
	return o
}

// submit is what a browser sends for the fields: each input's name and
// value, checked checkboxes only, every slot of lists and maps.
func submit(form url.Values, fs []formField) {
	for _, f := range fs {
		switch f.Kind {
		case "fieldset":
			submit(form, f.Fields)
		case "rows":
			form.Set(f.Name+"#n", strconv.Itoa(f.Count))
			for _, it := range f.Items {
				submit(form, it.Fields)
			}
		case "map":
			form.Set(f.Name+"#n", strconv.Itoa(f.Count))
			for _, p := range f.Pairs {
				form.Set(p.KeyName, p.Key)
				form.Set(p.ValueName, p.Value)
			}
		case "checkbox":
			if f.Checked {
				form.Set(f.Name, "on")
			}
		default:
			form.Set(f.Name, f.Value)
		}
	}
}

func jsonValue(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return v
}

// TestFormRoundTrip renders every check type's form with a value for
// every parameter (every Param type, objects, lists of text, numbers and
// objects, maps), submits it unchanged and gets the same parameters back.
func TestFormRoundTrip(t *testing.T) {
	for _, spec := range checkspec.All() {
		want := sampleObject(spec.Params)
		raw, _ := json.Marshal(want)
		f := checkFormOf(langOf(langDE), 2, core.PolicyCheck{Type: spec.Name, Params: raw}, nil, map[string]bool{}, true)
		if f.Type != spec.Name || f.OpenJSON || len(f.Fields) != len(spec.Params) {
			t.Fatalf("%s: form %q, JSON open %v, %d fields", spec.Name, f.Type, f.OpenJSON, len(f.Fields))
		}
		form := url.Values{"c2.form": {spec.Name}, "c2.params": {f.JSON}, "c2.params0": {f.JSON}}
		submit(form, f.Fields)
		got := rowParams(form, "c2.", spec.Name)
		if !reflect.DeepEqual(jsonValue(t, got), jsonValue(t, raw)) {
			t.Errorf("%s: round trip\n got %s\nwant %s", spec.Name, got, raw)
		}
	}
}

// TestFormBuilder pins how fields become parameters: empty fields are
// left out (the defaults apply), a checkbox sends its default only when
// it differs, a word in a number field stays for validation to name, the
// changed JSON editor wins, a formatted text is trimmed.
func TestFormBuilder(t *testing.T) {
	form := url.Values{
		"c0.form": {"website"}, "c0.p.url": {" https://shop.example.com/ "}, "c0.p.method": {""},
		"c0.p.timeout_seconds": {"2,5"}, "c0.p.expect_status": {"200\r\n\r\n301 \n"},
		"c0.p.response_ms.warn": {"viel"}, "c0.p.response_ms.fail": {""},
		"c0.p.headers#n": {"3"}, "c0.p.headers#k0": {"X-Kunde"}, "c0.p.headers#v0": {"Müller"}, "c0.p.headers#k2": {""}, "c0.p.headers#v2": {"lost"},
		// follow_redirects (default true) unchecked; tls_skip_verify (default false) unchecked.
	}
	got := string(rowParams(form, "c0.", "website"))
	want := `{"expect_status":[200,301],"follow_redirects":false,"headers":{"X-Kunde":"Müller"},"response_ms":{"warn":"viel"},"timeout_seconds":2.5,"url":"https://shop.example.com/"}`
	if got != want {
		t.Errorf("website fields:\n got %s\nwant %s", got, want)
	}
	fs := checkspec.Website.Validate(json.RawMessage(got))
	if len(fs) != 1 || fs[0].Field != "response_ms.warn" || fs[0].Message.DE != "muss eine Zahl sein" {
		t.Errorf("validation of the word in a number field: %+v", fs)
	}

	form.Set("c0.p.follow_redirects", "on")
	form.Set("c0.p.response_ms.warn", "")
	if got := string(rowParams(form, "c0.", "website")); strings.Contains(got, "follow_redirects") || strings.Contains(got, "response_ms") {
		t.Errorf("defaults are sent: %s", got)
	}
	// The JSON editor, changed, wins over the fields; unchanged it does not.
	form.Set("c0.params0", `{"url":"https://a.example/"}`)
	form.Set("c0.params", `{"url":"https://b.example/"}`)
	if got := string(rowParams(form, "c0.", "website")); got != `{"url":"https://b.example/"}` {
		t.Errorf("changed JSON not taken: %s", got)
	}
	form.Set("c0.params", `{"url":"https://a.example/"}`)
	if got := string(rowParams(form, "c0.", "website")); !strings.Contains(got, "shop.example.com") {
		t.Errorf("unchanged JSON taken over the fields: %s", got)
	}
	// A type changed without loading its form: the old fields are not
	// read for the new type.
	if got := rowParams(url.Values{"c0.form": {"ping"}, "c0.p.host": {"x"}}, "c0.", "website"); got != nil {
		t.Errorf("fields of another type read: %s", got)
	}
	// A tristate boolean without default: empty leaves it out.
	bf := url.Values{"c1.form": {"backup"}, "c1.p.products#n": {"2"}, "c1.p.products[0].type": {"restic"},
		"c1.p.products[0].warnings_ok": {"false"}, "c1.p.products[1].warnings_ok": {""}, "c1.p.warnings_ok": {"on"}}
	if got := string(rowParams(bf, "c1.", "backup")); got != `{"products":[{"type":"restic","warnings_ok":false}]}` {
		t.Errorf("backup products: %s", got)
	}
	// A ticked "remove" leaves its entry out.
	bf.Set("c1.p.products[1].type", "borg")
	bf.Set("c1.p.products#rm0", "on")
	if got := string(rowParams(bf, "c1.", "backup")); got != `{"products":[{"type":"borg"}]}` {
		t.Errorf("backup products after removing the first: %s", got)
	}
}

// TestFormSecretsAndPrivileged: a stored secret is never rendered and an
// empty secret field is left out (the service keeps the stored value);
// privileged parameters are locked for a technician, who sends them back
// unchanged, and a changed one is refused by the service's rule naming
// the nested field.
func TestFormSecretsAndPrivileged(t *testing.T) {
	c := core.PolicyCheck{Name: "shop", Type: "website", Params: json.RawMessage(`{"url":"https://shop.example/","username":"u"}`), SecretsSet: []string{"password"}}
	f := checkFormOf(langOf(langEN), 0, c, nil, map[string]bool{}, true)
	pw := f.Fields[indexOf(t, f.Fields, "c0.p.password")]
	if pw.Kind != "password" || !pw.SecretSet || pw.Value != "" {
		t.Errorf("stored password shown as %+v", pw)
	}
	form := url.Values{"c0.form": {"website"}}
	submit(form, f.Fields)
	if got := string(rowParams(form, "c0.", "website")); strings.Contains(got, "password") {
		t.Errorf("an empty secret field is sent: %s", got)
	}
	form.Set("c0.p.password", "geheim")
	if got := string(rowParams(form, "c0.", "website")); !strings.Contains(got, `"password":"geheim"`) {
		t.Errorf("a typed secret is not sent: %s", got)
	}

	stored := []core.PolicyCheck{{Name: "b", Type: "backup", Params: json.RawMessage(`{"products":[{"type":"restic","repository":"/srv/r","binary":"/usr/bin/restic"}]}`)}}
	tf := checkFormOf(langOf(langDE), 0, stored[0], nil, map[string]bool{}, false)
	products := tf.Fields[indexOf(t, tf.Fields, "c0.p.products")]
	bin := products.Items[0].Fields[indexOf(t, products.Items[0].Fields, "c0.p.products[0].binary")]
	if bin.Locked == "" || bin.Value != "/usr/bin/restic" || !strings.Contains(bin.Locked, "Programm") {
		t.Errorf("privileged field for a technician: %+v", bin)
	}
	if af := checkFormOf(langOf(langEN), 0, stored[0], nil, map[string]bool{}, true); af.Fields[0].Items[0].Fields[2].Locked != "" {
		t.Error("privileged field locked for an administrator")
	}
	form = url.Values{"c0.form": {"backup"}}
	submit(form, tf.Fields)
	same := []core.PolicyCheck{{Name: "b", Type: "backup", Params: rowParams(form, "c0.", "backup")}}
	if err := policy.AuthorizePrivileged(false, stored, same); err != nil {
		t.Errorf("unchanged privileged parameter refused: %v (%s)", err, same[0].Params)
	}
	form.Set("c0.p.products[0].binary", "/tmp/evil")
	changed := []core.PolicyCheck{{Name: "b", Type: "backup", Params: rowParams(form, "c0.", "backup")}}
	var pe *policy.PrivilegeError
	if err := policy.AuthorizePrivileged(false, stored, changed); !errors.As(err, &pe) || pe.Fields[0].Field != "checks[0].params.products[0].binary" {
		t.Errorf("changed privileged parameter: %v", err)
	}
}

// TestFormKeepsWhatFieldsCannotShow: parameters with an undeclared key
// or that are no JSON object open the JSON editor as the form (no fields,
// no form marker), so a resubmit takes the JSON and nothing is lost; a
// secret never appears, not even in the JSON.
func TestFormKeepsWhatFieldsCannotShow(t *testing.T) {
	for _, raw := range []string{`{"address":"127.0.0.1"}`, `[1]`, `{"host":`} {
		f := checkFormOf(langOf(langEN), 0, core.PolicyCheck{Type: "ping", Params: json.RawMessage(raw)}, nil, map[string]bool{}, true)
		if !f.OpenJSON || f.Fields != nil {
			t.Errorf("%s: JSON editor open %v, %d fields", raw, f.OpenJSON, len(f.Fields))
		}
		form := url.Values{"c0.params": {f.JSON}, "c0.params0": {f.JSON}}
		got := rowParams(form, "c0.", "ping")
		var compact bytes.Buffer
		if json.Compact(&compact, got) == nil {
			got = compact.Bytes()
		}
		if string(got) != raw {
			t.Errorf("%s resubmitted as %s", raw, got)
		}
	}
	f := checkFormOf(langOf(langEN), 0, core.PolicyCheck{Type: "website", Params: json.RawMessage(`{"url":"https://a.example/","password":"geheim"}`)}, nil, map[string]bool{}, true)
	if strings.Contains(f.JSON, "geheim") || f.OpenJSON || !strings.Contains(f.JSON, "a.example") {
		t.Errorf("secret in the JSON editor: %s", f.JSON)
	}
}

// TestFormErrorsBesideFields puts each refusal on its field, nested ones
// too, and leaves only the others to the row.
func TestFormErrorsBesideFields(t *testing.T) {
	ve := &policy.ValidationError{Fields: []policy.FieldError{
		{Field: "checks[0].params.products[1].binary", Message: core.Text{EN: "bad", DE: "falsch"}},
		{Field: "checks[0].params.expected_days[3]", Message: core.Text{EN: "no day", DE: "kein Tag"}},
		{Field: "checks[0].params.nosuch", Message: core.Text{EN: "unknown parameter", DE: "unbekannter Parameter"}},
		{Field: "checks[0].name", Message: core.Text{EN: "taken", DE: "vergeben"}},
		{Field: "checks[1].params.url", Message: core.Text{EN: "other row", DE: "andere Zeile"}},
	}}
	params := json.RawMessage(`{"products":[{"type":"restic"},{"type":"borg","binary":"x"}],"expected_days":["mo"]}`)
	rows := rowsOf([]core.PolicyCheck{{Name: "b", Type: "backup", Params: params}}, ve, langOf(langDE), true, true)
	f := rows[0].Form
	products := f.Fields[indexOf(t, f.Fields, "c0.p.products")]
	bin := products.Items[1].Fields[indexOf(t, products.Items[1].Fields, "c0.p.products[1].binary")]
	days := f.Fields[indexOf(t, f.Fields, "c0.p.expected_days")]
	if bin.Error != "falsch" || days.Error != "kein Tag" || bin.ID != "f-c0-p-products-1--binary" {
		t.Errorf("field errors: binary %q (%s), days %q", bin.Error, bin.ID, days.Error)
	}
	if rows[0].Error != "checks[0].name: vergeben; params.nosuch: unbekannter Parameter" {
		t.Errorf("row error %q", rows[0].Error)
	}
}

func indexOf(t *testing.T, fs []formField, name string) int {
	t.Helper()
	for i, f := range fs {
		if f.Name == name {
			return i
		}
	}
	t.Fatalf("no field %s", name)
	return -1
}
