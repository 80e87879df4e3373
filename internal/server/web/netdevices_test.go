package web

import (
	"context"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/netdev"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

const testCommunity = "geheim-Community-42"

// newNetFixture is newFixture with a secret key, so network devices with
// secrets can be saved; the seeded agent "sonde-01" is the probe.
func newNetFixture(t *testing.T) (*fixture, *seal.Box) {
	t.Helper()
	st := storetest.NewSQLite(t)
	f := &fixture{st: st, cmd: &fakeCommander{}}
	f.device, f.users = seed(t, st, "sonde-01")
	box, err := seal.NewBox([]byte(rand.Text() + rand.Text())[:32])
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Deps{Store: st, Service: service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Commander: f.cmd, Secrets: box})})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewTLSServer(h)
	t.Cleanup(f.srv.Close)
	return f, box
}

// netForm is the add form for a printer with one snmp check.
func netForm(csrf, probe, community string) url.Values {
	return url.Values{"csrf": {csrf}, "name": {"Drucker-Flur"}, "address": {"192.0.2.40"}, "type": {"printer"},
		"probe_id": {probe}, "rows": {"2"},
		"c0.name": {"toner"}, "c0.type": {"snmp"}, "c0.class": {"24x7"}, "c0.every": {"10"},
		"c0.params": {`{"version": "2c", "community": "` + community + `", "template": "printer"}`},
		"c1.name":   {""}, "c1.type": {""}, "c1.class": {"24x7"}}
}

func onlyNetDevice(t *testing.T, f *fixture) core.NetDevice {
	t.Helper()
	ds, err := f.st.ListNetDevices(context.Background(), f.device.SiteID)
	if err != nil || len(ds) != 1 {
		t.Fatalf("network devices of the site: %v, %v", ds, err)
	}
	return ds[0]
}

