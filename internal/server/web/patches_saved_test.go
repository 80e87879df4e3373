package web

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestPatchPolicySaved: valid settings are stored and shown again, read
// only for a technician. Needs the store to keep Policy.Patch.
func TestPatchPolicySaved(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	p := b.do("POST", "/policies", patchPolicyForm(csrf))
	if p.status != http.StatusSeeOther {
		t.Fatalf("saving patch settings: %d %s", p.status, p.body)
	}
	pol := policyNamed(t, f, "Kanzlei-Patches")
	if pol.Patch == nil || pol.Patch.Reboot.Mode != "ask" || pol.Patch.Schedule.WindowMinutes != 90 || len(pol.Patch.AutoApprove) != 2 {
		t.Fatalf("stored patch settings: %+v", pol.Patch)
	}
	page := b.do("GET", "/policies/"+strconv.FormatInt(pol.ID, 10), nil)
	if !strings.Contains(page.body, `name="patch.window" value="90"`) || !strings.Contains(page.body, `name="patch.on" value="1" checked`) {
		t.Errorf("the edit page does not show the stored settings")
	}
}
