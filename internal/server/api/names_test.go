package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestNamesValidated: client, site, policy, maintenance window and network
// device names with CR/LF, control characters or 10,000 characters are
// refused with a field error in English and German, and nothing is stored;
// a name with surrounding blanks is trimmed.
func TestNamesValidated(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin := f.tokens["admin"]
	cid := strconv.FormatInt(f.device.ClientID, 10)
	var site core.Site
	if code, body := f.send(t, "POST", "/api/v1/sites", admin, `{"client_id":`+cid+`,"name":"  Lager  "}`, &site); code != http.StatusCreated || site.Name != "Lager" {
		t.Fatalf("creating a site: %d %s", code, body)
	}
	sid := strconv.FormatInt(site.ID, 10)
	long := strings.Repeat("x", 10000)
	for _, c := range []struct{ method, path, body, field string }{
		{"POST", "/api/v1/clients", `{"name":"Evil\r\nGmbH"}`, "name"},
		{"POST", "/api/v1/clients", `{"name":"` + long + `"}`, "name"},
		{"POST", "/api/v1/clients", `{"name":"Ok AG","contact_name":"Eve\nBcc: x"}`, "contact_name"},
		{"PATCH", "/api/v1/clients/" + cid, `{"name":"Acme\u0000"}`, "name"},
		{"PATCH", "/api/v1/clients/" + cid, `{"contact_phone":"` + long + `"}`, "contact_phone"},
		{"POST", "/api/v1/sites", `{"client_id":` + cid + `,"name":"A\nB"}`, "name"},
		{"POST", "/api/v1/sites", `{"client_id":` + cid + `,"name":"` + long + `"}`, "name"},
		{"PATCH", "/api/v1/sites/" + sid, `{"name":"Lager\r\n"}`, ""}, // trimmed: fine
		{"PATCH", "/api/v1/sites/" + sid, `{"name":"Lager\u2028Nord"}`, "name"},
		{"PATCH", "/api/v1/sites/" + sid, `{"name":"  "}`, "name"},
		{"POST", "/api/v1/policies", `{"name":"Server\r\nX","checks":[{"name":"cpu","type":"cpu"}]}`, "name"},
		{"POST", "/api/v1/maintenance", `{"scope":"client","target_id":` + cid + `,"title":"Patchday\nBcc: x","start":"2027-01-01T10:00:00Z","end":"2027-01-01T11:00:00Z"}`, "title"},
		{"POST", "/api/v1/sites/" + sid + "/network-devices", `{"name":"Drucker\u0007","type":"printer","address":"127.0.0.1","checks":[]}`, "name"},
	} {
		code, body := f.send(t, c.method, c.path, admin, c.body, nil)
		if c.field == "" {
			if code != http.StatusOK {
				t.Errorf("%s %s %.60q: %d %.300s", c.method, c.path, c.body, code, body)
			}
			continue
		}
		var resp struct {
			Code   string `json:"code"`
			Fields []struct {
				Field   string    `json:"field"`
				Message core.Text `json:"message"`
			} `json:"fields"`
		}
		_ = json.Unmarshal([]byte(body), &resp)
		if code != http.StatusBadRequest || resp.Code != "invalid" || len(resp.Fields) != 1 || resp.Fields[0].Field != c.field ||
			resp.Fields[0].Message.EN == "" || resp.Fields[0].Message.DE == "" {
			t.Errorf("%s %s %.60q: %d %.300s", c.method, c.path, c.body, code, body)
		}
	}
	cs, err := f.st.ListClients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].Name != "Acme" || cs[0].ContactPhone != "" {
		t.Errorf("%d clients after refused changes, the first %.60q", len(cs), cs[0].Name)
	}
	ss, err := f.st.ListSites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range ss {
		if s.Name != "HQ" && s.Name != "Lager" {
			t.Errorf("site %.60q stored", s.Name)
		}
	}
}
