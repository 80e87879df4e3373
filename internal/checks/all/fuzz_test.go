package all

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/wacht-rmm/wacht/internal/check"
)

// FuzzCheckParams feeds every registered check's parameter decoder (its
// factory and Init, through check.New) and what the server consults, its
// declaration's Validate and Privileged, the same bytes: none may panic,
// and parameters that are not a JSON object, null or absent are refused by
// all.
func FuzzCheckParams(f *testing.F) {
	for _, s := range []string{
		``, `null`, `{}`, `[]`, `1`, `"x"`, `{"warn":80,"fail":95}`, `{"warn":-1}`,
		`{"products":[{"type":"restic","repository":"/srv/r","binary":"/tmp/x.sh","password_file":"/etc/pw"}]}`,
		`{"products":[{"type":"generic","path":"/srv/dumps","max_age_hours":8}],"expected_days":["mon","di"]}`,
		`{"products":{"type":"acronis"}}`, `{"products":[null,1,"x",{"binary":["/x"]}]}`,
		`{"source":"files","files":["/etc/shadow"]}`, `{"files":"/etc/shadow"}`, `{"lookback":"2h","include":[{"unit":"ssh*"}]}`,
		`{"mode":"named","services":["cups"],"restart":true,"max_restarts_in_row":-1}`, `{"restart":"yes"}`,
		`{"devices":["/dev/sda","-s"],"wear_warn":80}`, `{"clamav_database":"/var/lib/clamav"}`,
		`{"host":"127.0.0.1","count":3,"interval_seconds":0.2}`, `{"url":"http://127.0.0.1:1/","expect_status":[200]}`,
		`{"host":"127.0.0.1","template":"interfaces","oids":[{"oid":"1.3.6.1.2.1.1.3.0","rate":true}]}`,
		`{"volumes":["/"],"warn_gb":1e308}`, `{"window":"10s"}`,
		`{"name":"*AnyDesk*","expect":"absent","publisher":"philandro*"}`, `{"name":"[","expect":"present"}`,
	} {
		f.Add([]byte(s))
	}
	names := check.Names()
	f.Fuzz(func(t *testing.T, b []byte) {
		raw := json.RawMessage(b)
		var v any
		err := json.Unmarshal(b, &v)
		if err != nil && json.Valid(b) {
			// A number beyond float64 ({"":1e700}): checks may take it,
			// Spec.Privileged refuses it (so the server refuses the
			// policy, failing closed); neither answer is wrong.
			t.Skip("valid JSON with a number beyond float64")
		}
		// Absent parameters (nothing, JSON whitespace) mean the defaults.
		object := len(bytes.Trim(b, " \t\r\n")) == 0 || err == nil && (v == nil || isObject(v))
		for _, n := range names {
			_, err := check.New(n, raw)
			if err == nil && !object {
				t.Errorf("%s accepted parameters that are not an object: %q", n, b)
			}
			spec, _ := check.Lookup(n)
			if fs := spec.Validate(raw); len(fs) == 0 && !object {
				t.Errorf("%s: the declaration accepted parameters that are not an object: %q", n, b)
			}
			if _, err := spec.Privileged(raw); err != nil && object {
				t.Errorf("%s: privileged parameters of an object: %v", n, err)
			}
		}
	})
}

func isObject(v any) bool { _, ok := v.(map[string]any); return ok }
