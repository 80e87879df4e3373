package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// reportTests are the conformance tests of core.ReportStore.
var reportTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"ReportSettings", testReportSettings},
	{"ReportRuns", testReportRuns},
	{"ReportReads", testReportReads},
}

func testReportSettings(t *testing.T, s core.Store) {
	d := device(t, s, "rep1")
	rs, err := s.GetReportSettings(ctx, d.ClientID)
	must(t, "GetReportSettings", err)
	if !rs.Enabled || rs.Hour != core.DefaultReportHour || len(rs.Recipients) != 0 || rs.ClientID != d.ClientID {
		t.Fatalf("defaults = %+v", rs)
	}
	want := core.ReportSettings{ClientID: d.ClientID, Enabled: false, Recipients: []string{"a@example.org", "b@example.org"}, Hour: "06:30"}
	must(t, "SetReportSettings", s.SetReportSettings(ctx, want))
	must(t, "SetReportSettings again", s.SetReportSettings(ctx, want))
	all, err := s.ListReportSettings(ctx)
	must(t, "ListReportSettings", err)
	if got := all[d.ClientID]; got.Enabled || got.Hour != "06:30" || !slices.Equal(got.Recipients, want.Recipients) || len(all) != 1 {
		t.Errorf("ListReportSettings = %+v", all)
	}
	_, err = s.GetReportSettings(ctx, 999999)
	wantErr(t, "unknown client", err, core.ErrNotFound)
	wantErr(t, "set unknown client", s.SetReportSettings(ctx, core.ReportSettings{ClientID: 999999, Hour: "07:00"}), core.ErrNotFound)

	u := core.User{Email: "tech@example.org", PasswordHash: "x", Role: core.RoleTechnician}
	must(t, "CreateUser", s.CreateUser(ctx, &u))
	off, err := s.DigestOff(ctx)
	must(t, "DigestOff", err)
	if off[u.ID] {
		t.Fatal("digest off by default")
	}
	must(t, "SetDigest off", s.SetDigest(ctx, u.ID, false))
	must(t, "SetDigest off again", s.SetDigest(ctx, u.ID, false))
	if off, _ = s.DigestOff(ctx); !off[u.ID] {
		t.Fatal("digest still on")
	}
	must(t, "SetDigest on", s.SetDigest(ctx, u.ID, true))
	if off, _ = s.DigestOff(ctx); off[u.ID] {
		t.Fatal("digest still off")
	}
}

func testReportRuns(t *testing.T, s core.Store) {
	run := core.ReportRun{Kind: core.ReportClient, TargetID: 7, Day: "2026-03-14", QueuedAt: t0}
	msg := func(key string) core.OutboxItem {
		return core.OutboxItem{DedupeKey: key, Channel: core.ChannelEmail, Target: "a@example.org", Payload: []byte(`{}`), NextAttemptAt: t0, CreatedAt: t0}
	}
	ok, err := s.QueueReport(ctx, &run, []core.OutboxItem{msg("report:7:2026-03-14:a"), msg("report:7:2026-03-14:b")})
	must(t, "QueueReport", err)
	if !ok {
		t.Fatal("first QueueReport queued nothing")
	}
	// The same run again (a restart, another node) queues nothing.
	ok, err = s.QueueReport(ctx, &run, []core.OutboxItem{msg("report:7:2026-03-14:c")})
	must(t, "QueueReport again", err)
	if ok {
		t.Fatal("second QueueReport of the same run queued")
	}
	// Another kind on the same day with a key already queued skips that key.
	ok, err = s.QueueReport(ctx, &core.ReportRun{Kind: core.ReportDigest, TargetID: 7, Day: "2026-03-14"},
		[]core.OutboxItem{msg("report:7:2026-03-14:a"), msg("digest:7:2026-03-14")})
	must(t, "QueueReport digest", err)
	if !ok {
		t.Fatal("digest run not queued")
	}
	// Without a run (sent by hand) the messages are queued every time.
	ok, err = s.QueueReport(ctx, nil, []core.OutboxItem{msg("report-now:7:1")})
	must(t, "QueueReport without run", err)
	if !ok {
		t.Fatal("QueueReport without run queued nothing")
	}
	box, err := s.ListOutbox(ctx, 0)
	must(t, "ListOutbox", err)
	var keys []string
	for _, m := range box {
		keys = append(keys, m.DedupeKey)
	}
	slices.Sort(keys)
	if want := []string{"digest:7:2026-03-14", "report-now:7:1", "report:7:2026-03-14:a", "report:7:2026-03-14:b"}; !slices.Equal(keys, want) {
		t.Errorf("outbox keys = %q, want %q", keys, want)
	}
	runs, err := s.ListReportRuns(ctx, "2026-03-14")
	must(t, "ListReportRuns", err)
	if len(runs) != 2 || !slices.ContainsFunc(runs, func(r core.ReportRun) bool { return r == run }) {
		t.Errorf("runs = %+v", runs)
	}
	if runs, _ := s.ListReportRuns(ctx, "2026-03-15"); len(runs) != 0 {
		t.Errorf("runs of another day = %+v", runs)
	}
}

