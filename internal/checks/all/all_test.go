package all

import (
	"errors"
	"reflect"
	"testing"

	"github.com/wacht-rmm/wacht/internal/check"
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
}
