package web

import (
	"testing"

	"github.com/wacht-rmm/wacht/internal/checkspec"
)

// TestCheckLabels makes sure the checks table never shows a technical check
// type where a technician expects a name.
func TestCheckLabels(t *testing.T) {
	names := checkspec.Names()
	if len(names) < 10 {
		t.Fatalf("only %d declared checks: %v", len(names), names)
	}
	for _, n := range names {
		for _, l := range []Lang{langOf(langEN), langOf(langDE)} {
			if _, ok := catalog[l.code]["check."+n]; !ok {
				t.Errorf("check %q has no %s display name", n, l.code)
			}
		}
	}
	if got := langOf(langDE).Check("antivirus"); got != "Virenschutz" {
		t.Errorf("German antivirus label: %q", got)
	}
}