func testReportReads(t *testing.T, s core.Store) {
	d := device(t, s, "rep2")
	other := device(t, s, "rep3")
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	must(t, "SaveResults", s.SaveResults(ctx, d.ID, []core.Result{
		{ID: "r1", Check: "disk", Key: "/", Status: core.StatusFailure, Value: fp(97), Unit: "%", At: at(0)},
		{ID: "r2", Check: "disk", Key: "/", Status: core.StatusOK, Value: fp(50), Unit: "%", At: at(5)},
		{ID: "r3", Check: "eventlog", Status: core.StatusFailure, Value: fp(2), Unit: "events",
			Message: core.Text{EN: "2 critical events"}, Data: json.RawMessage(`{"kind":"events","v":1,"total":2,"events":[]}`), At: at(10)},
		{ID: "r4", Check: "cpu", Status: core.StatusFailure, At: at(120)}, // after the window
	}))
	must(t, "SaveResults other", s.SaveResults(ctx, other.ID, []core.Result{
		{ID: "o1", Check: "disk", Key: "/", Status: core.StatusFailure, At: at(1)},
	}))
	rs, err := s.ListClientResults(ctx, core.ResultQuery{ClientID: d.ClientID, Since: at(0), Until: at(60), Names: []string{"eventlog", "disk"}})
	must(t, "ListClientResults", err)
	var ids []string
	for _, r := range rs {
		ids = append(ids, r.ID)
		if r.DeviceID != d.ID {
			t.Errorf("result %s of device %d", r.ID, r.DeviceID)
		}
	}
	if want := []string{"r3", "r2", "r1"}; !slices.Equal(ids, want) {
		t.Errorf("results = %q, want %q (newest first, named checks, in the window)", ids, want)
	}
	if rs[0].Check != "eventlog" || rs[0].Message.EN != "2 critical events" || *rs[0].Value != 2 || rs[2].Key != "/" {
		t.Errorf("fields: %+v", rs)
	}
	// Structured data comes back as stored (as a JSON value: PostgreSQL
	// may store it in its own form); a result without it has none.
	var data map[string]any
	if err := json.Unmarshal(rs[0].Data, &data); err != nil || data["kind"] != "events" || data["total"] != 2.0 {
		t.Errorf("data = %s (%v)", rs[0].Data, err)
	}
	if rs[1].Data != nil {
		t.Errorf("data of a result without = %q", rs[1].Data)
	}
	rs, err = s.ListClientResults(ctx, core.ResultQuery{ClientID: d.ClientID, Since: at(0), Until: at(60), Names: []string{"eventlog"}, Limit: 1})
	must(t, "ListClientResults eventlog", err)
	if len(rs) != 1 || rs[0].ID != "r3" {
		t.Errorf("eventlog only = %+v", rs)
	}

	// Failures summed up per check instance: the disk failed twice (the
	// last failure's message wins), the cpu's failure is after the window,
	// the other client's failure is not this client's.
	must(t, "SaveResults more", s.SaveResults(ctx, d.ID, []core.Result{
		{ID: "r5", Check: "disk", Key: "/", Status: core.StatusFailure, Value: fp(99), Unit: "%", Message: core.Text{EN: "99%", DE: "99 %"}, At: at(30)},
	}))
	fs, err := s.ListClientFailures(ctx, d.ClientID, at(0), at(60))
	must(t, "ListClientFailures", err)
	if len(fs) != 2 {
		t.Fatalf("failures = %+v, want disk and eventlog", fs)
	}
	disk, ev := fs[0], fs[1]
	if disk.DeviceID != d.ID || disk.Check != "disk" || disk.Key != "/" || disk.Count != 2 || !disk.First.Equal(at(0)) ||
		disk.Last.ID != "r5" || !disk.Last.At.Equal(at(30)) || *disk.Last.Value != 99 || disk.Last.Unit != "%" ||
		disk.Last.Message.DE != "99 %" || disk.Last.Status != core.StatusFailure {
		t.Errorf("disk failures = %+v", disk)
	}
	if ev.Check != "eventlog" || ev.Count != 1 || ev.Last.ID != "r3" {
		t.Errorf("eventlog failures = %+v", ev)
	}
	if fs, _ := s.ListClientFailures(ctx, other.ClientID, at(0), at(60)); len(fs) != 1 || fs[0].DeviceID != other.ID {
		t.Errorf("other client's failures = %+v", fs)
	}

	open := func(ref string, opened time.Time, closed *time.Time) {
		must(t, "open outage", s.ApplyAlertChange(ctx, core.AlertChange{Open: []core.Outage{{Ref: ref, DeviceID: d.ID,
			Kind: core.OutageOffline, Severity: "offline", OpenedAt: opened}}}))
		if closed != nil {
			must(t, "close outage", s.ApplyAlertChange(ctx, core.AlertChange{Close: []core.OutageClose{{Ref: ref, At: *closed}}}))
		}
	}
	before, inside, after := at(-30), at(20), at(90)
	open("closed-before", at(-60), &before)
	open("closed-inside", at(-10), &inside)
	open("still-open", at(30), nil)
	open("opened-after", after, nil)
	os, err := s.ListClientOutages(ctx, d.ClientID, at(0), at(60))
	must(t, "ListClientOutages", err)
	var refs []string
	for _, o := range os {
		refs = append(refs, o.Ref)
	}
	if want := []string{"closed-inside", "still-open"}; !slices.Equal(refs, want) {
		t.Errorf("outages = %q, want %q", refs, want)
	}
	if os, _ := s.ListClientOutages(ctx, other.ClientID, at(-100), at(100)); len(os) != 0 {
		t.Errorf("other client's outages = %+v", os)
	}
}
