package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/api/openapitest"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
)

// billingClock is the billing tests' now: November 2026 is the last full
// month.
var billingClock = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// billingFixture is the API fixture with the service's clock at
// billingClock.
func billingFixture(t *testing.T, open func(testing.TB) *store.DB) *fixture {
	f := newFixtureOn(t, open)
	svc := service.New(service.Deps{Store: f.st, PasswordCost: authtest.Cost, Commander: f.cmd})
	svc.Now = func() time.Time { return billingClock }
	f.srv.Close()
	f.srv = httptest.NewServer(openapitest.Handler(t, api.New(svc, nil)))
	t.Cleanup(f.srv.Close)
	return f
}

// errorBody is an error answer of the billing routes.
type errorBody struct {
	Error   string    `json:"error"`
	Code    string    `json:"code"`
	Message core.Text `json:"message"`
	Fields  []struct {
		Field   string    `json:"field"`
		Message core.Text `json:"message"`
	} `json:"fields"`
}

func (e errorBody) has(field string) bool {
	for _, f := range e.Fields {
		if f.Field == field && f.Message.EN != "" && f.Message.DE != "" {
			return true
		}
	}
	return false
}

// billingDo sends v as JSON and decodes the answer into out (if not nil).
func (f *fixture) billingDo(t *testing.T, method, path, token string, v, out any) int {
	t.Helper()
	var body []byte
	if v != nil {
		var err error
		if body, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	code, ct, b := f.raw(t, method, path, token, "application/json", body)
	if out != nil && len(b) > 0 {
		if !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("%s %s: Content-Type %q: %s", method, path, ct, b)
		}
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, path, b, err)
		}
	}
	return code
}

func TestBillingAPI(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { testBillingAPI(t, billingFixture(t, e.open)) })
	}
}

