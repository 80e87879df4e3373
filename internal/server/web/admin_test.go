package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestDashboardClientFlows: move a device, tag it, then delete its client,
// which asks for confirmation first and then retires the device.
func TestDashboardClientFlows(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	dev := "/devices/" + strconv.FormatInt(f.device.ID, 10)
	client := "/clients/" + strconv.FormatInt(f.device.ClientID, 10)

	if r := b.do("POST", client+"/sites", url.Values{"csrf": {csrf}, "name": {"Homeoffice"}}); r.status != http.StatusSeeOther {
		t.Fatalf("new site: %d", r.status)
	}
	sites, _ := f.st.ListSites(ctx)
	var home core.Site
	for _, s := range sites {
		if s.Name == "Homeoffice" {
			home = s
		}
	}
	if p := b.do("GET", dev, nil); !strings.Contains(p.body, ">Müller GmbH / Homeoffice<") {
		t.Errorf("device page does not offer the new site")
	}
	r := b.do("POST", dev+"/edit", url.Values{"csrf": {csrf}, "site_id": {strconv.FormatInt(home.ID, 10)}, "role": {"notebook"}, "tags": {"VIP, buchhaltung"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("edit device: %d %s", r.status, r.body)
	}
	d, _ := f.st.GetDevice(ctx, f.device.ID)
	if d.SiteID != home.ID || d.Role != "notebook" || strings.Join(d.Tags, ",") != "buchhaltung,vip" {
		t.Errorf("device after edit: %+v", d)
	}
	if p := b.do("GET", client+"?tag=vip", nil); !strings.Contains(p.body, "pc-&lt;b&gt;01&lt;/b&gt;") {
		t.Errorf("tag filter on the client page lacks the device")
	}

	// Deleting the client asks first and changes nothing.
	// The question names the client and what goes with it.
	question := "Delete the client “Müller GmbH” with 2 sites and 1 device?"
	if p := b.do("GET", client, nil); !strings.Contains(p.body, question) || strings.Contains(p.body, `id="client-delete-confirm" open`) {
		t.Errorf("client page lacks the closed delete question %q", question)
	}
	p := b.do("POST", client+"/delete", url.Values{"csrf": {csrf}})
	if p.status != http.StatusConflict || !strings.Contains(p.body, `id="client-delete-confirm" open`) || !strings.Contains(p.body, question) ||
		!strings.Contains(p.body, `name="confirm" value="yes"`) {
		t.Fatalf("delete without confirm: %d\n%s", p.status, p.body)
	}
	if d, _ := f.st.GetDevice(ctx, f.device.ID); d.State != core.DeviceActive {
		t.Fatalf("unconfirmed delete retired the device")
	}
	r = b.do("POST", client+"/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("confirmed delete: %d", r.status)
	}
	if p := b.do("GET", r.header.Get("Location"), nil); !strings.Contains(p.body, "The client “Müller GmbH” was deleted.") {
		t.Errorf("no notice after deleting the client (at %s)", r.header.Get("Location"))
	}
	if d, _ := f.st.GetDevice(ctx, f.device.ID); d.State != core.DeviceRetired {
		t.Errorf("device state after delete: %q", d.State)
	}
	if p := b.do("GET", "/", nil); strings.Contains(p.body, "pc-&lt;b&gt;01") {
		t.Error("retired device still on the overview")
	}
	// A client without devices or sites is not deleted by one click either.
	empty := core.Client{Name: "Leer KG"}
	if err := f.st.CreateClient(ctx, &empty); err != nil {
		t.Fatal(err)
	}
	emptyPath := "/clients/" + strconv.FormatInt(empty.ID, 10)
	de := f.browser(t, "de")
	_, deCSRF := de.login("admin@example.com", testPassword)
	if p := de.do("POST", emptyPath+"/delete", url.Values{"csrf": {deCSRF}}); p.status != http.StatusConflict ||
		!strings.Contains(p.body, "Den Kunden „Leer KG“ mit 0 Standorten und 0 Geräten löschen?") {
		t.Errorf("unconfirmed delete of an empty client: %d", p.status)
	}
	if _, err := f.st.GetClient(ctx, empty.ID); err != nil {
		t.Errorf("an unconfirmed delete deleted the empty client: %v", err)
	}
	if len(auditOf(t, f, "client.delete")) != 1 || len(auditOf(t, f, "device.move")) != 1 {
		t.Error("client delete or device move not audited")
	}
}

func TestDashboardUserScope(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b := f.browser(t, "de")
	_, csrf := b.login("admin@example.com", testPassword)
	ro := f.users[core.RoleReadOnly]
	cid := strconv.FormatInt(f.device.ClientID, 10)
	if p := b.do("GET", "/users", nil); p.status != http.StatusOK || !strings.Contains(p.body, `id="user-`+strconv.FormatInt(ro.ID, 10)+`"`) {
		t.Fatalf("users page: %d", p.status)
	}
	r := b.do("POST", "/users/"+strconv.FormatInt(ro.ID, 10), url.Values{"csrf": {csrf}, "role": {"technician"}, "clients": {cid}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("set role: %d %s", r.status, r.body)
	}
	u, _ := f.st.GetUser(ctx, ro.ID)
	if u.Role != core.RoleTechnician || !u.Scope.Restricted || len(u.Scope.Clients) != 1 || u.Scope.Clients[0] != f.device.ClientID {
		t.Errorf("user after edit: %+v", u)
	}
	if p := b.do("GET", "/users", nil); !strings.Contains(p.body, `value="`+cid+`" checked`) {
		t.Error("users page does not show the scope")
	}
	// An administrator cannot demote themself.
	admin := f.users[core.RoleAdmin]
	if r := b.do("POST", "/users/"+strconv.FormatInt(admin.ID, 10), url.Values{"csrf": {csrf}, "role": {"readonly"}}); r.status != http.StatusConflict {
		t.Errorf("self-demotion: %d", r.status)
	}
}

func TestDashboardTokens(t *testing.T) {
	f := newFixture(t)
	b := f.browser(t, "en")
	_, csrf := b.login("readonly@example.com", testPassword)
	p := b.do("GET", "/account/tokens", nil)
	if p.status != http.StatusOK || strings.Contains(p.body, `<option value="admin">`) || !strings.Contains(p.body, `<option value="readonly">`) {
		t.Fatalf("tokens page: %d (a read-only user must be offered read-only only)", p.status)
	}
	p = b.do("POST", "/account/tokens", url.Values{"csrf": {csrf}, "name": {"ci"}, "role": {"readonly"}, "days": {"30"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="token-secret">wat_`) {
		t.Fatalf("create token: %d", p.status)
	}
	if r := b.do("POST", "/account/tokens", url.Values{"csrf": {csrf}, "name": {"x"}, "role": {"admin"}}); r.status != http.StatusForbidden {
		t.Errorf("read-only user minting an admin token: %d", r.status)
	}
	ts, _ := f.st.ListAPITokens(context.Background(), f.users[core.RoleReadOnly].ID)
	if len(ts) != 1 || ts[0].Role != core.RoleReadOnly || ts[0].ExpiresAt == nil {
		t.Fatalf("tokens: %+v", ts)
	}
	if r := b.do("POST", "/account/tokens/"+strconv.FormatInt(ts[0].ID, 10)+"/revoke", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); r.status != http.StatusSeeOther {
		t.Errorf("revoke: %d", r.status)
	}
	ts, _ = f.st.ListAPITokens(context.Background(), f.users[core.RoleReadOnly].ID)
	if ts[0].RevokedAt == nil {
		t.Error("token not revoked")
	}
}
