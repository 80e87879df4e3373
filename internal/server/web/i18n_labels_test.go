package web

import (
	"testing"

	"github.com/wacht-rmm/wacht/internal/check"
	_ "github.com/wacht-rmm/wacht/internal/checks/all"
)

// TestCheckLabels makes sure the checks table never shows a technical check
// type where a technician expects a name.
func TestCheckLabels(t *testing.T) {
	names := check.Names()
	if len(names) < 10 {
		t.Fatalf("only %d registered checks: %v", len(names), names)
	}
	for _, n := range names {
		for _, l := range []Lang{langEN, langDE} {
			if _, ok := catalog[string(l)]["check."+n]; !ok {
				t.Errorf("check %q has no %s display name", n, l)
			}
		}
	}
	if got := Lang(langDE).Check("antivirus"); got != "Virenschutz" {
		t.Errorf("German antivirus label: %q", got)
	}
}