// TestNetDeviceForm adds a network device through the site's form, then
// edits it: the secret is stored sealed, never shown, and kept when left
// out; the device page shows address, type and probe instead of agent
// actions; the overview names the probe.
func TestNetDeviceForm(t *testing.T) {
	f, box := newNetFixture(t)
	ctx := context.Background()
	site := strconv.FormatInt(f.device.SiteID, 10)
	probe := strconv.FormatInt(f.device.ID, 10)
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)

	cp := b.do("GET", "/clients/"+strconv.FormatInt(f.device.ClientID, 10), nil)
	if !strings.Contains(cp.body, `href="/sites/`+site+`/network-devices/new"`) {
		t.Fatalf("client page has no add link for the site:\n%s", cp.body)
	}
	np := b.do("GET", "/sites/"+site+"/network-devices/new", nil)
	if np.status != http.StatusOK || !strings.Contains(np.body, `<option value="`+probe+`">sonde-01</option>`) ||
		!strings.Contains(np.body, "server (website checks only)") || !strings.Contains(np.body, ">Printer</option>") {
		t.Fatalf("add form: %d\n%s", np.status, np.body)
	}

	p := b.do("POST", "/sites/"+site+"/network-devices", netForm(csrf, probe, testCommunity))
	if p.status != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", p.status, p.body)
	}
	nd := onlyNetDevice(t, f)
	if nd.Name != "Drucker-Flur" || nd.Address != "192.0.2.40" || nd.Type != "printer" || nd.ProbeID != f.device.ID ||
		len(nd.Checks) != 1 || nd.Checks[0].Schedule.EveryMinutes != 10 {
		t.Fatalf("stored: %+v", nd)
	}
	if strings.Contains(string(nd.Checks[0].Params), testCommunity) || strings.Contains(string(nd.Sealed), testCommunity) {
		t.Fatal("the community is stored in the clear")
	}
	sec, err := netdev.OpenSecrets(box, nd.Sealed)
	if err != nil || sec["toner"]["community"] != testCommunity {
		t.Fatalf("sealed secrets: %v, %v", sec, err)
	}
	id := strconv.FormatInt(nd.ID, 10)
	if loc := p.header.Get("Location"); loc != "/devices/"+id {
		t.Errorf("create redirects to %q", loc)
	}

	dp := b.do("GET", "/devices/"+id, nil)
	for _, want := range []string{"192.0.2.40", `id="netdev-type">Printer`, ">sonde-01</a>", "Runs on probe sonde-01", `href="/network-devices/` + id + `/edit"`} {
		if !strings.Contains(dp.body, want) {
			t.Errorf("device page lacks %q", want)
		}
	}
	for _, agentOnly := range []string{`id="run-checks"`, `id="device-policies"`, `id="effective-set"`, `/devices/` + id + `/edit"`} {
		if strings.Contains(dp.body, agentOnly) {
			t.Errorf("network device page shows the agent-only %s", agentOnly)
		}
	}

	ep := b.do("GET", "/network-devices/"+id+"/edit", nil)
	if ep.status != http.StatusOK || strings.Contains(ep.body, testCommunity) {
		t.Fatalf("edit form: %d, echoes the secret: %v", ep.status, strings.Contains(ep.body, testCommunity))
	}
	if !strings.Contains(ep.body, `name="c0.p.community" autocomplete="new-password" placeholder="set — leave empty to keep"`) ||
		!strings.Contains(ep.body, `name="c0.p.auth_passphrase" autocomplete="new-password" placeholder=""`) {
		t.Errorf("edit form does not say which secrets are set:\n%s", ep.body)
	}

	// Edit without the community: renamed, the stored secret stays.
	form := netForm(csrf, probe, "")
	form.Set("name", "Drucker-OG")
	form.Set("c0.params", `{"version": "2c", "template": "printer"}`)
	if p := b.do("POST", "/network-devices/"+id, form); p.status != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", p.status, p.body)
	}
	nd = onlyNetDevice(t, f)
	if sec, err := netdev.OpenSecrets(box, nd.Sealed); nd.Name != "Drucker-OG" || err != nil || sec["toner"]["community"] != testCommunity {
		t.Errorf("after edit: %q, secrets %v, %v", nd.Name, sec, err)
	}

	// A new address (the check's host) without the community is refused,
	// naming it; the stored device stays as it was.
	form.Set("address", "198.51.100.9")
	if p := b.do("POST", "/network-devices/"+id, form); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, "the host changed: send community again") || strings.Contains(p.body, testCommunity) {
		t.Errorf("new address without the community: %d\n%s", p.status, p.body)
	}
	if nd := onlyNetDevice(t, f); nd.Address != "192.0.2.40" {
		t.Errorf("the refused edit changed the address to %s", nd.Address)
	}

	ov := b.do("GET", "/", nil)
	i := strings.Index(ov.body, "Drucker-OG")
	if i < 0 || !strings.Contains(ov.body[i:min(len(ov.body), i+400)], "via sonde-01") {
		t.Errorf("overview does not show the probe next to the network device")
	}
	de := f.browser(t, "de")
	de.login("admin@example.com", testPassword)
	ov = de.do("GET", "/", nil)
	if i := strings.Index(ov.body, "Drucker-OG"); i < 0 || !strings.Contains(ov.body[i:min(len(ov.body), i+400)], "über sonde-01") {
		t.Errorf("German overview does not show „über sonde-01“")
	}
	if dp := de.do("GET", "/devices/"+id, nil); !strings.Contains(dp.body, "Läuft auf Prüf-Agent sonde-01") || !strings.Contains(dp.body, "Drucker") {
		t.Errorf("German device page lacks probe or type")
	}

	// Retire: gone from the store's list, the history stays.
	if p := b.do("POST", "/network-devices/"+id+"/retire", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther {
		t.Fatalf("retire: %d", p.status)
	}
	if ds, err := f.st.ListNetDevices(ctx, f.device.SiteID); err != nil || len(ds) != 0 {
		t.Errorf("after retire: %v, %v", ds, err)
	}
}

// TestNetDeviceValidation: errors name the field in the user's language,
// the form keeps what was typed but never the secret, nothing is stored.
func TestNetDeviceValidation(t *testing.T) {
	f, _ := newNetFixture(t)
	site := strconv.FormatInt(f.device.SiteID, 10)
	for lang, want := range map[string][]string{
		"en": {"Name: is required", "Address: must be a host name or IP address", "the server runs only website checks"},
		"de": {"Name: ist erforderlich", "Adresse: muss ein Hostname oder eine IP-Adresse sein", "der Server führt nur Website-Prüfungen aus"},
	} {
		b := f.browser(t, lang)
		_, csrf := b.login("admin@example.com", testPassword)
		form := netForm(csrf, "0", testCommunity) // snmp without a probe
		form.Set("name", "")
		form.Set("address", "192.0.2.40/24")
		p := b.do("POST", "/sites/"+site+"/network-devices", form)
		if p.status != http.StatusBadRequest {
			t.Fatalf("%s: invalid form answered %d", lang, p.status)
		}
		for _, w := range want {
			if !strings.Contains(p.body, w) {
				t.Errorf("%s: the form lacks %q:\n%s", lang, w, p.body)
			}
		}
		if !strings.Contains(p.body, `id="row-0-error"`) || !strings.Contains(p.body, `value="192.0.2.40/24"`) {
			t.Errorf("%s: row error or typed address missing", lang)
		}
		if strings.Contains(p.body, testCommunity) {
			t.Errorf("%s: the re-rendered form echoes the secret", lang)
		}
	}
	if ds, err := f.st.ListNetDevices(context.Background(), f.device.SiteID); err != nil || len(ds) != 0 {
		t.Errorf("invalid forms stored %v, %v", ds, err)
	}
}

