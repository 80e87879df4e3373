package all

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/check"
)

// refusals are parameters a collector refuses in its factory or Init, each
// with the field the declaration must name: the server must refuse them
// too, or it saves a policy the agent then rejects. Each change is applied
// to the first valid example of the check (validExamples).
var refusals = map[string][]struct {
	field  string
	change func(o map[string]any)
}{
	"cpu":      {{"warn", func(o map[string]any) { o["warn"], o["fail"] = 50, 0 }}},
	"memory":   {{"warn", func(o map[string]any) { o["warn"], o["fail"] = 50, 0 }}},
	"disk":     {{"warn", func(o map[string]any) { o["warn"], o["fail"] = 50, 0 }}},
	"smart":    {{"wear_warn", func(o map[string]any) { o["wear_warn"], o["wear_fail"] = 50, 0 }}},
	"eventlog": {{"warn", func(o map[string]any) { o["warn"], o["fail"] = 5, 0 }}},
	"backup": {
		{"min_successes", func(o map[string]any) { o["min_successes"] = 0 }},
		{"products[0].min_successes", func(o map[string]any) { product(o)["min_successes"] = 0 }},
		{"expected_days[1]", func(o map[string]any) { o["expected_days"] = []any{"montag", "funday"} }},
		{"expected_days[1]", func(o map[string]any) { o["expected_days"] = []any{"Mo", "funday"} }},
		{"products[0].expected_days[0]", func(o map[string]any) { product(o)["expected_days"] = []any{"x"} }},
		{"daily_verdict_at", func(o map[string]any) { o["daily_verdict_at"] = "25:00" }},
		{"daily_verdict_at", func(o map[string]any) { o["daily_verdict_at"] = "6 Uhr" }},
		{"products[1].name", func(o map[string]any) { o["products"] = []any{product(o), product(o)} }},
	},
	"ping": {
		{"host", func(o map[string]any) { o["host"] = "user@host" }},
		{"host", func(o map[string]any) { o["host"] = strings.Repeat("ä", 200) }},
	},
	"snmp": {
		{"oids[0].oid", func(o map[string]any) { oid(o)["oid"] = "sysUpTime.0" }},
		{"oids[0].oid", func(o map[string]any) { oid(o)["oid"] = "1.3.6.1.4294967296" }},
		{"oids[0].oid", func(o map[string]any) { oid(o)["oid"] = "3.1" }},
		{"oids[0].warn", func(o map[string]any) { oid(o)["warn"], oid(o)["fail"], oid(o)["below"] = 10, 5, false }},
		{"battery_percent.warn", func(o map[string]any) { o["battery_percent"] = map[string]any{"warn": 10, "fail": 30, "below": true} }},
		{"storage_percent.warn", func(o map[string]any) { o["storage_percent"] = map[string]any{"warn": 95, "fail": 90} }},
		{"auth_passphrase", func(o map[string]any) { o["auth_protocol"], o["auth_passphrase"] = "SHA", "kurz" }},
		{"priv_passphrase", func(o map[string]any) {
			o["auth_protocol"], o["priv_protocol"], o["priv_passphrase"] = "SHA", "AES", "kurz"
		}},
		{"priv_protocol", func(o map[string]any) { o["priv_protocol"] = "AES"; delete(o, "auth_protocol") }},
		{"user", func(o map[string]any) { o["user"] = "" }},
		{"user", func(o map[string]any) { o["user"] = strings.Repeat("u", 33) }},
		{"community", func(o map[string]any) { o["community"] = "public" }},
		{"user", func(o map[string]any) { o["version"] = "2c"; o["user"] = "admin" }},
		{"host", func(o map[string]any) { o["host"] = "printer:161" }},
	},
	"snmptrap": {
		{"listen", func(o map[string]any) { o["listen"] = "162" }},
		{"known_sources[0]", func(o map[string]any) { o["known_sources"] = []any{"printer.example"} }},
		{"known_sources[0]", func(o map[string]any) { o["known_sources"] = []any{"192.0.2.0/33"} }},
		{"rules[0].source", func(o map[string]any) { rule(o)["source"] = "192.0.2.300" }},
		{"rules[0].trap_oid", func(o map[string]any) { rule(o)["trap_oid"] = "linkDown" }},
		{"rules[0].varbinds.ifIndex", func(o map[string]any) { rule(o)["varbinds"] = map[string]any{"ifIndex": "2"} }},
		{"rules[0].name", func(o map[string]any) { delete(rule(o), "name") }},
		{"users[0].auth_passphrase", func(o map[string]any) { user(o)["auth_passphrase"] = "kurz" }},
		{"users[0].priv_passphrase", func(o map[string]any) { user(o)["priv_passphrase"] = "kurz" }},
		{"users[0].priv_protocol", func(o map[string]any) { delete(user(o), "auth_protocol") }},
	},
	"website": {
		{"url", func(o map[string]any) { o["url"] = "https://user:pw@127.0.0.1/" }},
		{"url", func(o map[string]any) { o["url"] = "https://" }},
		{"url", func(o map[string]any) { o["url"] = "ftp://127.0.0.1/" }},
		{"ca_pem", func(o map[string]any) { o["ca_pem"] = "not a certificate" }},
		{"contains", func(o map[string]any) { o["method"], o["contains"] = "HEAD", "Willkommen" }},
		{"headers.Authorization", func(o map[string]any) { o["headers"] = map[string]any{"Authorization": "Bearer x"} }},
		{"headers.X-A", func(o map[string]any) { o["headers"] = map[string]any{"X-A": "b\r\nEvil: 1"} }},
	},
}