func testBillingAPI(t *testing.T, f *fixture) {
	ctx := context.Background()
	acme, site, err := f.st.EnsureClientSite(ctx, "Acme", "HQ")
	if err != nil {
		t.Fatal(err)
	}
	enroll(t, f.st, site, "srv-01", time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC))
	empty, _, err := f.st.EnsureClientSite(ctx, "Leer KG", "Büro")
	if err != nil {
		t.Fatal(err)
	}
	contractPath := func(id int64) string { return fmt.Sprintf("/api/v1/clients/%d/contract", id) }
	contract := func(start, end string) core.Contract {
		c := core.DefaultContract(0, start)
		c.End = end
		return c
	}

	// Administrators only.
	for _, tok := range []string{"tech", "readonly"} {
		if code := f.billingDo(t, "GET", contractPath(acme.ID), tok, nil, nil); code != http.StatusForbidden {
			t.Errorf("GET contract as %s: %d", tok, code)
		}
		if code := f.billingDo(t, "PUT", contractPath(acme.ID), tok, contract("2026-01-01", ""), nil); code != http.StatusForbidden {
			t.Errorf("PUT contract as %s: %d", tok, code)
		}
		if code := f.billingDo(t, "GET", "/api/v1/billing", tok, nil, nil); code != http.StatusForbidden {
			t.Errorf("preview as %s: %d", tok, code)
		}
	}
	var view service.ContractView
	if code := f.billingDo(t, "GET", contractPath(acme.ID), "admin", nil, &view); code != http.StatusOK || view.Suggested == nil ||
		view.Suggested.PriceCents != core.DefaultPriceCents || view.Suggested.Start != "2026-12-01" || view.Current != nil {
		t.Errorf("GET contract without one: %d %+v", code, view)
	}

	// Bad input, each with its field named.
	for _, c := range []struct {
		name  string
		edit  func(*core.Contract)
		field string
	}{
		{"negative price", func(c *core.Contract) { c.PriceCents = -12900 }, "price_cents"},
		{"VAT over 100 %", func(c *core.Contract) { c.VATBasisPoints = 10100 }, "vat_basis_points"},
		{"end before start", func(c *core.Contract) { c.End = "2025-01-01" }, "end"},
		{"unknown period", func(c *core.Contract) { c.Period = "daily" }, "period"},
	} {
		ct := contract("2026-01-01", "")
		c.edit(&ct)
		var e errorBody
		if code := f.billingDo(t, "PUT", contractPath(acme.ID), "admin", ct, &e); code != http.StatusBadRequest || !e.has(c.field) {
			t.Errorf("%s: %d %+v, want 400 naming %s", c.name, code, e, c.field)
		}
	}
	var e errorBody
	if code := f.billingDo(t, "PUT", contractPath(acme.ID), "admin", map[string]any{"plan": "x", "bogus": 1}, &e); code != http.StatusBadRequest || !e.has("bogus") {
		t.Errorf("unknown field: %d %+v", code, e)
	}
	var stored core.Contract
	if code := f.billingDo(t, "PUT", contractPath(acme.ID), "admin", contract("2026-01-01", "2026-12-31"), &stored); code != http.StatusOK ||
		stored.ID == 0 || stored.ClientID != acme.ID || stored.ClientName != "Acme" {
		t.Fatalf("PUT contract: %d %+v", code, stored)
	}
	e = errorBody{}
	if code := f.billingDo(t, "PUT", contractPath(acme.ID), "admin", contract("2026-12-01", ""), &e); code != http.StatusConflict ||
		!e.has("start") || !strings.Contains(e.Error, "overlaps the contract from 2026-01-01 to 2026-12-31") || !strings.Contains(e.Message.DE, "überschneidet") {
		t.Errorf("overlapping contract: %d %+v", code, e)
	}
	// Replacing by ID: the same contract, a new price.
	stored.PriceCents = 15900
	var replaced core.Contract
	if code := f.billingDo(t, "PUT", contractPath(acme.ID), "admin", stored, &replaced); code != http.StatusOK || replaced.ID != stored.ID || replaced.PriceCents != 15900 {
		t.Errorf("replace: %d %+v", code, replaced)
	}
	if code := f.billingDo(t, "GET", contractPath(acme.ID), "admin", nil, &view); code != http.StatusOK || view.Current == nil || view.Current.ID != stored.ID || len(view.Contracts) != 1 {
		t.Errorf("GET contract: %d %+v", code, view)
	}
	// A customer without devices: a 0 € bill, not an error.
	if code := f.billingDo(t, "PUT", contractPath(empty.ID), "admin", contract("2026-01-01", ""), nil); code != http.StatusOK {
		t.Fatalf("PUT contract of the empty client: %d", code)
	}
	// A throwaway contract to delete.
	other, _, err := f.st.EnsureClientSite(ctx, "Weg GmbH", "Büro")
	if err != nil {
		t.Fatal(err)
	}
	var gone core.Contract
	if code := f.billingDo(t, "PUT", contractPath(other.ID), "admin", contract("2026-01-01", ""), &gone); code != http.StatusOK {
		t.Fatalf("PUT: %d", code)
	}
	if code := f.billingDo(t, "DELETE", fmt.Sprintf("/api/v1/contracts/%d", gone.ID), "tech", nil, nil); code != http.StatusForbidden {
		t.Errorf("DELETE as tech: %d", code)
	}
	if code := f.billingDo(t, "DELETE", fmt.Sprintf("/api/v1/contracts/%d", gone.ID), "admin", nil, nil); code != http.StatusNoContent {
		t.Errorf("DELETE: %d", code)
	}
	if code := f.billingDo(t, "DELETE", fmt.Sprintf("/api/v1/contracts/%d", gone.ID), "admin", nil, nil); code != http.StatusNotFound {
		t.Errorf("DELETE twice: %d", code)
	}

	// Time worked in November, billed by the run.
	var work core.TimeEntry
	if code := f.billingDo(t, "POST", "/api/v1/time-entries", "tech", map[string]any{"client_id": acme.ID, "minutes": 45,
		"started_at": "2026-11-20T09:00:00Z", "note": "Drucker eingerichtet"}, &work); code != http.StatusCreated || work.ID == 0 || !work.Billable || work.User != "tech@example.com" {
		t.Fatalf("POST time: %d %+v", code, work)
	}

	// The preview: the last full month by default; a future period refused.
	e = errorBody{}
	if code := f.billingDo(t, "GET", "/api/v1/billing?from=2027-01-01&to=2027-01-31", "admin", nil, &e); code != http.StatusBadRequest ||
		!e.has("from") || !strings.Contains(e.Error, "future") {
		t.Errorf("future preview: %d %+v", code, e)
	}
	var preview core.BillingRun
	if code := f.billingDo(t, "GET", "/api/v1/billing", "admin", nil, &preview); code != http.StatusOK || preview.From != "2026-11-01" ||
		preview.To != "2026-11-30" || preview.ID != 0 || len(preview.Bills) != 2 {
		t.Fatalf("preview: %d %+v", code, preview)
	}
	var sum int64
	for _, b := range preview.Bills {
		sum += b.GrossCents
		switch b.ClientID {
		case empty.ID:
			if b.GrossCents != 0 || b.NetCents != 0 {
				t.Errorf("bill without devices: %+v", b)
			}
		case acme.ID:
			if b.GrossCents == 0 || len(b.Lines) < 3 {
				t.Errorf("Acme's bill: %+v", b)
			}
		default:
			t.Errorf("bill of client %d", b.ClientID)
		}
	}
	if sum != preview.GrossCents {
		t.Errorf("total %d, bills %d", preview.GrossCents, sum)
	}

	// Finalize: not the running month; once; then only as a correction.
	e = errorBody{}
	if code := f.billingDo(t, "POST", "/api/v1/billing/runs", "admin", map[string]any{"from": "2026-12-01", "to": "2026-12-31"}, &e); code != http.StatusBadRequest || !e.has("to") {
		t.Errorf("finalize the running month: %d %+v", code, e)
	}
	if code := f.billingDo(t, "POST", "/api/v1/billing/runs", "tech", map[string]any{}, nil); code != http.StatusForbidden {
		t.Errorf("finalize as tech: %d", code)
	}
	var run core.BillingRun
	if code := f.billingDo(t, "POST", "/api/v1/billing/runs", "admin", map[string]any{"from": "2026-11-01", "to": "2026-11-30"}, &run); code != http.StatusCreated ||
		run.ID == 0 || run.GrossCents != preview.GrossCents || len(run.Bills) != 2 {
		t.Fatalf("finalize: %d %+v", code, run)
	}
	e = errorBody{}
	if code := f.billingDo(t, "POST", "/api/v1/billing/runs", "admin", map[string]any{}, &e); code != http.StatusConflict || !e.has("from") ||
		!strings.Contains(e.Error, "already finalized") || !strings.Contains(e.Error, fmt.Sprintf("corrects %d", run.ID)) {
		t.Errorf("second finalize: %d %+v", code, e)
	}
	// The billed time entry cannot change.
	for _, method := range []string{"PUT", "DELETE"} {
		e = errorBody{}
		if code := f.billingDo(t, method, fmt.Sprintf("/api/v1/time-entries/%d", work.ID), "tech", map[string]any{"minutes": 5}, &e); code != http.StatusConflict || !e.has("id") {
			t.Errorf("%s of a billed entry: %d %+v", method, code, e)
		}
	}
	if code := f.billingDo(t, "GET", "/api/v1/billing", "admin", nil, &preview); code != http.StatusOK || preview.Corrects != run.ID {
		t.Errorf("preview of a finalized period: %d corrects %d", code, preview.Corrects)
	}
	var fix core.BillingRun
	if code := f.billingDo(t, "POST", "/api/v1/billing/runs", "admin", map[string]any{"corrects": run.ID}, &fix); code != http.StatusCreated || fix.Corrects != run.ID {
		t.Fatalf("correction: %d %+v", code, fix)
	}
	var old core.BillingRun
	if code := f.billingDo(t, "GET", fmt.Sprintf("/api/v1/billing/runs/%d", run.ID), "admin", nil, &old); code != http.StatusOK || old.CorrectedBy != fix.ID || old.GrossCents != run.GrossCents {
		t.Errorf("corrected run: %d %+v", code, old)
	}
	var runs []core.BillingRun
	if code := f.billingDo(t, "GET", "/api/v1/billing/runs", "admin", nil, &runs); code != http.StatusOK || len(runs) != 2 || runs[0].ID != fix.ID {
		t.Errorf("runs: %d %+v", code, runs)
	}

	// Exports.
	code, ct, body, disp := f.download(t, fmt.Sprintf("/api/v1/billing/runs/%d.csv", run.ID), "admin")
	if code != http.StatusOK || ct != "text/csv; charset=utf-8" || disp != `attachment; filename="wacht-abrechnung-2026-11.csv"` ||
		!bytes.HasPrefix(body, []byte("\uFEFF")) || !bytes.Contains(body, []byte("Acme")) || !bytes.Contains(body, []byte(";")) {
		t.Errorf("CSV: %d %q %q %.200q", code, ct, disp, body)
	}
	code, ct, body, disp = f.download(t, fmt.Sprintf("/api/v1/billing/runs/%d.json", fix.ID), "admin")
	var back core.BillingRun
	if code != http.StatusOK || ct != "application/json" || disp != fmt.Sprintf(`attachment; filename="wacht-abrechnung-2026-11-korrektur-%d.json"`, run.ID) ||
		json.Unmarshal(body, &back) != nil || back.ID != fix.ID || back.GrossCents != fix.GrossCents {
		t.Errorf("JSON: %d %q %q %.200q", code, ct, disp, body)
	}
	for path, want := range map[string]int{
		"/api/v1/billing/runs/999999.csv": http.StatusNotFound,
		"/api/v1/billing/runs/x.csv":      http.StatusBadRequest,
		"/api/v1/billing/runs/1.pdf":      http.StatusBadRequest,
	} {
		if code := f.billingDo(t, "GET", path, "admin", nil, nil); code != want {
			t.Errorf("GET %s: %d, want %d", path, code, want)
		}
	}
	if code, _, _, _ := f.download(t, fmt.Sprintf("/api/v1/billing/runs/%d.csv", run.ID), "tech"); code != http.StatusForbidden {
		t.Errorf("CSV as tech: %d", code)
	}
}

