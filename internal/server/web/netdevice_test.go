package web

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// A network device is listed in the overview like other devices, labelled
// as a network device in the dashboard's language.
func TestOverviewShowsNetworkDevice(t *testing.T) {
	f := newFixture(t)
	nd := core.NetDevice{SiteID: f.device.SiteID, Name: "Drucker-Flur", Address: "192.0.2.40", Type: "printer", ProbeID: f.device.ID}
	if err := f.st.CreateNetDevice(context.Background(), &nd); err != nil {
		t.Fatal(err)
	}
	for lang, label := range map[string]string{"de": "Netzwerkgerät", "en": "Network device"} {
		b := f.browser(t, lang)
		b.login("admin@example.com", testPassword)
		p := b.do("GET", "/", nil)
		if p.status != http.StatusOK {
			t.Fatalf("%s overview: %d", lang, p.status)
		}
		i := strings.Index(p.body, "Drucker-Flur")
		if i < 0 {
			t.Fatalf("%s overview does not list the network device", lang)
		}
		if !strings.Contains(p.body[i:min(len(p.body), i+400)], label) {
			t.Errorf("%s overview row of the network device lacks %q", lang, label)
		}
	}
}
