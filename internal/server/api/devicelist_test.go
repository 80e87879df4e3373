package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// get sends an admin GET and returns the response with its body read.
func (f *fixture) get(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", f.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.tokens["admin"])
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// The device list pages by cursor through the Link header, keeps its body
// a JSON array and names the refused parameter.
func TestDeviceListPaging(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	_, site, err := f.st.EnsureClientSite(ctx, "Acme", "Lager")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 4 {
		enroll(t, f.st, site, fmt.Sprintf("lager-%d", i), time.Now())
	}
	var names []string
	path := "/api/v1/devices?sort=name&order=desc&limit=2&q=lager"
	for pages := 0; path != ""; pages++ {
		if pages > 3 {
			t.Fatal("more pages than devices")
		}
		resp, b := f.get(t, path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Total-Count") != "4" {
			t.Fatalf("GET %s: %d, total %q: %s", path, resp.StatusCode, resp.Header.Get("X-Total-Count"), b)
		}
		var rows []core.DeviceRow
		if err := json.Unmarshal(b, &rows); err != nil {
			t.Fatalf("body is not an array of devices: %v: %s", err, b)
		}
		for _, r := range rows {
			names = append(names, r.Hostname)
		}
		path = ""
		if link := resp.Header.Get("Link"); link != "" {
			next, ok := strings.CutSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
			if !ok || !strings.Contains(next, "cursor="+resp.Header.Get("X-Next-Cursor")) || !strings.Contains(next, "q=lager") {
				t.Fatalf("Link %q, X-Next-Cursor %q", link, resp.Header.Get("X-Next-Cursor"))
			}
			path = next
		}
	}
	if want := []string{"lager-3", "lager-2", "lager-1", "lager-0"}; !slices.Equal(names, want) {
		t.Errorf("pages gave %v, want %v", names, want)
	}

	resp, b := f.get(t, "/api/v1/devices?limit=all")
	var all []core.DeviceRow
	if err := json.Unmarshal(b, &all); err != nil || len(all) != 5 || resp.Header.Get("Link") != "" {
		t.Errorf("limit=all: %d devices, Link %q, %v", len(all), resp.Header.Get("Link"), err)
	}

	for _, tc := range []struct{ query, field string }{
		{"sort=hostname", "sort"},
		{"order=up", "order"},
		{"limit=1001", "limit"},
		{"limit=0", "limit"},
		{"limit=ten", "limit"},
		{"status=broken", "status"},
		{"online=yes", "online"},
		{"maintenance=1", "maintenance"},
		{"client=acme", "client"},
		{"site=-1", "site"},
		{"cursor=bogus", "cursor"},
		{"sort=os&cursor=" + strings.TrimPrefix(firstCursor(t, f), "cursor="), "cursor"},
	} {
		resp, b := f.get(t, "/api/v1/devices?"+tc.query)
		var e struct {
			Fields []struct{ Field string } `json:"fields"`
		}
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != http.StatusBadRequest || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
			t.Errorf("?%s: %d %s; want 400 naming %s", tc.query, resp.StatusCode, b, tc.field)
		}
	}
}

// firstCursor is the cursor after the first device of the default list.
func firstCursor(t *testing.T, f *fixture) string {
	t.Helper()
	resp, _ := f.get(t, "/api/v1/devices?limit=1")
	return "cursor=" + resp.Header.Get("X-Next-Cursor")
}