// download GETs path and returns status, Content-Type, body and
// Content-Disposition.
func (f *fixture) download(t *testing.T, path, token string) (int, string, []byte, string) {
	t.Helper()
	req, err := http.NewRequest("GET", f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.tokens[token])
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), buf.Bytes(), resp.Header.Get("Content-Disposition")
}

func TestTimeEntriesAPI(t *testing.T) {
	f := billingFixture(t, engines[0].open)
	f.foreignUser(t)
	ctx := context.Background()
	acme, _, err := f.st.EnsureClientSite(ctx, "Acme", "HQ")
	if err != nil {
		t.Fatal(err)
	}
	var e errorBody
	if code := f.billingDo(t, "POST", "/api/v1/time-entries", "tech", map[string]any{"client_id": acme.ID, "minutes": 0}, &e); code != http.StatusBadRequest || !e.has("minutes") {
		t.Errorf("0 minutes: %d %+v", code, e)
	}
	if code := f.billingDo(t, "POST", "/api/v1/time-entries", "readonly", map[string]any{"client_id": acme.ID, "minutes": 5}, nil); code != http.StatusForbidden {
		t.Errorf("POST as readonly: %d", code)
	}
	if code := f.billingDo(t, "POST", "/api/v1/time-entries", "foreign", map[string]any{"client_id": acme.ID, "minutes": 5}, nil); code != http.StatusNotFound {
		t.Errorf("POST as a foreign technician: %d", code)
	}
	var running core.TimeEntry
	if code := f.billingDo(t, "POST", "/api/v1/time-entries", "tech", map[string]any{"client_id": acme.ID, "running": true,
		"started_at": billingClock.Add(-10 * time.Minute), "billable": false}, &running); code != http.StatusCreated || !running.Running || running.Billable {
		t.Fatalf("start: %d %+v", code, running)
	}
	var stopped core.TimeEntry
	path := fmt.Sprintf("/api/v1/time-entries/%d", running.ID)
	if code := f.billingDo(t, "POST", path+"/stop", "tech", nil, &stopped); code != http.StatusOK || stopped.Running || stopped.Minutes != 10 {
		t.Errorf("stop: %d %+v", code, stopped)
	}
	e = errorBody{}
	if code := f.billingDo(t, "POST", path+"/stop", "tech", nil, &e); code != http.StatusConflict || !e.has("running") {
		t.Errorf("stop twice: %d %+v", code, e)
	}
	var up core.TimeEntry
	if code := f.billingDo(t, "PUT", path, "admin", map[string]any{"minutes": 15, "note": "Nacharbeit", "billable": true}, &up); code != http.StatusOK ||
		up.Minutes != 15 || up.Note != "Nacharbeit" || !up.Billable {
		t.Errorf("PUT: %d %+v", code, up)
	}
	var list []core.TimeEntry
	if code := f.billingDo(t, "GET", fmt.Sprintf("/api/v1/time-entries?client_id=%d&from=2026-12-01", acme.ID), "tech", nil, &list); code != http.StatusOK || len(list) != 1 || list[0].ID != running.ID {
		t.Errorf("list: %d %+v", code, list)
	}
	if code := f.billingDo(t, "GET", "/api/v1/time-entries?from=2027-01-01", "tech", nil, &list); code != http.StatusOK || len(list) != 0 {
		t.Errorf("list from 2027: %d %+v", code, list)
	}
	if code := f.billingDo(t, "GET", "/api/v1/time-entries", "foreign", nil, &list); code != http.StatusOK || len(list) != 0 {
		t.Errorf("list as foreign: %d %+v", code, list)
	}
	if code := f.billingDo(t, "GET", "/api/v1/time-entries", "readonly", nil, nil); code != http.StatusForbidden {
		t.Errorf("list as readonly: %d", code)
	}
	e = errorBody{}
	if code := f.billingDo(t, "GET", "/api/v1/time-entries?from=gestern", "tech", nil, &e); code != http.StatusBadRequest || !e.has("from") {
		t.Errorf("bad from: %d %+v", code, e)
	}
	if code := f.billingDo(t, "DELETE", path, "foreign", nil, nil); code != http.StatusNotFound {
		t.Errorf("DELETE as foreign: %d", code)
	}
	if code := f.billingDo(t, "DELETE", path, "tech", nil, nil); code != http.StatusNoContent {
		t.Errorf("DELETE: %d", code)
	}
	if code := f.billingDo(t, "DELETE", path, "tech", nil, nil); code != http.StatusNotFound {
		t.Errorf("DELETE twice: %d", code)
	}
}
