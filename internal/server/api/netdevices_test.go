package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/netdev"
	"github.com/wacht-rmm/wacht/internal/netguard"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/api/openapitest"
	"github.com/wacht-rmm/wacht/internal/service"
)

func TestNetDevicesAPI(t *testing.T) {
	f := newFixture(t)
	box := f.withSecrets(t)
	send := func(method, path, token, body string) (int, string) {
		return f.send(t, method, path, f.tokens[token], body, nil)
	}
	const secret = "Kennwort-Geheim-91"
	site := f.device.SiteID
	create := fmt.Sprintf(`{"name":"Drucker 1. OG","address":"192.0.2.20","type":"printer","probe_id":%d,"checks":[
		{"name":"toner","type":"snmp","params":{"template":"printer","community":%q}}]}`, f.device.ID, secret)

	if code, _ := send("POST", fmt.Sprintf("/api/v1/sites/%d/network-devices", site), "readonly", create); code != http.StatusForbidden {
		t.Errorf("read-only create: %d, want 403", code)
	}
	code, body := send("POST", fmt.Sprintf("/api/v1/sites/%d/network-devices", site), "tech", create)
	if code != http.StatusCreated || strings.Contains(body, secret) {
		t.Fatalf("create: %d %s (must not contain the secret)", code, body)
	}
	var nd service.NetDevice
	json.Unmarshal([]byte(body), &nd)
	if nd.ProbeName != "pc-01" || len(nd.SecretsSet["toner"]) != 1 || nd.Checks[0].Name != "toner" {
		t.Errorf("created %+v", nd)
	}

	// Saving again without the community keeps it (write-only field).
	upd := fmt.Sprintf(`{"name":"Drucker 2. OG","address":"192.0.2.20","type":"printer","probe_id":%d,"checks":[
		{"name":"toner","type":"snmp","params":{"template":"printer"}}]}`, f.device.ID)
	code, body = send("PUT", fmt.Sprintf("/api/v1/network-devices/%d", nd.ID), "tech", upd)
	if code != http.StatusOK || strings.Contains(body, secret) {
		t.Fatalf("update: %d %s", code, body)
	}
	stored, err := f.st.GetNetDevice(context.Background(), nd.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.Sealed, []byte(secret)) {
		t.Error("secret stored in plaintext")
	}
	sec, err := netdev.OpenSecrets(box, stored.Sealed)
	if err != nil || sec["toner"]["community"] != secret || stored.Name != "Drucker 2. OG" {
		t.Errorf("after update: name %q secrets %v %v", stored.Name, sec, err)
	}
	code, body = send("GET", fmt.Sprintf("/api/v1/sites/%d/network-devices", site), "readonly", "")
	if code != http.StatusOK || strings.Contains(body, secret) || !strings.Contains(body, "Drucker 2. OG") {
		t.Errorf("list: %d %s", code, body)
	}

	// Refusals name the field, in English and German.
	for _, tc := range []struct{ name, body, field string }{
		{"bad type", `{"name":"x","type":"toaster","checks":[]}`, "type"},
		{"server runs only websites", `{"name":"x","type":"router","address":"192.0.2.1","checks":[{"name":"ping","type":"ping"}]}`, "checks[0].type"},
		{"probe of another site", `{"name":"x","type":"router","probe_id":999999,"checks":[]}`, "probe_id"},
		{"bad params", fmt.Sprintf(`{"name":"x","type":"router","probe_id":%d,"checks":[{"name":"ping","type":"ping","params":{"count":-3}}]}`, f.device.ID), "checks[0].params.count"},
		{"unknown param", fmt.Sprintf(`{"name":"x","type":"router","address":"192.0.2.1","probe_id":%d,"checks":[{"name":"ping","type":"ping","params":{"adress":"192.0.2.1"}}]}`, f.device.ID), "checks[0].params.adress"},
	} {
		code, body := send("POST", fmt.Sprintf("/api/v1/sites/%d/network-devices", site), "tech", tc.body)
		if code != http.StatusBadRequest || !strings.Contains(body, `"field": "`+tc.field) || !strings.Contains(body, `"de"`) {
			t.Errorf("%s: %d %s; want 400 naming %s", tc.name, code, body, tc.field)
		}
		if params := strings.Contains(tc.field, ".params."); params != strings.Contains(body, `"error": "invalid check parameters"`) {
			t.Errorf("%s: %s; want the error \"invalid check parameters\" exactly for parameters", tc.name, body)
		}
	}

	// A device of another site and a missing one get the same answer: the
	// probe_id field is no oracle for device IDs (issue 12, L9).
	_, otherSite, err := f.st.EnsureClientSite(context.Background(), "Other GmbH", "Elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	foreign := enroll(t, f.st, otherSite, "foreign-pc", time.Now())
	answer := func(probe int64) string {
		code, body := send("POST", fmt.Sprintf("/api/v1/sites/%d/network-devices", site), "tech",
			fmt.Sprintf(`{"name":"x","type":"router","probe_id":%d,"checks":[]}`, probe))
		return fmt.Sprint(code, " ", body)
	}
	if a, b := answer(foreign.ID), answer(foreign.ID+1000); a != b {
		t.Errorf("foreign device answers %s\nmissing device answers %s", a, b)
	}

	if code, _ := send("DELETE", fmt.Sprintf("/api/v1/network-devices/%d", nd.ID), "tech", ""); code != http.StatusNoContent {
		t.Errorf("retire: %d", code)
	}
	if code, _ := send("GET", fmt.Sprintf("/api/v1/network-devices/%d", nd.ID), "tech", ""); code != http.StatusNotFound {
		t.Errorf("retired device: %d, want 404", code)
	}
}

// A technician who changes only the URL of a website check with a stored
// password, or the address, host, port or type of an SNMP check with a
// stored community, does not get the stored secret sent to the new target:
// the change is refused, naming the secret to send again in both
// languages, and the server's run of the check still goes to the old URL.
func TestNetDeviceSecretsStayWithTheirTarget(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	box := f.withSecrets(t)
	send := func(method, path, body string) (int, string) {
		return f.send(t, method, path, f.tokens["tech"], body, nil)
	}
	const password = "Shop-Kennwort-77"
	var shopGot, newGot []string // basic-auth passwords each site received
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pw, _ := r.BasicAuth()
		shopGot = append(shopGot, pw)
	}))
	defer shop.Close()
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pw, _ := r.BasicAuth()
		newGot = append(newGot, pw)
	}))
	defer other.Close()
	website := func(url, password string) string {
		pw := ""
		if password != "" {
			pw = fmt.Sprintf(`,"password":%q`, password)
		}
		return fmt.Sprintf(`{"name":"Shop","type":"website","checks":[{"name":"shop","type":"website","params":{"url":%q,"username":"shop"%s}}]}`, url, pw)
	}
	// The test sites are on loopback, which server-run checks reach only
	// when allowed.
	if err := f.st.SetSetting(ctx, netguard.SettingAllow, "127.0.0.1/32"); err != nil {
		t.Fatal(err)
	}
	code, body := send("POST", fmt.Sprintf("/api/v1/sites/%d/network-devices", f.device.SiteID), website(shop.URL+"/", password))
	if code != http.StatusCreated {
		t.Fatalf("create: %d %s", code, body)
	}
	var nd service.NetDevice
	json.Unmarshal([]byte(body), &nd)
	path := fmt.Sprintf("/api/v1/network-devices/%d", nd.ID)

	// The same URL without the password keeps it; another URL without it
	// is refused.
	if code, body := send("PUT", path, website(shop.URL+"/", "")); code != http.StatusOK {
		t.Fatalf("saving unchanged without the password: %d %s", code, body)
	}
	code, body = send("PUT", path, website(other.URL+"/", ""))
	if code != http.StatusBadRequest || !strings.Contains(body, `"field": "checks[0].params.password"`) ||
		!strings.Contains(body, "the URL changed: send password again") || !strings.Contains(body, "die URL wurde geändert") {
		t.Errorf("URL changed without the password: %d %s; want 400 naming checks[0].params.password", code, body)
	}
	// The server runs the check: the password goes to the shop only.
	runner := &netdev.ServerRunner{Policy: netdev.ProbePolicy{Store: f.st, Box: box}, Store: f.st, Settings: f.st}
	if err := runner.RunDue(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	if len(newGot) != 0 || len(shopGot) != 1 || shopGot[0] != password {
		t.Errorf("passwords received: new URL %q, shop %q; want none and the stored one", newGot, shopGot)
	}
	// With the password sent again, the new URL is saved with it.
	if code, body := send("PUT", path, website(other.URL+"/", "Neues-Kennwort-1")); code != http.StatusOK {
		t.Fatalf("URL changed with a password: %d %s", code, body)
	}
	stored, err := f.st.GetNetDevice(ctx, nd.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sec, err := netdev.OpenSecrets(box, stored.Sealed); err != nil || sec["shop"]["password"] != "Neues-Kennwort-1" {
		t.Errorf("stored secrets after the change: %v %v", sec, err)
	}

	// SNMP: the device's address is the check's host; changing it or the
	// host or port parameter needs the community again; a new check type
	// drops it.
	snmp := func(address, typ, params string) string {
		return fmt.Sprintf(`{"name":"Drucker","address":%q,"type":"printer","probe_id":%d,"checks":[{"name":"toner","type":%q,"params":%s}]}`,
			address, f.device.ID, typ, params)
	}
	code, body = send("POST", fmt.Sprintf("/api/v1/sites/%d/network-devices", f.device.SiteID),
		snmp("192.0.2.20", "snmp", `{"template":"printer","community":"c0mmunity-geheim"}`))
	if code != http.StatusCreated {
		t.Fatalf("create printer: %d %s", code, body)
	}
	json.Unmarshal([]byte(body), &nd)
	path = fmt.Sprintf("/api/v1/network-devices/%d", nd.ID)
	for _, tc := range []struct{ name, body, what string }{
		{"address", snmp("192.0.2.99", "snmp", `{"template":"printer"}`), "the host changed"},
		{"host", snmp("192.0.2.20", "snmp", `{"template":"printer","host":"198.51.100.7"}`), "the host changed"},
		{"port", snmp("192.0.2.20", "snmp", `{"template":"printer","port":1161}`), "the host changed"},
	} {
		code, body := send("PUT", path, tc.body)
		if code != http.StatusBadRequest || !strings.Contains(body, `"field": "checks[0].params.community"`) || !strings.Contains(body, tc.what) {
			t.Errorf("%s changed without the community: %d %s", tc.name, code, body)
		}
	}
	if code, body := send("PUT", path, snmp("192.0.2.99", "snmp", `{"template":"printer","community":"c0mmunity-neu"}`)); code != http.StatusOK {
		t.Errorf("address changed with the community: %d %s", code, body)
	}
	if code, body := send("PUT", path, snmp("192.0.2.99", "ping", `{}`)); code != http.StatusOK {
		t.Errorf("type changed: %d %s", code, body)
	}
	stored, err = f.st.GetNetDevice(ctx, nd.ID)
	if err != nil {
		t.Fatal(err)
	}
	if sec, err := netdev.OpenSecrets(box, stored.Sealed); err != nil || len(sec["toner"]) != 0 {
		t.Errorf("secrets kept after the check's type changed: %v %v", sec, err)
	}
}

// A server-run website check whose URL names a refused address is refused
// when saved, naming the URL in both languages; an allowed range opens it,
// but never the server's own loopback; a probe's website check is not
// restricted.
func TestServerRunWebsiteURLRefused(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	create := func(probe int64, url string) (int, string) {
		t.Helper()
		body := fmt.Sprintf(`{"name":"Intern","type":"website","probe_id":%d,"checks":[{"name":"web","type":"website","params":{"url":%q}}]}`, probe, url)
		return f.send(t, "POST", fmt.Sprintf("/api/v1/sites/%d/network-devices", f.device.SiteID), f.tokens["tech"], body, nil)
	}
	refused := []string{"http://127.0.0.1:8443/api/v1/users", "http://localhost:5432/", "http://10.0.0.5/",
		"http://[::ffff:192.168.0.1]/", "http://169.254.169.254/latest/meta-data/", "http://[fd00::1]/"}
	for _, u := range refused {
		code, body := create(0, u)
		if code != http.StatusBadRequest || !strings.Contains(body, `"field": "checks[0].params.url"`) ||
			!strings.Contains(body, "refused: it is") || !strings.Contains(body, "verweigert") {
			t.Errorf("server-run check of %s: %d %s; want 400 naming checks[0].params.url", u, code, body)
		}
	}
	if code, body := create(f.device.ID, "http://10.0.0.5/"); code != http.StatusCreated {
		t.Errorf("a probe's check of a private address: %d %s", code, body)
	}
	if err := f.st.SetSetting(ctx, netguard.SettingAllow, "10.0.0.0/8,127.0.0.0/8"); err != nil {
		t.Fatal(err)
	}
	if code, body := create(0, "http://10.0.0.5/"); code != http.StatusCreated {
		t.Errorf("an allowed range: %d %s", code, body)
	}
	if code, body := create(0, "http://127.0.0.1:8443/"); code != http.StatusBadRequest || !strings.Contains(body, "own address") {
		t.Errorf("the server's own loopback under a wide allowed range: %d %s", code, body)
	}
}

// withSecrets serves the fixture's API with a secret key, as network
// devices need, and returns the key.
func (f *fixture) withSecrets(t *testing.T) *seal.Box {
	t.Helper()
	box, err := seal.LoadKey(filepath.Join(t.TempDir(), seal.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	f.srv = httptest.NewServer(openapitest.Handler(t, api.New(service.New(service.Deps{Store: f.st, Commander: f.cmd, Secrets: box}), nil)))
	t.Cleanup(f.srv.Close)
	return box
}
