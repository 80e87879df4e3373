package all

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checkspec"
)

func TestAllRegistered(t *testing.T) {
	want := []string{"antivirus", "backup", "cpu", "disk", "eventlog", "growth", "logins", "memory", "ping", "services", "smart", "snmp", "snmptrap", "website"}
	if got := check.Names(); !reflect.DeepEqual(got, want) {
		t.Errorf("registered %q, want %q", got, want)
	}
	for _, n := range want {
		if _, err := check.New(n, nil); err != nil && !errors.Is(err, check.ErrNotConfigured) {
			t.Errorf("%s with defaults: %v", n, err)
		}
	}
	// Every collector registers the declaration the server validates
	// with, and decodes into a struct that matches it key by key.
	if !reflect.DeepEqual(checkspec.Names(), want) {
		t.Errorf("declared %q, want %q", checkspec.Names(), want)
	}
	for _, n := range want {
		spec, _ := check.Lookup(n)
		if decl, _ := checkspec.Lookup(n); spec != decl {
			t.Errorf("%s registered another declaration than checkspec's", n)
		}
		_, err := check.New(n, json.RawMessage(`{}`))
		if err != nil && strings.Contains(err.Error(), "declaration differ") {
			t.Errorf("%s: %v", n, err)
		}
	}
}
