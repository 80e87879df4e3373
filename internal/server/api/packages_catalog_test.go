package api_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/api/openapitest"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
)

// TestPackageCatalogAPI: the catalog is listed once on either engine,
// names its source, cannot be changed, deleted or given a file, and is
// duplicated into an editable package that needs its secrets.
func TestPackageCatalogAPI(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			f := newFixtureOn(t, e.open)
			box, err := seal.NewBox(bytes.Repeat([]byte{7}, 32))
			if err != nil {
				t.Fatal(err)
			}
			f.srv.Close()
			f.srv = httptest.NewServer(openapitest.Handler(t, api.New(service.New(service.Deps{Store: f.st, PasswordCost: authtest.Cost, Secrets: box}), nil)))
			t.Cleanup(f.srv.Close)

			var list []core.Package
			if st := f.sendJSON(t, "GET", "/api/v1/packages", "readonly", "", &list); st != 200 {
				t.Fatalf("list: %d", st)
			}
			byKey := map[string]core.Package{}
			for _, p := range list {
				if _, dup := byKey[p.Builtin]; dup || p.Builtin == "" {
					t.Errorf("listed %q (%s) twice or without its key", p.Name, p.Builtin)
				}
				byKey[p.Builtin] = p
			}
			for _, ce := range service.Catalog() {
				p, ok := byKey[ce.Key]
				if !ok || p.Source == nil || p.Source.URL != ce.Source.URL {
					t.Errorf("catalog entry %s: %+v", ce.Key, p)
				}
			}
			acronis := byKey["acronis-cyber-protect"]
			id := itoa(acronis.ID)
			var refused struct {
				Code    string    `json:"code"`
				Message core.Text `json:"message"`
			}
			edit := `{"name":"Acronis","version":"1","os":"windows","kind":"upload","install":["{{file}}"],"detection":{"kind":"service","name":"x"}}`
			if st := f.sendJSON(t, "PUT", "/api/v1/packages/"+id, "admin", edit, &refused); st != 403 || refused.Code != "builtin" || refused.Message.DE == "" {
				t.Errorf("editing a built-in: %d %+v", st, refused)
			}
			if st := f.do(t, "DELETE", "/api/v1/packages/"+id, "admin", nil); st != 403 {
				t.Errorf("deleting a built-in: %d", st)
			}
			if st := f.upload(t, id, "agent.exe", "admin", []byte("MZ"), &refused); st != 403 || refused.Code != "builtin" {
				t.Errorf("uploading to a built-in: %d %+v", st, refused)
			}
			for _, token := range []string{"readonly", "tech"} {
				if st := f.sendJSON(t, "POST", "/api/v1/packages/"+id+"/duplicate", token, "", nil); st != 403 {
					t.Errorf("%s duplicating: %d", token, st)
				}
			}
			// The registration token must be given: the catalog has none.
			var invalid struct {
				Fields []struct{ Field string } `json:"fields"`
			}
			if st := f.sendJSON(t, "POST", "/api/v1/packages/"+id+"/duplicate", "admin", "", &invalid); st != 400 ||
				len(invalid.Fields) != 1 || invalid.Fields[0].Field != "params[1].value" {
				t.Errorf("duplicating without the token: %d %+v", st, invalid)
			}
			var cp core.Package
			if st := f.sendJSON(t, "POST", "/api/v1/packages/"+id+"/duplicate", "admin",
				`{"name":"Acronis Müller GmbH","params":{"token":"reg-token-1"}}`, &cp); st != 201 || cp.Builtin != "" ||
				cp.Name != "Acronis Müller GmbH" || cp.Params[1] != (core.PackageParam{Name: "token", Secret: true, Set: true}) ||
				cp.Params[0].Value != "https://eu2-cloud.acronis.com" || cp.Source != nil {
				t.Fatalf("duplicate: %d %+v", st, cp)
			}
			// The copy is the administrators' own: editable, and its
			// secret travels into its own copy.
			in := service.PackageInputOf(cp)
			in.Params[0].Value = "https://de1-cloud.acronis.com"
			if st := f.sendJSON(t, "PUT", "/api/v1/packages/"+itoa(cp.ID), "admin", mustJSON(t, in), &cp); st != 200 || cp.Params[0].Value != in.Params[0].Value {
				t.Errorf("editing the copy: %d %+v", st, cp)
			}
			var cp2 core.Package
			if st := f.sendJSON(t, "POST", "/api/v1/packages/"+itoa(cp.ID)+"/duplicate", "admin", "", &cp2); st != 201 ||
				cp2.Name != "Acronis Müller GmbH (copy)" || !cp2.Params[1].Set {
				t.Errorf("duplicating the copy: %d %+v", st, cp2)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
