package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/netdev"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/api"
)

func TestNetDevicesAPI(t *testing.T) {
	f := newFixture(t)
	box, err := seal.LoadKey(filepath.Join(t.TempDir(), seal.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Deps{Store: f.st, Commander: f.cmd, Secrets: box}))
	defer srv.Close()
	send := func(method, path, token, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+f.tokens[token])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
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
	var nd api.NetDevice
	json.Unmarshal([]byte(body), &nd)
	if nd.ProbeName != "pc-01" || len(nd.SecretsSet["toner"]) != 1 || nd.Checks[0].Name != "toner" {
		t.Errorf("created %+v", nd)
	}

	// Saving again without the community keeps it (write-only field).
	upd := fmt.Sprintf(`{"name":"Drucker 2. OG","address":"192.0.2.21","type":"printer","probe_id":%d,"checks":[
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
		{"bad params", fmt.Sprintf(`{"name":"x","type":"router","probe_id":%d,"checks":[{"name":"ping","type":"ping","params":{"count":-3}}]}`, f.device.ID), "checks[0].params"},
	} {
		code, body := send("POST", fmt.Sprintf("/api/v1/sites/%d/network-devices", site), "tech", tc.body)
		if code != http.StatusBadRequest || !strings.Contains(body, `"field": "`+tc.field) || !strings.Contains(body, `"de"`) {
			t.Errorf("%s: %d %s; want 400 naming %s", tc.name, code, body, tc.field)
		}
	}

	if code, _ := send("DELETE", fmt.Sprintf("/api/v1/network-devices/%d", nd.ID), "tech", ""); code != http.StatusNoContent {
		t.Errorf("retire: %d", code)
	}
	if code, _ := send("GET", fmt.Sprintf("/api/v1/network-devices/%d", nd.ID), "tech", ""); code != http.StatusNotFound {
		t.Errorf("retired device: %d, want 404", code)
	}
}