func product(o map[string]any) map[string]any { return o["products"].([]any)[0].(map[string]any) }
func oid(o map[string]any) map[string]any     { return o["oids"].([]any)[0].(map[string]any) }
func rule(o map[string]any) map[string]any    { return o["rules"].([]any)[0].(map[string]any) }
func user(o map[string]any) map[string]any    { return o["users"].([]any)[0].(map[string]any) }

// validExamples returns the valid parameter objects of a check: one per
// fitRules variant, together giving every declared key.
func validExamples(t *testing.T, n string) []map[string]any {
	spec, _ := check.Lookup(n)
	fits := fitRules[n]
	if fits == nil {
		fits = []func(map[string]any){func(map[string]any) {}}
	}
	var out []map[string]any
	for _, fit := range fits {
		o := validObject(spec.Params)
		fit(o)
		if n == "website" {
			o["ca_pem"] = testCA(t)
		}
		out = append(out, o)
	}
	return out
}

// clone deep-copies a parameter object through JSON.
func clone(t *testing.T, o map[string]any) map[string]any {
	var c map[string]any
	if err := json.Unmarshal(mustJSON(t, o), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDeclarationsRefuseWhatCollectorsRefuse checks the table of known
// refusals: the collector refuses each (so the entry is real) and the
// declaration refuses it with the field named.
func TestDeclarationsRefuseWhatCollectorsRefuse(t *testing.T) {
	for n, cases := range refusals {
		spec, ok := check.Lookup(n)
		if !ok {
			t.Fatalf("no check %s", n)
		}
		for _, c := range cases {
			o := clone(t, validExamples(t, n)[0])
			c.change(o)
			raw := mustJSON(t, o)
			if _, err := check.New(n, raw); err == nil {
				t.Errorf("%s %s: the collector accepts %s; the table is wrong", n, c.field, raw)
			}
			fs := spec.Validate(raw)
			if !slices.ContainsFunc(fs, func(f check.FieldError) bool { return f.Field == c.field }) {
				t.Errorf("%s: the declaration does not refuse %s at %s: %+v", n, raw, c.field, fs)
			}
		}
	}
}

// TestDeclarationsAcceptOnlyWhatCollectorsAccept searches for gaps
// systematically: every parameter of every check (and every pair of
// scalar parameters of one object) gets awkward values on top of a valid
// example; whatever the declaration accepts, the collector must accept.
func TestDeclarationsAcceptOnlyWhatCollectorsAccept(t *testing.T) {
	if testing.Short() {
		t.Skip("tries thousands of parameter sets")
	}
	for _, n := range check.Names() {
		spec, _ := check.Lookup(n)
		for _, base := range validExamples(t, n) {
			tried := 0
			for _, m := range mutations(spec.Params, base) {
				o := clone(t, base)
				m(o)
				raw := mustJSON(t, o)
				if len(spec.Validate(raw)) > 0 {
					continue
				}
				tried++
				// ErrNotConfigured is no refusal: backup without products
				// has nothing to detect on Linux and is left out there.
				if _, err := check.New(n, raw); err != nil && !errors.Is(err, check.ErrNotConfigured) {
					t.Errorf("%s: the declaration accepts what the collector refuses: %s: %v", n, raw, err)
				}
			}
			if tried == 0 {
				t.Errorf("%s: no mutation was valid", n)
			}
		}
	}
}

// mutation changes one parameter object in place.
type mutation func(o map[string]any)

// mutations lists changes of ps's values in o: each parameter alone, each
// pair of scalar parameters, and, inside lists and objects, the same for
// their first element.
func mutations(ps []check.Param, o map[string]any) []mutation {
	var out []mutation
	for _, p := range ps {
		for _, v := range awkward(p) {
			out = append(out, func(o map[string]any) { o[p.Name] = v })
		}
		out = append(out, func(o map[string]any) { delete(o, p.Name) })
		switch {
		case p.Type == check.Object:
			if sub, ok := o[p.Name].(map[string]any); ok {
				for _, m := range mutations(p.Fields, sub) {
					out = append(out, func(o map[string]any) { m(o[p.Name].(map[string]any)) })
				}
			}
		case p.Type == check.List && p.Items.Type == check.Object:
			if l, ok := o[p.Name].([]any); ok && len(l) > 0 {
				for _, m := range mutations(p.Items.Fields, l[0].(map[string]any)) {
					out = append(out, func(o map[string]any) { m(o[p.Name].([]any)[0].(map[string]any)) })
				}
			}
		}
	}
	for i, a := range ps {
		for _, b := range ps[i+1:] {
			if !scalar(a) || !scalar(b) {
				continue
			}
			for _, va := range awkward(a) {
				for _, vb := range awkward(b) {
					out = append(out, func(o map[string]any) { o[a.Name], o[b.Name] = va, vb })
				}
			}
		}
	}
	return out
}

func scalar(p check.Param) bool {
	return p.Type == check.Number || p.Type == check.Integer || p.Type == check.Duration || p.Type == check.Choice || p.Type == check.Boolean
}

// awkward lists values of p's type near its limits and the texts that
// collectors commonly refuse.
func awkward(p check.Param) []any {
	switch p.Type {
	case check.Number, check.Integer, check.Duration:
		vs := []any{0, 1, 5, 50, 100, -1}
		if p.Min != nil {
			vs = append(vs, *p.Min, *p.Min+0.5)
		}
		if p.Max != nil {
			vs = append(vs, *p.Max, *p.Max-1)
		}
		if p.Type == check.Duration {
			vs = append(vs, "0s", "1m", "90s")
		}
		return vs
	case check.Boolean:
		return []any{true, false}
	case check.Choice:
		vs := []any{""}
		for _, c := range p.Choices {
			vs = append(vs, c)
		}
		return vs
	case check.Text:
		return awkwardTexts
	case check.List:
		var vs []any
		for _, x := range awkward(*p.Items) {
			vs = append(vs, []any{x})
		}
		return append(vs, []any{})
	case check.Map:
		vs := []any{map[string]any{}}
		for _, k := range awkwardTexts {
			for _, x := range awkward(*p.Items) {
				vs = append(vs, map[string]any{fmt.Sprint(k): x})
			}
		}
		return vs
	}
	return nil
}

var awkwardTexts = []any{"", " ", "x", "-x", "a b", "a:b", "a@b", "[", "ftp://h/", "https://", "1.3", "3.1", "1.3.6.1",
	"192.0.2.1", "192.0.2.0/24", "::1", ":162", "12:30", "99:99", "mon", "Host", "X-A", "a\r\nb", strings.Repeat("x", 8), strings.Repeat("ü", 130)}
