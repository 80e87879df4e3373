package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/service"
)

// followPages walks a list from path through its Link headers and returns
// the IDs of every page's rows in order and the X-Total-Count of the first
// page; every body must be a JSON array.
func followPages(t *testing.T, f *fixture, path string) (ids []int64, total string) {
	t.Helper()
	keys, total := followPageKeys(t, f, path)
	for _, k := range keys {
		id, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			t.Fatalf("GET %s: id %s is not a number", path, k)
		}
		ids = append(ids, id)
	}
	return ids, total
}

// followPageKeys is followPages for lists whose IDs may be text: each
// row's id as it is in the JSON.
func followPageKeys(t *testing.T, f *fixture, path string) (ids []string, total string) {
	t.Helper()
	for pages := 0; path != ""; pages++ {
		if pages > 50 {
			t.Fatalf("paging does not end: %v", ids)
		}
		resp, b := f.get(t, path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
		}
		if pages == 0 {
			total = resp.Header.Get("X-Total-Count")
		}
		var rows []struct {
			ID json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal(b, &rows); err != nil {
			t.Fatalf("GET %s: body is not an array: %v: %s", path, err, b)
		}
		for _, r := range rows {
			ids = append(ids, string(r.ID))
		}
		path = ""
		if link := resp.Header.Get("Link"); link != "" {
			next, ok := strings.CutSuffix(strings.TrimPrefix(link, "<"), `>; rel="next"`)
			if !ok || resp.Header.Get("X-Next-Cursor") == "" || !strings.Contains(next, "cursor="+resp.Header.Get("X-Next-Cursor")) {
				t.Fatalf("Link %q, X-Next-Cursor %q", link, resp.Header.Get("X-Next-Cursor"))
			}
			path = next
		}
	}
	return ids, total
}

// The audit log, the outage lists and the time entries page by cursor through the Link
// header, newest first, each row once, the filters kept on every page.
func TestKeysetPaging(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	for i := range 5 {
		if err := f.st.Audit(ctx, core.AuditEntry{At: now, Actor: "user:pager", Action: fmt.Sprintf("page.%d", i), Result: core.AuditOK}); err != nil {
			t.Fatal(err)
		}
	}
	var outages []core.Outage
	for i := range 7 {
		// Pairs opened at the same instant; the ID breaks the tie.
		outages = append(outages, core.Outage{Ref: fmt.Sprintf("p%d", i), DeviceID: f.device.ID, Kind: core.OutageCheck,
			CheckName: "disk", Severity: core.AlertFailure, OpenedAt: now.Add(-time.Duration(i/2) * time.Minute)})
	}
	if err := f.st.ApplyAlertChange(ctx, core.AlertChange{Open: outages}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		e := core.TimeEntry{ClientID: f.device.ClientID, User: "anna", Minutes: 10, Note: "Drucker",
			StartedAt: now.Add(-time.Duration(i/2) * time.Hour), CreatedAt: now}
		if err := f.st.CreateTimeEntry(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		path, total string
		n           int
	}{
		{"/api/v1/audit?actor=user:pager&limit=2", "", 5},
		{"/api/v1/outages?limit=2&state=open", "7", 7},
		{"/api/v1/outages?limit=3", "7", 7},
		{"/api/v1/devices/" + itoa(f.device.ID) + "/outages?open=true&limit=2", "7", 7},
		{"/api/v1/time-entries?client_id=" + itoa(f.device.ClientID) + "&limit=2", "", 5},
	} {
		ids, total := followPages(t, f, tc.path)
		whole, _ := followPages(t, f, tc.path[:strings.Index(tc.path, "limit=")]+"limit=1000")
		if len(ids) != tc.n || !slices.Equal(ids, whole) || total != tc.total {
			t.Errorf("%s: pages gave %v (total %q), want the %d of one page %v (total %q)", tc.path, ids, total, tc.n, whole, tc.total)
		}
	}
	// Newest first: the outages opened last come first, ties by ID descending.
	ids, _ := followPages(t, f, "/api/v1/outages?limit=2")
	if len(ids) < 2 || ids[0] < ids[1] {
		t.Errorf("outages not newest first: %v", ids)
	}

	for _, path := range []string{"/api/v1/audit", "/api/v1/outages", "/api/v1/devices/" + itoa(f.device.ID) + "/outages", "/api/v1/time-entries"} {
		for _, tc := range []struct{ query, field string }{
			{"limit=0", "limit"},
			{"limit=1001", "limit"},
			{"limit=all", "limit"},
			{"limit=ten", "limit"},
			{"cursor=bogus", "cursor"},
			{"cursor=eyJpIjowfQ", "cursor"}, // {"i":0}
		} {
			resp, b := f.get(t, path+"?"+tc.query)
			var e struct {
				Fields []struct{ Field string } `json:"fields"`
			}
			_ = json.Unmarshal(b, &e)
			if resp.StatusCode != http.StatusBadRequest || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
				t.Errorf("%s?%s: %d %s; want 400 naming %s", path, tc.query, resp.StatusCode, b, tc.field)
			}
		}
	}
}

// A device's script runs (text IDs, task runs among them), the outbox and
// a device's inventory changes page by cursor like the others; the
// inventory changes' older ?before= still works.
func TestKeysetPagingMoreLists(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	sc := core.Script{Name: "pager", Language: "sh", Body: "echo", RunAs: core.RunAsSystem, TimeoutSeconds: 60}
	if err := f.st.CreateScript(ctx, &sc); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		// Pairs queued at the same instant; the run ID breaks the tie.
		at := now.Add(-time.Duration(i/2) * time.Minute)
		j := core.ScriptJob{ScriptID: sc.ID, ScriptVersion: 1, Target: "devices", CreatedBy: "user:pager", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
		if _, err := f.st.CreateScriptJob(ctx, &j, []core.ScriptRun{{DeviceID: f.device.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	data, err := protocol.EncodeTaskRun(protocol.TaskRun{RunID: "t-pager-1", ScriptID: sc.ID, ScriptVersion: 1,
		Trigger: protocol.TriggerSchedule, StartedAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.SaveResults(ctx, f.device.ID, []core.Result{{ID: "t-pager-1", Check: "pager", Key: protocol.TaskResultKey,
		Status: core.StatusOK, At: now, Data: data}}); err != nil {
		t.Fatal(err)
	}
	var box []core.OutboxItem
	for i := range 5 {
		box = append(box, core.OutboxItem{DedupeKey: fmt.Sprintf("pager-%d", i), Channel: core.ChannelEmail, Target: "a@example.de",
			Payload: []byte("{}"), NextAttemptAt: now, CreatedAt: now})
	}
	if err := f.st.ApplyAlertChange(ctx, core.AlertChange{Outbox: box}); err != nil {
		t.Fatal(err)
	}
	var changes []core.InventoryChange
	for i := range 5 {
		changes = append(changes, core.InventoryChange{At: now, Part: core.PartSoftware, Kind: core.ChangeInstalled, Item: fmt.Sprintf("tool %d", i)})
	}
	if err := f.st.SaveInventory(ctx, core.StoredInventory{DeviceID: f.device.ID, Digest: "d", ReceivedAt: now}, "", changes); err != nil {
		t.Fatal(err)
	}

	dev := "/api/v1/devices/" + itoa(f.device.ID)
	for _, tc := range []struct {
		path string
		n    int
	}{
		{dev + "/runs?limit=2", 6},
		{dev + "/runs?limit=4", 6},
		{"/api/v1/alerts/outbox?limit=2", 5},
		{dev + "/inventory/changes?limit=2", 5},
	} {
		keys, total := followPageKeys(t, f, tc.path)
		whole, _ := followPageKeys(t, f, tc.path[:strings.Index(tc.path, "limit=")]+"limit=1000")
		if len(keys) != tc.n || !slices.Equal(keys, whole) || total != "" || len(slices.Compact(slices.Sorted(slices.Values(keys)))) != tc.n {
			t.Errorf("%s: pages gave %v (total %q), want the %d of one page %v", tc.path, keys, total, tc.n, whole)
		}
	}
	// ?before= starts below an entry, and pages on from there.
	all, _ := followPages(t, f, dev+"/inventory/changes")
	below, _ := followPages(t, f, dev+"/inventory/changes?limit=1&before="+strconv.FormatInt(all[1], 10))
	if !slices.Equal(below, all[2:]) {
		t.Errorf("before %d: pages gave %v, want %v", all[1], below, all[2:])
	}

	for _, path := range []string{dev + "/runs", "/api/v1/alerts/outbox", dev + "/inventory/changes"} {
		for _, tc := range []struct{ query, field string }{
			{"limit=0", "limit"},
			{"limit=1001", "limit"},
			{"limit=all", "limit"},
			{"limit=ten", "limit"},
			{"cursor=bogus", "cursor"},
			{"cursor=eyJpIjowfQ", "cursor"},           // {"i":0}
			{"cursor=eyJpIjoxLCJuIjoieCJ9", "cursor"}, // {"i":1,"n":"x"}
		} {
			resp, b := f.get(t, path+"?"+tc.query)
			var e struct {
				Fields []struct{ Field string } `json:"fields"`
			}
			_ = json.Unmarshal(b, &e)
			if resp.StatusCode != http.StatusBadRequest || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
				t.Errorf("%s?%s: %d %s; want 400 naming %s", path, tc.query, resp.StatusCode, b, tc.field)
			}
		}
	}
}

// Support requests page by cursor too, keeping their body (the page and
// the total) and their ?offset=, which the next page's address drops.
func TestSupportRequestsPaging(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	svc := service.New(service.Deps{Store: f.st})
	for i := range 5 {
		if _, err := svc.ReceiveSupportRequest(ctx, f.device.ID, protocol.SupportRequest{Ref: fmt.Sprintf("tray-pager-%d", i),
			OSUser: "anna", Message: "Hilfe", Lang: "de", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	// walk follows the Link headers from path: the IDs in order and the
	// first page's offset-free next address.
	walk := func(path string) (ids []int64, firstNext string) {
		t.Helper()
		for pages := 0; path != ""; pages++ {
			if pages > 10 {
				t.Fatalf("paging does not end: %v", ids)
			}
			resp, b := f.get(t, path)
			var list struct {
				Requests []core.SupportRequest `json:"requests"`
				Total    int                   `json:"total"`
			}
			if err := json.Unmarshal(b, &list); resp.StatusCode != http.StatusOK || err != nil || list.Total != 5 ||
				resp.Header.Get("X-Total-Count") != "5" {
				t.Fatalf("GET %s: %d %s (total %q)", path, resp.StatusCode, b, resp.Header.Get("X-Total-Count"))
			}
			for _, r := range list.Requests {
				ids = append(ids, r.ID)
			}
			next, _ := strings.CutSuffix(strings.TrimPrefix(resp.Header.Get("Link"), "<"), `>; rel="next"`)
			if next != "" && (resp.Header.Get("X-Next-Cursor") == "" || strings.Contains(next, "offset=")) {
				t.Fatalf("Link %q, X-Next-Cursor %q", next, resp.Header.Get("X-Next-Cursor"))
			}
			if pages == 0 {
				firstNext = next
			}
			path = next
		}
		return ids, firstNext
	}
	whole, next := walk("/api/v1/support-requests?limit=1000")
	if len(whole) != 5 || next != "" || len(slices.Compact(slices.Sorted(slices.Values(whole)))) != 5 {
		t.Fatalf("one page: %v, next %q", whole, next)
	}
	if got, _ := walk("/api/v1/support-requests?limit=2&device=" + itoa(f.device.ID)); !slices.Equal(got, whole) {
		t.Errorf("pages of 2: %v, want %v", got, whole)
	}
	if got, next := walk("/api/v1/support-requests?limit=2&offset=1"); !slices.Equal(got, whole[1:]) || next == "" {
		t.Errorf("pages of 2 from offset 1: %v (next %q), want %v", got, next, whole[1:])
	}

	for _, tc := range []struct{ query, field string }{
		{"limit=0", "limit"},
		{"limit=1001", "limit"},
		{"limit=ten", "limit"},
		{"cursor=bogus", "cursor"},
		{"cursor=eyJpIjowfQ", "cursor"}, // {"i":0}
	} {
		resp, b := f.get(t, "/api/v1/support-requests?"+tc.query)
		var e struct {
			Fields []struct{ Field string } `json:"fields"`
		}
		_ = json.Unmarshal(b, &e)
		if resp.StatusCode != http.StatusBadRequest || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
			t.Errorf("?%s: %d %s; want 400 naming %s", tc.query, resp.StatusCode, b, tc.field)
		}
	}
}
