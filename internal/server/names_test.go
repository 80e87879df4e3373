package server

import (
	"context"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestCreateTokenRefusesBadNames: `wacht token create` checks --client and
// --site like the API does, and creates nothing for a refused name.
func TestCreateTokenRefusesBadNames(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	st.SetSetting(ctx, SettingServerURL, "https://localhost:8443")
	for _, o := range []TokenOptions{
		{Create: true, Client: "Evil\r\nGmbH", Site: "HQ"},
		{Create: true, Client: "Acme", Site: "HQ\n"}, // trimmed: fine below
		{Create: true, Client: strings.Repeat("x", 10000), Site: "HQ"},
		{Create: true, Client: "Acme", Site: "A\x1b[2JB"},
		{Create: true, Client: "Acme", Site: strings.Repeat("ü", 201)},
	} {
		_, _, err := CreateToken(ctx, st, o, protocol.Now())
		if o.Site == "HQ\n" {
			if err != nil {
				t.Errorf("client %.40q site %.40q: %v", o.Client, o.Site, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), "--") {
			t.Errorf("client %.40q site %.40q: %v", o.Client, o.Site, err)
		}
	}
	cs, _ := st.ListClients(ctx)
	ss, _ := st.ListSites(ctx)
	ts, _ := st.ListEnrollmentTokens(ctx)
	if len(cs) != 1 || cs[0].Name != "Acme" || len(ss) != 1 || ss[0].Name != "HQ" || len(ts) != 1 {
		t.Errorf("stored %d clients, %d sites, %d tokens", len(cs), len(ss), len(ts))
	}
}
