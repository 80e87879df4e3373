package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/service"
)

func historyIDs(h service.History) []string {
	var out []string
	for _, r := range h.Results {
		out = append(out, r.ID)
	}
	return out
}

func TestCheckHistory(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { testCheckHistory(t, newFixtureOn(t, e.open)) })
	}
}

func testCheckHistory(t *testing.T, f *fixture) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	v := func(x float64) *float64 { return &x }
	// The fixture stored r1 (disk "/", now) and r2 (cpu, now).
	if err := f.st.SaveResults(ctx, f.device.ID, []core.Result{
		{ID: "h1", Check: "disk", Key: "/", Status: core.StatusOK, Value: v(40), Unit: "%", Message: core.Text{EN: "40% full", DE: "zu 40 % belegt"}, At: now.Add(-time.Hour)},
		{ID: "h2", Check: "disk", Key: "/", Status: core.StatusFailure, Value: v(97.5), Unit: "%", At: now.Add(-2 * time.Hour)},
		{ID: "h30", Check: "disk", Key: "/", Status: core.StatusOK, Value: v(10), Unit: "%", At: now.Add(-30 * time.Hour)},
		{ID: "data1", Check: "disk", Key: "/data", Status: core.StatusOK, Value: v(5), Unit: "%", At: now.Add(-time.Hour)},
	}); err != nil {
		t.Fatal(err)
	}
	base := "/api/v1/devices/" + strconv.FormatInt(f.device.ID, 10) + "/checks/disk/history"

	// Default: the last 24 hours, newest first, the read-only role allowed.
	var h service.History
	if code := f.do(t, "GET", base+"?key=/", "readonly", &h); code != http.StatusOK {
		t.Fatalf("history: %d", code)
	}
	if got := historyIDs(h); !slices.Equal(got, []string{"r1", "h1", "h2"}) {
		t.Errorf("default window = %v, want r1 h1 h2", got)
	}
	if h.DeviceID != f.device.ID || h.Check != "disk" || h.Key != "/" || h.Limit != service.DefaultHistoryLimit {
		t.Errorf("header = %+v", h)
	}
	if d := now.Add(-24 * time.Hour).Sub(h.Since); d < -time.Minute || d > time.Minute {
		t.Errorf("default since = %v, want about 24 h ago", h.Since)
	}
	r := h.Results[2]
	if r.Status != core.StatusFailure || r.Value == nil || *r.Value != 97.5 || r.Unit != "%" || !r.At.Equal(now.Add(-2*time.Hour)) {
		t.Errorf("h2 = %+v", r)
	}
	if m := h.Results[1].Message; m.DE != "zu 40 % belegt" {
		t.Errorf("h1 message = %+v", m)
	}

	// since and limit.
	since := url.QueryEscape(now.Add(-48 * time.Hour).Format(time.RFC3339))
	h = service.History{}
	f.do(t, "GET", base+"?key=/&since="+since, "admin", &h)
	if got := historyIDs(h); !slices.Equal(got, []string{"r1", "h1", "h2", "h30"}) {
		t.Errorf("since 48 h = %v", got)
	}
	h = service.History{}
	f.do(t, "GET", base+"?key=/&since="+since+"&limit=2", "admin", &h)
	if got := historyIDs(h); !slices.Equal(got, []string{"r1", "h1"}) || h.Limit != 2 {
		t.Errorf("limit 2 = %v (limit %d)", got, h.Limit)
	}

	// The key selects the instance; no key is the single-instance check.
	h = service.History{}
	f.do(t, "GET", base+"?key=/data", "tech", &h)
	if got := historyIDs(h); !slices.Equal(got, []string{"data1"}) {
		t.Errorf("key /data = %v", got)
	}
	h = service.History{}
	f.do(t, "GET", base, "tech", &h)
	if h.Results == nil || len(h.Results) != 0 {
		t.Errorf("disk without key = %v, want an empty list", h.Results)
	}

	// Past the raw retention, an hour's results come back as one rollup.
	aged := now.Add(-20 * 24 * time.Hour)
	if err := f.st.SaveResults(ctx, f.device.ID, []core.Result{
		{ID: "aged", Check: "disk", Key: "/", Status: core.StatusWarning, Value: v(88), Unit: "%", At: aged}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.MaintainHistory(ctx, now); err != nil {
		t.Fatal(err)
	}
	h = service.History{}
	f.do(t, "GET", base+"?key=/&since="+url.QueryEscape(now.Add(-30*24*time.Hour).Format(time.RFC3339)), "readonly", &h)
	if n := len(h.Results); n != 5 || h.Results[n-1].Rollup == nil {
		t.Fatalf("30 days = %v, want r1 h1 h2 h30 and a rollup", historyIDs(h))
	}
	if r := h.Results[4]; r.ID != "" || r.Rollup.Results != 1 || *r.Rollup.Min != 88 || *r.Value != 88 ||
		r.Status != core.StatusWarning || !r.At.Equal(aged.Truncate(time.Hour)) {
		t.Errorf("rollup = %+v %+v", r, r.Rollup)
	}
	// Paged by time: a full page links the next, until its oldest result;
	// every result comes once, rollup included, and the last page links none.
	var paged []string
	next, pages := base+"?key=/&limit=2&since="+url.QueryEscape(now.Add(-30*24*time.Hour).Format(time.RFC3339)), 0
	for next != "" && pages < 10 {
		resp, body := f.get(t, next)
		var ph service.History
		if err := json.Unmarshal(body, &ph); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", next, resp.StatusCode, body)
		}
		for _, r := range ph.Results {
			paged = append(paged, r.ID+"@"+r.At.Format(time.RFC3339))
		}
		link := resp.Header.Get("Link")
		next, _ = strings.CutSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
		if pages++; link != "" && (len(ph.Results) != 2 || ph.Until != nil && pages == 1) {
			t.Errorf("page %d: %d results, until %v, link %q", pages, len(ph.Results), ph.Until, link)
		}
	}
	var whole []string
	for _, r := range h.Results {
		whole = append(whole, r.ID+"@"+r.At.Format(time.RFC3339))
	}
	if !slices.Equal(paged, whole) || pages != 3 {
		t.Errorf("paged by 2 in %d pages: %v, want %v", pages, paged, whole)
	}
	h = service.History{}
	f.do(t, "GET", "/api/v1/devices/"+strconv.FormatInt(f.device.ID, 10)+"/checks/cpu/history", "tech", &h)
	if got := historyIDs(h); !slices.Equal(got, []string{"r2"}) || h.Results[0].Value != nil {
		t.Errorf("cpu = %+v", h.Results)
	}

	// Bad input is 400; an unknown device 404; no token 401.
	for _, q := range []string{"?since=yesterday", "?limit=0", "?limit=5001", "?limit=x", "?since=2026-01-01", "?until=today"} {
		if code := f.do(t, "GET", base+q, "admin", nil); code != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", q, code)
		}
	}
	if code := f.do(t, "GET", base+"?limit=5000", "admin", nil); code != http.StatusOK {
		t.Errorf("limit 5000: %d, want 200", code)
	}
	if code := f.do(t, "GET", "/api/v1/devices/999999/checks/disk/history", "admin", nil); code != http.StatusNotFound {
		t.Errorf("unknown device: %d, want 404", code)
	}
	if code := f.do(t, "GET", base, "", nil); code != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", code)
	}
}

// TestCheckHistoryScope: a token limited to another client gets 404 for
// the device's history, exactly as for the device itself.
func TestCheckHistoryScope(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, other, err := f.st.EnsureClientSite(ctx, "Fremde AG", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	var tok service.CreatedToken
	body := `{"name":"other","role":"readonly","scope":{"restricted":true,"clients":[` + strconv.FormatInt(other.ClientID, 10) + `]}}`
	if code, b := f.send(t, "POST", "/api/v1/tokens", f.tokens["admin"], body, &tok); code != http.StatusCreated {
		t.Fatalf("creating a client-limited token: %d %s", code, b)
	}
	path := "/api/v1/devices/" + strconv.FormatInt(f.device.ID, 10) + "/checks/disk/history?key=/"
	if code, b := f.send(t, "GET", path, tok.Secret, "", nil); code != http.StatusNotFound {
		t.Errorf("foreign client's device history: %d %s, want 404", code, b)
	}
	var h service.History
	if code, _ := f.send(t, "GET", path, f.tokens["readonly"], "", &h); code != http.StatusOK || len(h.Results) != 1 {
		t.Errorf("unrestricted read-only: %d %+v", code, h.Results)
	}
}