// TestNetDeviceAccess: read-only users may not add, edit or retire (403),
// users of another client do not find the site or device (404).
func TestNetDeviceAccess(t *testing.T) {
	f, _ := newNetFixture(t)
	ctx := context.Background()
	nd := core.NetDevice{SiteID: f.device.SiteID, Name: "Switch-Keller", Address: "192.0.2.2", Type: "switch", ProbeID: f.device.ID}
	if err := f.st.CreateNetDevice(ctx, &nd); err != nil {
		t.Fatal(err)
	}
	site := strconv.FormatInt(f.device.SiteID, 10)
	id := strconv.FormatInt(nd.ID, 10)

	ro := f.browser(t, "en")
	_, csrf := ro.login("readonly@example.com", testPassword)
	if p := ro.do("GET", "/devices/"+id, nil); p.status != http.StatusOK || strings.Contains(p.body, `id="netdev-edit"`) {
		t.Errorf("read-only device page: %d, offers edit: %v", p.status, strings.Contains(p.body, `id="netdev-edit"`))
	}
	for _, path := range []string{"/sites/" + site + "/network-devices", "/network-devices/" + id, "/network-devices/" + id + "/retire"} {
		if p := ro.do("POST", path, netForm(csrf, "0", "x")); p.status != http.StatusForbidden {
			t.Errorf("read-only POST %s: %d, want 403", path, p.status)
		}
	}

	other, _, err := f.st.EnsureClientSite(ctx, "Fremde AG", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	h, err := authtest.Cost.Hash(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	tech := core.User{Email: "tech@example.com", PasswordHash: h, Role: core.RoleTechnician}
	if err := f.st.CreateUser(ctx, &tech); err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetUserRole(ctx, tech.ID, core.RoleTechnician, core.Only(other.ID)); err != nil {
		t.Fatal(err)
	}
	fb := f.browser(t, "en")
	_, csrf = fb.login("tech@example.com", testPassword)
	for _, r := range []struct{ method, path string }{
		{"GET", "/sites/" + site + "/network-devices/new"},
		{"GET", "/network-devices/" + id + "/edit"},
		{"POST", "/sites/" + site + "/network-devices"},
		{"POST", "/network-devices/" + id},
		{"POST", "/network-devices/" + id + "/retire"},
	} {
		var form url.Values
		if r.method == "POST" {
			form = netForm(csrf, "0", "x")
		}
		if p := fb.do(r.method, r.path, form); p.status != http.StatusNotFound || strings.Contains(p.body, "Switch-Keller") {
			t.Errorf("foreign %s %s: %d, want 404", r.method, r.path, p.status)
		}
	}
	if got, err := f.st.GetNetDevice(ctx, nd.ID); err != nil || got.Name != "Switch-Keller" {
		t.Errorf("after denied requests: %+v, %v", got, err)
	}
	if ds, _ := f.st.ListNetDevices(ctx, f.device.SiteID); len(ds) != 1 {
		t.Errorf("denied requests changed the site's network devices: %d", len(ds))
	}
}

// TestNetDevicePrivilegedParameters: a technician who may edit network
// devices gets 403 and the form back, the row naming the privileged
// parameter in the user's language, when a check would start a program,
// read a file or restart services (issue 12, H3); nothing is stored.
func TestNetDevicePrivilegedParameters(t *testing.T) {
	f, _ := newNetFixture(t)
	ctx := context.Background()
	h, err := authtest.Cost.Hash(testPassword)
	if err != nil {
		t.Fatal(err)
	}
	tech := core.User{Email: "tech@example.com", PasswordHash: h, Role: core.RoleTechnician}
	if err := f.st.CreateUser(ctx, &tech); err != nil {
		t.Fatal(err)
	}
	site := strconv.FormatInt(f.device.SiteID, 10)
	for lang, want := range map[string]string{
		"en": "only an administrator may set or change the parameter restart of a services check",
		"de": "nur ein Administrator darf den Parameter restart einer Prüfung vom Typ services setzen oder ändern",
	} {
		b := f.browser(t, lang)
		_, csrf := b.login("tech@example.com", testPassword)
		form := netForm(csrf, strconv.FormatInt(f.device.ID, 10), testCommunity)
		form.Set("c0.name", "dienste")
		form.Set("c0.type", "services")
		form.Set("c0.params", `{"restart": true}`)
		p := b.do("POST", "/sites/"+site+"/network-devices", form)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, want) || !strings.Contains(p.body, `id="f-c0-p-restart-error"`) {
			t.Errorf("%s: %d, want 403 with the error beside the parameter:\n%s", lang, p.status, p.body)
		}
	}
	if ds, err := f.st.ListNetDevices(ctx, f.device.SiteID); err != nil || len(ds) != 0 {
		t.Errorf("refused forms stored %v, %v", ds, err)
	}
}
