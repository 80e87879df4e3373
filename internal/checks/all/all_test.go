package all

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checkspec"
)

func TestAllRegistered(t *testing.T) {
	want := []string{"antivirus", "backup", "cpu", "disk", "eventlog", "growth", "logins", "memory", "ping", "program", "services", "smart", "snmp", "snmptrap", "website"}
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
	// The script check (issue 16) is declared for the server's policies;
	// the agent runs it with its script runner, not as a collector.
	declared := slices.DeleteFunc(checkspec.Names(), func(n string) bool { return n == "script" })
	if !reflect.DeepEqual(declared, want) {
		t.Errorf("declared %q, want %q", declared, want)
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
