package web

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestSoftwarePages: a device's software page shows a package its policy
// wants with the agent's report and its status colour, the client's page
// the same under the device, linked from the device and client pages; in
// German too.
func TestSoftwarePages(t *testing.T) {
	f := newPackagesFixture(t, t.TempDir())
	ctx := context.Background()
	htop, _ := softwarePackages(t, f)
	pol := core.Policy{Name: "Werkzeuge", Software: []core.PolicySoftware{{PackageID: htop.ID, State: core.SoftwarePresent, MinVersion: "3.0"}}}
	if err := f.st.CreatePolicy(ctx, &pol); err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetAssignments(ctx, core.LevelDevice, f.device.ID, []int64{pol.ID}); err != nil {
		t.Fatal(err)
	}
	dev := "/devices/" + strconv.FormatInt(f.device.ID, 10)
	row := `id="software-` + strconv.FormatInt(f.device.ID, 10) + "-" + strconv.FormatInt(htop.ID, 10) + `" data-status="`
	b := f.browser(t, "en")
	b.login("admin@example.com", testPassword)
	if p := b.do("GET", dev, nil); !strings.Contains(p.body, `href="`+dev+`/software" id="device-software"`) {
		t.Errorf("the device page does not link its software")
	}
	p := b.do("GET", dev+"/software", nil)
	for _, want := range []string{row + `pending"`, "htop</a> 3", "installed ≥ 3.0", "Device: Werkzeuge", "the agent has not reported it yet"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("device software page before a report lacks %q:\n%s", want, p.body)
		}
	}
	if err := f.st.SaveResults(ctx, f.device.ID, []core.Result{{ID: core.NewResultID(), Check: core.SoftwareCheckName(htop.ID),
		Status: core.StatusFailure, At: time.Now().UTC(), Message: core.Text{EN: "htop is not installed: apt-get ended with exit code 100",
			DE: "htop ist nicht installiert: apt-get endete mit Exit-Code 100"}}}); err != nil {
		t.Fatal(err)
	}
	client := "/clients/" + strconv.FormatInt(f.device.ClientID, 10)
	if p := b.do("GET", client, nil); !strings.Contains(p.body, `href="`+client+`/software" id="client-software"`) {
		t.Errorf("the client page does not link its software")
	}
	p = b.do("GET", client+"/software", nil)
	for _, want := range []string{row + `failure"`, `class="badge st-failure"`, "apt-get ended with exit code 100", `href="` + dev + `/software"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("client software page lacks %q:\n%s", want, p.body)
		}
	}
	de := f.browser(t, "de")
	de.login("admin@example.com", testPassword)
	if p := de.do("GET", dev+"/software", nil); !strings.Contains(p.body, "installiert ≥ 3.0") || !strings.Contains(p.body, "Exit-Code 100") || !strings.Contains(p.body, "Letzte Verteilung") {
		t.Errorf("German software page: %s", p.body)
	}
}
