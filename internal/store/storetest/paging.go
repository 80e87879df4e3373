package storetest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// pagingTests cover the keyset paging of the long lists besides the device
// list: every row on exactly one page, in the order of the unpaged list.
var pagingTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"AuditPages", testAuditPages},
	{"OutagePages", testOutagePages},
	{"TimeEntryPages", testTimeEntryPages},
	{"ScriptRunPages", testScriptRunPages},
	{"SupportRequestPages", testSupportRequestPages},
}

// pages walks a newest-first list page by page: list answers one page of
// at most limit rows after a key, key is a row's key. It returns the IDs in
// the order seen and fails on a page that does not advance.
func pages[T any](t *testing.T, limit int, list func(after core.PageKey, limit int) ([]T, error), key func(T) core.PageKey) []int64 {
	t.Helper()
	var ids []int64
	for _, k := range pageKeys(t, limit, list, key) {
		ids = append(ids, k.ID)
	}
	return ids
}

// pageKeys is pages returning the rows' keys.
func pageKeys[T any](t *testing.T, limit int, list func(after core.PageKey, limit int) ([]T, error), key func(T) core.PageKey) []core.PageKey {
	t.Helper()
	var ids []core.PageKey
	var after core.PageKey
	for n := 0; ; n++ {
		rows, err := list(after, limit)
		must(t, fmt.Sprintf("page %d", n), err)
		if len(rows) > limit {
			t.Fatalf("page %d has %d rows, limit %d", n, len(rows), limit)
		}
		if len(rows) == 0 {
			return ids
		}
		for _, r := range rows {
			ids = append(ids, key(r))
		}
		if n > 100 {
			t.Fatalf("paging does not end: %v", ids)
		}
		after = key(rows[len(rows)-1])
	}
}

func testAuditPages(t *testing.T, s core.Store) {
	for i := range 7 {
		// Same instant for several entries: the ID alone orders them.
		must(t, "Audit", s.Audit(ctx, core.AuditEntry{At: t0.Add(time.Duration(i/3) * time.Second),
			Actor: "user:pager", Action: fmt.Sprintf("page.test%d", i), Result: core.AuditOK}))
	}
	must(t, "Audit (other actor)", s.Audit(ctx, core.AuditEntry{At: t0, Actor: "user:other", Action: "page.test", Result: core.AuditOK}))
	all, err := s.QueryAudit(ctx, core.AuditQuery{Actor: "user:pager"})
	must(t, "QueryAudit", err)
	if len(all) != 7 {
		t.Fatalf("QueryAudit = %d entries, want 7", len(all))
	}
	var want []int64
	for _, e := range all {
		want = append(want, e.ID)
	}
	if !slices.IsSortedFunc(want, func(a, b int64) int { return int(b - a) }) {
		t.Fatalf("audit IDs not newest first: %v", want)
	}
	for _, limit := range []int{1, 2, 3, 7, 10} {
		got := pages(t, limit, func(after core.PageKey, limit int) ([]core.AuditEntry, error) {
			return s.QueryAudit(ctx, core.AuditQuery{Actor: "user:pager", After: after, Limit: limit})
		}, func(e core.AuditEntry) core.PageKey { return core.PageKey{ID: e.ID} })
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: pages = %v, want %v", limit, got, want)
		}
	}
}

func testOutagePages(t *testing.T, s core.Store) {
	a, b := device(t, s, "pages-a"), device(t, s, "pages-b")
	var open []core.Outage
	for i := range 9 {
		d := a
		if i%3 == 2 {
			d = b
		}
		// Pairs opened at the same instant, and IDs not in the order of
		// time (opened_at descends as the IDs ascend for half of them).
		at := t0.Add(time.Duration(i/2) * time.Minute)
		if i%2 == 1 {
			at = t0.Add(-time.Duration(i) * time.Hour)
		}
		open = append(open, core.Outage{Ref: fmt.Sprintf("pg%d", i), DeviceID: d.ID, Kind: core.OutageCheck,
			Severity: core.AlertFailure, OpenedAt: at})
	}
	must(t, "open", s.ApplyAlertChange(ctx, core.AlertChange{Open: open}))
	for _, f := range []core.OutageFilter{{}, {DeviceID: a.ID}} {
		all, err := s.ListOutages(ctx, f)
		must(t, "ListOutages", err)
		var want []int64
		for _, o := range all {
			want = append(want, o.ID)
		}
		if f.DeviceID == 0 && len(want) != 9 || f.DeviceID != 0 && len(want) != 6 {
			t.Fatalf("ListOutages(%+v) = %d outages", f, len(want))
		}
		for _, limit := range []int{1, 2, 4, 9} {
			got := pages(t, limit, func(after core.PageKey, limit int) ([]core.Outage, error) {
				g := f
				g.After, g.Limit = after, limit
				return s.ListOutages(ctx, g)
			}, func(o core.Outage) core.PageKey { return core.PageKey{At: o.OpenedAt, ID: o.ID} })
			if !slices.Equal(got, want) {
				t.Errorf("%+v limit %d: pages = %v, want %v", f, limit, got, want)
			}
		}
		n, err := s.CountOutages(ctx, core.OutageFilter{DeviceID: f.DeviceID, After: core.PageKey{At: t0, ID: want[0]}})
		must(t, "CountOutages", err)
		if n != len(want) {
			t.Errorf("CountOutages with a page key = %d, want %d (the key does not narrow the count)", n, len(want))
		}
	}
}

