package check

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

var testSpec = &Spec{Name: "spectest", Params: []Param{
	{Name: "host", Type: Text, Required: true, MaxLen: 10},
	{Name: "ratio", Type: Number, Min: Limit(0), Max: Limit(1)},
	{Name: "count", Type: Integer, Min: Limit(1), Default: 4},
	{Name: "on", Type: Boolean},
	{Name: "every", Type: Duration, Min: Limit(1), Max: Limit(3600)},
	{Name: "mode", Type: Choice, Choices: []string{"auto", "named"}},
	{Name: "names", Type: List, MaxLen: 2, Items: &Param{Type: Text, MaxLen: 3}},
	{Name: "limit", Type: Object, Fields: []Param{{Name: "warn", Type: Number}, {Name: "fail", Type: Number}}},
	{Name: "headers", Type: Map, Items: &Param{Type: Text}},
}}

func TestSpecValidate(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want []string // "field: English message" prefixes
	}{
		{`{"host":"a"}`, nil},
		{`{"host":"a","ratio":0.5,"count":7,"on":true,"every":"90s","mode":"named","names":["x","yz"],"limit":{"warn":1},"headers":{"A":"b"}}`, nil},
		{`{"host":"a","every":60,"count":null}`, nil},
		{``, []string{"host: is required"}},
		{`null`, []string{"host: is required"}},
		{`{"host":" "}`, []string{"host: is required"}},
		{`[]`, []string{": must be a JSON object"}},
		{`{"host":"a"} x`, []string{": must be valid JSON"}},
		{`{"host":"a","address":"127.0.0.1"}`, []string{"address: unknown parameter; valid: count, every, headers, host, limit, mode, names, on, ratio"}},
		{`{"host":"a","limit":{"crit":1}}`, []string{"limit.crit: unknown parameter; valid: fail, warn"}},
		{`{"host":"abcdefghijk"}`, []string{"host: must be at most 10 characters"}},
		{`{"host":1}`, []string{"host: must be text"}},
		{`{"host":"a","ratio":"x"}`, []string{"ratio: must be a number"}},
		{`{"host":"a","ratio":1.5}`, []string{"ratio: must be between 0 and 1"}},
		{`{"host":"a","count":0}`, []string{"count: must be at least 1"}},
		{`{"host":"a","count":1.5}`, []string{"count: must be a whole number"}},
		{`{"host":"a","on":"yes"}`, []string{"on: must be true or false"}},
		{`{"host":"a","every":"soon"}`, []string{"every: must be a duration"}},
		{`{"host":"a","every":"2h"}`, []string{"every: must be between 1s and 3600s"}},
		{`{"host":"a","mode":"all"}`, []string{"mode: must be one of auto, named"}},
		{`{"host":"a","names":"x"}`, []string{"names: must be a list"}},
		{`{"host":"a","names":["a","b","c"]}`, []string{"names: must have at most 2 entries"}},
		{`{"host":"a","names":["abcd",null]}`, []string{"names[0]: must be at most 3 characters", "names[1]: must not be null"}},
		{`{"host":"a","limit":[]}`, []string{"limit: must be an object"}},
		{`{"host":"a","headers":{"A":1}}`, []string{"headers.A: must be text"}},
		{`{"ratio":2,"mode":1}`, []string{"ratio: must be between", "mode: must be one of", "host: is required"}},
	} {
		got := testSpec.Validate(json.RawMessage(tc.raw))
		if len(got) != len(tc.want) {
			t.Errorf("%s: %+v, want %q", tc.raw, got, tc.want)
			continue
		}
		for _, w := range tc.want {
			found := false
			for _, f := range got {
				found = found || strings.HasPrefix(f.Field+": "+f.Message.EN, w) && f.Message.DE != "" && f.Message.DE != f.Message.EN
			}
			if !found {
				t.Errorf("%s: %+v, want %q in English and German", tc.raw, got, w)
			}
		}
	}
}

func TestSpecRules(t *testing.T) {
	s := &Spec{Name: "rules", Params: []Param{
		{Name: "warn", Type: Number, Default: 80},
		{Name: "fail", Type: Number, Default: 95},
	}, Rules: []Rule{NotAbove("warn", "fail")}}
	for raw, bad := range map[string]bool{
		`{}`: false, `{"warn":90}`: false, `{"warn":96}`: true, `{"warn":50,"fail":40}`: true, `{"warn":50,"fail":0}`: false,
		`{"warn":"x"}`: true, // refused on its own; the rule does not run
	} {
		got := s.Validate(json.RawMessage(raw))
		if (len(got) > 0) != bad || len(got) > 1 {
			t.Errorf("%s: %+v, want refused %v", raw, got, bad)
		}
	}
}

func TestSpecDecode(t *testing.T) {
	s := &Spec{Name: "decode", Params: []Param{
		{Name: "host", Type: Text, Required: true},
		{Name: "limit", Type: Object, Fields: []Param{{Name: "warn", Type: Number}}},
	}}
	type limit struct {
		Warn float64 `json:"warn"`
	}
	type good struct {
		Host  string `json:"host"`
		Limit *limit `json:"limit"`
	}
	var p good
	if err := s.Decode(json.RawMessage(`{"host":"a","limit":{"warn":2}}`), &p); err != nil || p.Host != "a" || p.Limit.Warn != 2 {
		t.Errorf("good: %v %+v", err, p)
	}
	if err := s.Decode(nil, &p); !errors.Is(err, ErrNotConfigured) {
		t.Errorf("nil: %v", err)
	}
	var pe *ParamsError
	if err := s.Decode(json.RawMessage(`{"hots":"a"}`), &p); !errors.As(err, &pe) || len(pe.Fields) != 2 ||
		!strings.Contains(ErrorText(err).DE, "unbekannter Parameter") {
		t.Errorf("unknown field: %v", err)
	}
	type drifted struct {
		Host  int `json:"host"`
		Limit struct {
			Warn float64 `json:"warn"`
			Fail float64 `json:"fail"`
		} `json:"limit"`
		Port int `json:"port"`
	}
	var d drifted
	err := s.Decode(json.RawMessage(`{"host":"a"}`), &d)
	for _, w := range []string{"host is declared text but the struct has int", "limit.fail is in the struct but not declared", "port is in the struct but not declared"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("drifted struct: %v; want %q", err, w)
		}
	}
	type missing struct {
		Host string `json:"host"`
	}
	if got := StructMismatch(s, &missing{}); !reflect.DeepEqual(got, []string{"limit is declared but not in the struct"}) {
		t.Errorf("missing field: %q", got)
	}
}
