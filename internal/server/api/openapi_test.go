package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/api/openapitest"
)

// unpublished are API routes deliberately left out of the spec, with why.
var unpublished = map[string]string{
	"/api/v1/": "catch-all answering 404 for unknown API routes, not an operation",
}

// TestOpenAPIMatchesRoutes fails on an API route missing from the spec and on
// a spec operation without a route, so that the spec cannot fall behind.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := openapitest.Spec(t)
	var inSpec []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			inSpec = append(inSpec, method+" "+path)
		}
	}
	var routed []string
	for _, r := range api.Routes() {
		method, path, ok := strings.Cut(r.Pattern, " ")
		if !ok {
			if _, skip := unpublished[r.Pattern]; !skip {
				t.Errorf("route %q has no method", r.Pattern)
			}
			continue
		}
		routed = append(routed, method+" "+path)
	}
	for _, op := range routed {
		if !slices.Contains(inSpec, op) {
			t.Errorf("route %s is missing from %s", op, openapitest.SpecPath)
		}
	}
	for _, op := range inSpec {
		if !slices.Contains(routed, op) {
			t.Errorf("%s documents %s, which no route serves", openapitest.SpecPath, op)
		}
	}
}

// TestOpenAPIResponses walks a spread of routes, read and write, good and
// refused, so that specChecked holds their answers against the spec: the
// other tests of this package cover most of the rest.
func TestOpenAPIResponses(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { testOpenAPIResponses(t, newFixtureOn(t, e.open)) })
	}
}

func testOpenAPIResponses(t *testing.T, f *fixture) {
	dev := "/api/v1/devices/" + itoa(f.device.ID)
	site := itoa(f.device.SiteID)
	var created struct {
		ID int64 `json:"id"`
	}
	var checks []core.CheckState
	if code := f.do(t, "GET", dev+"/checks", "readonly", &checks); code != http.StatusOK || len(checks) == 0 {
		t.Fatalf("checks: %d %v", code, checks)
	}
	steps := []struct {
		method, path, token, body string
		want                      int
		out                       any
	}{
		{"GET", "/api/v1/devices?sort=status&order=desc", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/devices?order=sideways", "readonly", "", http.StatusBadRequest, nil},
		{"GET", dev, "readonly", "", http.StatusOK, nil},
		{"GET", dev + "/checks", "readonly", "", http.StatusOK, nil},
		{"GET", dev + "/policies", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/devices/0", "readonly", "", http.StatusBadRequest, nil},
		{"GET", "/api/v1/devices/999999", "readonly", "", http.StatusNotFound, nil},
		{"GET", "/api/v1/no-such-route", "readonly", "", http.StatusNotFound, nil},
		{"GET", "/api/v1/clients", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/sites", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/sites/" + site, "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/sites/" + site + "/policies", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/default/policies", "readonly", "", http.StatusOK, nil},
		{"POST", "/api/v1/sites", "admin", `{"client_id":` + itoa(f.device.ClientID) + `,"name":"Lager"}`, http.StatusCreated, &created},
		{"POST", "/api/v1/sites", "admin", `{"client_id":` + itoa(f.device.ClientID) + `,"name":""}`, http.StatusBadRequest, nil},
		{"GET", "/api/v1/policies", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/outages?state=open", "readonly", "", http.StatusOK, nil},
		{"GET", dev + "/outages", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/alerts/presence", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/alerts/settings", "readonly", "", http.StatusForbidden, nil},
		{"GET", "/api/v1/alerts/settings", "admin", "", http.StatusOK, nil},
		{"PUT", "/api/v1/alerts/settings", "admin", `{"smtp":{"host":"mail.example.com","port":587,"tls":"starttls","from":"wacht@example.com"},
			"office_hours":{"days":[1,2,3,4,5],"start":"08:00","end":"17:00","timezone":"Europe/Berlin"},"offline_alert_delay":600}`, http.StatusOK, nil},
		{"POST", "/api/v1/alerts/settings/test", "admin", `{"to":"not an address"}`, http.StatusBadRequest, nil},
		{"GET", "/api/v1/alerts/recipients", "admin", "", http.StatusOK, nil},
		{"POST", "/api/v1/alerts/recipients", "admin", `{"level":"default","channel":"email","target":"ops@example.com","lang":"en"}`, http.StatusCreated, nil},
		{"POST", "/api/v1/alerts/recipients", "admin", `{"level":"default","channel":"pigeon","target":"loft"}`, http.StatusBadRequest, nil},
		{"DELETE", "/api/v1/alerts/recipients/999999", "admin", "", http.StatusNotFound, nil},
		{"GET", "/api/v1/alerts/outbox?limit=10", "admin", "", http.StatusOK, nil},
		{"GET", "/api/v1/sites/" + site + "/network-devices", "readonly", "", http.StatusOK, nil},
		{"GET", "/api/v1/network-devices/999999", "readonly", "", http.StatusNotFound, nil},
		{"POST", dev + "/checks/999999/clear", "tech", `{"until_pass":true}`, http.StatusNotFound, nil},
		{"POST", dev + "/checks/" + itoa(checks[0].CheckID) + "/clear", "tech", `{"until_pass":true,"comment":"known"}`, http.StatusNoContent, nil},
		{"POST", dev + "/checks/" + itoa(checks[0].CheckID) + "/clear", "tech", `{}`, http.StatusBadRequest, nil},
		{"POST", "/api/v1/outages/999999/ack", "tech", `{"comment":"seen"}`, http.StatusNotFound, nil},
		{"GET", "/api/v1/audit?limit=5", "admin", "", http.StatusOK, nil},
		{"GET", "/api/v1/settings/remote", "admin", "", http.StatusOK, nil},
		{"PUT", "/api/v1/settings/require-2fa", "admin", `{"required":false}`, http.StatusOK, nil},
		{"POST", "/api/v1/users", "admin", `{"email":"new@example.com","password":"lang-genug-1","role":"readonly"}`, http.StatusCreated, nil},
	}
	for _, s := range steps {
		if code := f.sendJSON(t, s.method, s.path, s.token, s.body, s.out); code != s.want {
			t.Errorf("%s %s as %s: %d, want %d", s.method, s.path, s.token, code, s.want)
		}
	}
	if code := f.sendJSON(t, "DELETE", "/api/v1/sites/"+itoa(created.ID), "admin", "", nil); code != http.StatusOK {
		t.Errorf("delete site: %d", code)
	}
}