func testTimeEntryPages(t *testing.T, s core.Store) {
	a, b := device(t, s, "time-a").ClientID, device(t, s, "time-b").ClientID
	for i := range 8 {
		c := a
		if i%4 == 3 {
			c = b
		}
		// Three entries per start time; later IDs start earlier for some.
		timeEntry(t, s, c, t0.Add(-time.Duration(i%3)*time.Hour), 10)
	}
	for _, q := range []core.TimeQuery{{}, {ClientID: a}, {Scope: core.Only(b)}} {
		all, err := s.ListTimeEntries(ctx, q)
		must(t, "ListTimeEntries", err)
		var want []int64
		for _, e := range all {
			want = append(want, e.ID)
		}
		if n := map[int64]int{0: 8, a: 6}[q.ClientID]; q.Scope.Restricted && len(want) != 2 || !q.Scope.Restricted && len(want) != n {
			t.Fatalf("ListTimeEntries(%+v) = %d entries", q, len(want))
		}
		for _, limit := range []int{1, 3, 8} {
			got := pages(t, limit, func(after core.PageKey, limit int) ([]core.TimeEntry, error) {
				p := q
				p.After, p.Limit = after, limit
				return s.ListTimeEntries(ctx, p)
			}, func(e core.TimeEntry) core.PageKey { return core.PageKey{At: e.StartedAt, ID: e.ID} })
			if !slices.Equal(got, want) {
				t.Errorf("%+v limit %d: pages = %v, want %v", q, limit, got, want)
			}
		}
	}
}

// testScriptRunPages: a device's script and task runs page together, ties
// in time (also across both kinds) by ID, each run once.
func testScriptRunPages(t *testing.T, s core.Store) {
	d, other := device(t, s, "runs-a"), device(t, s, "runs-b")
	sc := core.Script{Name: "pager", Language: "sh", Body: "echo", RunAs: core.RunAsSystem, TimeoutSeconds: 60}
	must(t, "CreateScript", s.CreateScript(ctx, &sc))
	for _, at := range []time.Time{t0, t0, t0.Add(-time.Minute)} {
		j := core.ScriptJob{ScriptID: sc.ID, ScriptVersion: 1, Target: "devices", CreatedBy: "user:pager", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
		_, err := s.CreateScriptJob(ctx, &j, queuedRuns(d.ID, other.ID))
		must(t, "CreateScriptJob", err)
	}
	var batch []core.Result
	for i, at := range []time.Time{t0, t0, t0.Add(-time.Minute), t0.Add(-2 * time.Minute)} {
		id := fmt.Sprintf("t-pager-%d", i)
		batch = append(batch, taskResult(t, id, "pager", protocol.TaskRun{RunID: id, ScriptID: sc.ID, ScriptVersion: 1,
			Trigger: protocol.TriggerSchedule, StartedAt: at}))
	}
	must(t, "SaveResults", s.SaveResults(ctx, d.ID, batch))

	all, err := s.ListScriptRuns(ctx, core.ScriptRunFilter{DeviceID: d.ID})
	must(t, "ListScriptRuns", err)
	var want []core.PageKey
	for _, r := range all {
		want = append(want, core.PageKey{At: r.QueuedAt, Name: r.ID})
	}
	if len(want) != 7 || !slices.IsSortedFunc(want, func(a, b core.PageKey) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(b.Name, a.Name)
	}) {
		t.Fatalf("ListScriptRuns = %v, want 7 newest first, ties by ID descending", want)
	}
	for _, limit := range []int{1, 2, 3, 7} {
		got := pageKeys(t, limit, func(after core.PageKey, limit int) ([]core.ScriptRun, error) {
			return s.ListScriptRuns(ctx, core.ScriptRunFilter{DeviceID: d.ID, After: after, Limit: limit})
		}, func(r core.ScriptRun) core.PageKey { return core.PageKey{At: r.QueuedAt, Name: r.ID} })
		if !slices.EqualFunc(got, want, func(a, b core.PageKey) bool { return a.At.Equal(b.At) && a.Name == b.Name }) {
			t.Errorf("limit %d: pages = %v, want %v", limit, got, want)
		}
	}
}

// testSupportRequestPages: support requests page by received time and ID,
// filtered, and the total counts every request the filter selects.
func testSupportRequestPages(t *testing.T, s core.Store) {
	a, b := device(t, s, "sr-a"), device(t, s, "sr-b")
	for i := range 7 {
		d := a
		if i%3 == 2 {
			d = b
		}
		// Pairs received at the same instant; the ID breaks the tie.
		saveSupport(t, s, supportRequest(d, fmt.Sprintf("page-%d", i), t0.Add(-time.Duration(i/2)*time.Minute)), nil)
	}
	for _, f := range []core.SupportFilter{{}, {DeviceID: a.ID}} {
		all, total, err := s.ListSupportRequests(ctx, f)
		must(t, "ListSupportRequests", err)
		var want []int64
		for _, r := range all {
			want = append(want, r.ID)
		}
		if n := map[int64]int{0: 7, a.ID: 5}[f.DeviceID]; len(want) != n || total != n {
			t.Fatalf("ListSupportRequests(%+v) = %d requests, total %d", f, len(want), total)
		}
		for _, limit := range []int{1, 2, 7} {
			got := pages(t, limit, func(after core.PageKey, limit int) ([]core.SupportRequest, error) {
				p := f
				p.After, p.Limit = after, limit
				rs, n, err := s.ListSupportRequests(ctx, p)
				if err == nil && n != total {
					t.Errorf("%+v: total %d, want %d", p, n, total)
				}
				return rs, err
			}, func(r core.SupportRequest) core.PageKey { return core.PageKey{At: r.ReceivedAt, ID: r.ID} })
			if !slices.Equal(got, want) {
				t.Errorf("%+v limit %d: pages = %v, want %v", f, limit, got, want)
			}
		}
	}
}
