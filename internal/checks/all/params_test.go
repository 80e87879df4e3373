package all

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
)

// validValue is a value the declaration accepts for p: its default, else
// one within its limits.
func validValue(p check.Param) any {
	if p.Default != nil {
		return p.Default
	}
	switch p.Type {
	case check.Text:
		return "x"
	case check.Number, check.Integer:
		if p.Min != nil {
			return *p.Min + 1
		}
		return 1
	case check.Duration:
		if p.Min != nil && *p.Min > 60 {
			return *p.Min
		}
		return "60s"
	case check.Boolean:
		return true
	case check.Choice:
		return p.Choices[0]
	case check.List:
		return []any{validValue(*p.Items)}
	case check.Object:
		return validObject(p.Fields)
	case check.Map:
		return map[string]any{"k": validValue(*p.Items)}
	}
	panic("unknown type " + p.Type)
}

func validObject(ps []check.Param) map[string]any {
	o := map[string]any{}
	for _, p := range ps {
		o[p.Name] = validValue(p)
	}
	return o
}

// fitRules set the values the cross-field rules of a check need (a host
// that is a host, a URL, a product's repository) over validObject's; a
// check whose keys exclude each other (snmp's community and v3 settings)
// has several variants that together give every key.
var fitRules = map[string][]func(o map[string]any){
	"ping": {func(o map[string]any) {
		o["host"], o["rtt_ms"] = "127.0.0.1", map[string]any{"warn": 100, "fail": 200}
	}},
	"snmp": {func(o map[string]any) {
		o["host"], o["version"], o["auth_passphrase"], o["priv_passphrase"] = "127.0.0.1", "3", "geheim-123", "geheim-456"
		o["oids"].([]any)[0].(map[string]any)["oid"] = "1.3.6.1.2.1.1.3.0"
		delete(o, "community")
	}, func(o map[string]any) {
		o["host"], o["version"], o["community"] = "127.0.0.1", "2c", "public"
		o["oids"].([]any)[0].(map[string]any)["oid"] = "1.3.6.1.2.1.1.3.0"
		for _, k := range []string{"user", "auth_protocol", "auth_passphrase", "priv_protocol", "priv_passphrase", "context"} {
			delete(o, k)
		}
	}},
	"snmptrap": {func(o map[string]any) {
		o["known_sources"] = []any{"192.0.2.0/24"}
		rule := o["rules"].([]any)[0].(map[string]any)
		rule["source"], rule["trap_oid"] = "192.0.2.1", "1.3.6.1.6.3.1.1.5.3"
		rule["varbinds"] = map[string]any{"1.3.6.1.2.1.2.2.1.1": "2"}
		user := o["users"].([]any)[0].(map[string]any)
		user["auth_passphrase"], user["priv_passphrase"] = "geheim-123", "geheim-456"
	}},
	"website": {func(o map[string]any) {
		o["url"], o["response_ms"] = "https://127.0.0.1/", map[string]any{"warn": 100, "fail": 200}
	}},
	"backup": {func(o map[string]any) {
		p := o["products"].([]any)[0].(map[string]any)
		p["type"], p["repository"], p["password_file"], p["binary"] = "restic", "/srv/restic", "/etc/restic.pw", "restic"
		p["expected_days"], o["expected_days"] = []any{"mon"}, []any{"mon"}
	}},
}

// TestDecodersRefuseUndeclaredKeys feeds every registered collector's
// factory a params object with every declared key and one that is not
// declared, expecting a refusal that names the key; without it, the same
// object must be accepted. A collector that decoded with a struct of its
// own, not through its declaration, fails here.
func TestDecodersRefuseUndeclaredKeys(t *testing.T) {
	for _, n := range check.Names() {
		spec, _ := check.Lookup(n)
		fits := fitRules[n]
		if fits == nil {
			fits = []func(map[string]any){func(map[string]any) {}}
		}
		given := map[string]bool{}
		for _, fit := range fits {
			obj := validObject(spec.Params)
			fit(obj)
			if n == "website" {
				obj["ca_pem"] = testCA(t)
			}
			if fs := spec.Validate(mustJSON(t, obj)); len(fs) > 0 {
				t.Errorf("%s: the test's parameters are refused by the declaration: %+v", n, fs)
				continue
			}
			if _, err := check.New(n, mustJSON(t, obj)); err != nil {
				t.Errorf("%s refused declared keys (%s): %v", n, strings.Join(slices.Sorted(maps.Keys(obj)), ", "), err)
			}
			for k := range obj {
				given[k] = true
			}
			obj["undeclared_key"] = 1
			_, err := check.New(n, mustJSON(t, obj))
			var pe *check.ParamsError
			if !errors.As(err, &pe) || !slices.ContainsFunc(pe.Fields, func(f check.FieldError) bool { return f.Field == "undeclared_key" }) {
				t.Errorf("%s accepted an undeclared key: %v", n, err)
			}
		}
		for _, p := range spec.Params {
			if !given[p.Name] {
				t.Errorf("%s: the test never gave the declared key %s", n, p.Name)
			}
		}
	}
}

func testCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func mustJSON(t *testing.T, v any) json.RawMessage {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
