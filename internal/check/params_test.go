package check

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestDecodeParams(t *testing.T) {
	type params struct {
		Host string `json:"host"`
	}
	for _, raw := range []string{"", "null"} {
		p := params{Host: "default"}
		if err := DecodeParams(json.RawMessage(raw), &p); !errors.Is(err, ErrNotConfigured) || p.Host != "default" {
			t.Errorf("%q: %v, %+v; want ErrNotConfigured and the defaults kept", raw, err, p)
		}
	}
	var p params
	if err := DecodeParams(json.RawMessage(`{"host":"a","hots":"b"}`), &p); err == nil ||
		errors.Is(err, ErrNotConfigured) || !strings.Contains(err.Error(), `parsing parameters: json: unknown field "hots"`) {
		t.Errorf("unknown field: %v", err)
	}
	if err := DecodeParams(json.RawMessage(`{"host":"a"}`), &p); err != nil || p.Host != "a" {
		t.Errorf("valid: %v, %+v", err, p)
	}
}
