package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// alertTests are the conformance tests of core.AlertStore.
var alertTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"AlertStateAndOutages", testAlertStateAndOutages},
	{"AlertAckAndClear", testAlertAckAndClear},
	{"OutageFilter", testOutageFilter},
	{"AlertPresence", testAlertPresence},
	{"AlertRecipients", testAlertRecipients},
	{"Outbox", testOutbox},
	{"OutboxGiveUp", testOutboxGiveUp},
}

func testAlertStateAndOutages(t *testing.T, s core.Store) {
	d := device(t, s, "alert1")
	must(t, "SaveResults", s.SaveResults(ctx, d.ID, []core.Result{
		{ID: "a1", Check: "disk", Key: "/", Status: core.StatusFailure, Value: fp(97.5), Unit: "%", At: t0},
	}))
	pending, err := s.PendingCheckStates(ctx)
	must(t, "PendingCheckStates", err)
	if len(pending) != 1 || pending[0].DeviceID != d.ID || pending[0].Name != "disk" {
		t.Fatalf("pending = %+v, want the disk check of device %d", pending, d.ID)
	}
	states, err := s.AlertStates(ctx, d.ID)
	must(t, "AlertStates", err)
	if len(states) != 1 || states[0].Known || states[0].State != core.AlertOK {
		t.Fatalf("states before evaluation = %+v", states)
	}
	a := states[0]
	a.State, a.Consecutive, a.OutageRef, a.LastAt = core.AlertFailure, 1, "ref-1", t0
	a.Changes = []time.Time{t0}
	o := core.Outage{Ref: "ref-1", DeviceID: d.ID, CheckID: a.CheckID, Kind: core.OutageCheck, CheckName: "disk",
		CheckKey: "/", Severity: core.AlertFailure, Value: fp(97.5), Unit: "%",
		Message: core.Text{EN: "full", DE: "voll"}, OpenedAt: t0}
	msg := core.OutboxItem{DedupeKey: "k1", Channel: core.ChannelEmail, Target: "a@example.org",
		Payload: []byte(`{"x":1}`), NextAttemptAt: t0, CreatedAt: t0}
	change := core.AlertChange{States: []core.AlertState{a}, Open: []core.Outage{o}, Notified: []string{"ref-1"},
		Outbox: []core.OutboxItem{msg}}
	must(t, "ApplyAlertChange", s.ApplyAlertChange(ctx, change))
	// Applying the same messages again queues nothing new.
	must(t, "ApplyAlertChange (outbox again)", s.ApplyAlertChange(ctx, core.AlertChange{Outbox: []core.OutboxItem{msg}}))
	if box, _ := s.ListOutbox(ctx, 0); len(box) != 1 {
		t.Fatalf("outbox has %d items, want 1 (dedupe key)", len(box))
	}

	states, err = s.AlertStates(ctx, d.ID)
	must(t, "AlertStates", err)
	got := states[0]
	if !got.Known || got.State != core.AlertFailure || got.Consecutive != 1 || got.OutageRef != "ref-1" ||
		!got.LastAt.Equal(t0) || len(got.Changes) != 1 || !got.Changes[0].Equal(t0) {
		t.Fatalf("state after apply = %+v", got)
	}
	if pending, _ := s.PendingCheckStates(ctx); len(pending) != 0 {
		t.Fatalf("pending after evaluation = %+v", pending)
	}
	open, err := s.ListOutages(ctx, core.OutageFilter{OpenOnly: true})
	must(t, "ListOutages", err)
	if len(open) != 1 || open[0].Ref != "ref-1" || !open[0].Notified || open[0].Hostname != "alert1" ||
		open[0].ClientName != "Client alert1" || open[0].SiteName != "Site alert1" || *open[0].Value != 97.5 ||
		open[0].Message.DE != "voll" {
		t.Fatalf("open outages = %+v", open)
	}
	must(t, "close", s.ApplyAlertChange(ctx, core.AlertChange{Close: []core.OutageClose{{Ref: "ref-1", At: t0.Add(time.Minute)}}}))
	if open, _ := s.ListOutages(ctx, core.OutageFilter{OpenOnly: true}); len(open) != 0 {
		t.Fatalf("open outages after close = %+v", open)
	}
	all, err := s.ListOutages(ctx, core.OutageFilter{DeviceID: d.ID})
	must(t, "ListOutages all", err)
	if len(all) != 1 || all[0].ClosedAt == nil || !all[0].ClosedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("outages = %+v", all)
	}
	// A duplicate outage ref is a conflict, and the whole change rolls back.
	err = s.ApplyAlertChange(ctx, core.AlertChange{Open: []core.Outage{o}, Outbox: []core.OutboxItem{{
		DedupeKey: "k2", Channel: core.ChannelEmail, Target: "b@example.org", Payload: []byte("{}")}}})
	wantErr(t, "duplicate ref", err, core.ErrConflict)
	if box, _ := s.ListOutbox(ctx, 0); len(box) != 1 {
		t.Fatalf("outbox has %d items after a failed change, want 1", len(box))
	}
	// Why an outage notified nobody is kept, and cleared once it is notified.
	quiet := core.Outage{Ref: "ref-quiet", DeviceID: d.ID, Kind: core.OutageOffline, Severity: core.OutageOffline,
		OpenedAt: t0, NotNotified: core.NotNotifiedNoRecipient}
	must(t, "open unnotified", s.ApplyAlertChange(ctx, core.AlertChange{Open: []core.Outage{quiet}}))
	must(t, "unnotified", s.ApplyAlertChange(ctx, core.AlertChange{Unnotified: map[string]string{"ref-quiet": core.NotNotifiedNoMailServer}}))
	notNotified := func() string {
		os, err := s.ListOutages(ctx, core.OutageFilter{OpenOnly: true, DeviceID: d.ID})
		must(t, "ListOutages", err)
		for _, o := range os {
			if o.Ref == "ref-quiet" {
				return o.NotNotified
			}
		}
		return "missing"
	}
	if got := notNotified(); got != core.NotNotifiedNoMailServer {
		t.Fatalf("not notified = %q, want %q", got, core.NotNotifiedNoMailServer)
	}
	must(t, "notified", s.ApplyAlertChange(ctx, core.AlertChange{Notified: []string{"ref-quiet"},
		Close: []core.OutageClose{{Ref: "ref-quiet", At: t0}}}))
	all0, err := s.ListOutages(ctx, core.OutageFilter{DeviceID: d.ID})
	must(t, "ListOutages", err)
	for _, o := range all0 {
		if o.Ref == "ref-quiet" && (!o.Notified || o.NotNotified != "") {
			t.Fatalf("notified outage keeps not notified %q (notified %v)", o.NotNotified, o.Notified)
		}
	}
}

func testAlertAckAndClear(t *testing.T, s core.Store) {
	d := device(t, s, "alert2")
	must(t, "SaveResults", s.SaveResults(ctx, d.ID, []core.Result{{ID: "b1", Check: "cpu", Status: core.StatusOK, At: t0}}))
	states, _ := s.AlertStates(ctx, d.ID)
	must(t, "open", s.ApplyAlertChange(ctx, core.AlertChange{Open: []core.Outage{{Ref: "r2", DeviceID: d.ID,
		CheckID: states[0].CheckID, Kind: core.OutageCheck, CheckName: "cpu", Severity: core.AlertFailure, OpenedAt: t0}}}))
	open, _ := s.ListOutages(ctx, core.OutageFilter{OpenOnly: true, DeviceID: d.ID})
	if len(open) != 1 {
		t.Fatalf("open = %+v", open)
	}
	must(t, "AckOutage", s.AckOutage(ctx, open[0].ID, "user:tech@example.org", "looking into it", t0))
	o, err := s.GetOutage(ctx, open[0].ID)
	must(t, "GetOutage", err)
	if o.AckedAt == nil || !o.AckedAt.Equal(t0) || o.AckedBy != "user:tech@example.org" || o.AckComment != "looking into it" {
		t.Fatalf("acked outage = %+v", o)
	}
	wantErr(t, "AckOutage unknown", s.AckOutage(ctx, 999999, "x", "", t0), core.ErrNotFound)
	_, err = s.GetOutage(ctx, 999999)
	wantErr(t, "GetOutage unknown", err, core.ErrNotFound)

	until := t0.Add(24 * time.Hour)
	must(t, "ClearCheck", s.ClearCheck(ctx, d.ID, states[0].CheckID, &until, true))
	states, _ = s.AlertStates(ctx, d.ID)
	if a := states[0]; a.ClearedUntil == nil || !a.ClearedUntil.Equal(until) || !a.ClearUntilPass {
		t.Fatalf("cleared state = %+v", a)
	}
	other := device(t, s, "alert2b")
	wantErr(t, "ClearCheck of another device's check", s.ClearCheck(ctx, other.ID, states[0].CheckID, nil, true), core.ErrNotFound)
}

// testOutageFilter covers the dashboard's selections: open, acknowledged,
// recently closed, by client, severity and the reader's scope.
func testOutageFilter(t *testing.T, s core.Store) {
	a, b := device(t, s, "filter-a"), device(t, s, "filter-b")
	must(t, "open", s.ApplyAlertChange(ctx, core.AlertChange{Open: []core.Outage{
		{Ref: "f1", DeviceID: a.ID, Kind: core.OutageCheck, Severity: core.AlertFailure, OpenedAt: t0},
		{Ref: "f2", DeviceID: a.ID, Kind: core.OutageOffline, Severity: core.OutageOffline, OpenedAt: t0.Add(time.Minute)},
		{Ref: "f3", DeviceID: b.ID, Kind: core.OutageCheck, Severity: core.AlertFailure, OpenedAt: t0.Add(2 * time.Minute)},
		{Ref: "f4", DeviceID: b.ID, Kind: core.OutageCheck, Severity: core.AlertFailure, OpenedAt: t0.Add(-48 * time.Hour)},
	}, Close: []core.OutageClose{{Ref: "f4", At: t0.Add(-47 * time.Hour)}}}))
	must(t, "close f3", s.ApplyAlertChange(ctx, core.AlertChange{Close: []core.OutageClose{{Ref: "f3", At: t0.Add(time.Hour)}}}))
	all, err := s.ListOutages(ctx, core.OutageFilter{})
	must(t, "ListOutages", err)
	id := map[string]int64{}
	for _, o := range all {
		id[o.Ref] = o.ID
	}
	must(t, "AckOutage", s.AckOutage(ctx, id["f2"], "user:x", "", t0))
	refs := func(f core.OutageFilter) string {
		t.Helper()
		os, err := s.ListOutages(ctx, f)
		must(t, "ListOutages", err)
		n, err := s.CountOutages(ctx, f)
		must(t, "CountOutages", err)
		var out []string
		for _, o := range os {
			out = append(out, o.Ref)
		}
		if f.Limit == 0 && n != len(os) {
			t.Errorf("CountOutages(%+v) = %d, ListOutages has %d", f, n, len(os))
		}
		return fmt.Sprint(out)
	}
	for _, tc := range []struct {
		f    core.OutageFilter
		want string
	}{
		{core.OutageFilter{State: core.OutagesOpen}, "[f1]"},
		{core.OutageFilter{State: core.OutagesAcked}, "[f2]"},
		{core.OutageFilter{State: core.OutagesClosed}, "[f3 f4]"},
		{core.OutageFilter{State: core.OutagesClosed, ClosedSince: t0.Add(-time.Hour)}, "[f3]"},
		{core.OutageFilter{OpenOnly: true}, "[f2 f1]"},
		{core.OutageFilter{ClientID: a.ClientID}, "[f2 f1]"},
		{core.OutageFilter{Severity: core.OutageOffline}, "[f2]"},
		{core.OutageFilter{Severity: core.AlertFailure, Limit: 1}, "[f3]"},
		{core.OutageFilter{Scope: core.Only(b.ClientID)}, "[f3 f4]"},
		{core.OutageFilter{Scope: core.Only()}, "[]"},
		{core.OutageFilter{Scope: core.Only(b.ClientID), ClientID: a.ClientID}, "[]"},
	} {
		if got := refs(tc.f); got != tc.want {
			t.Errorf("ListOutages(%+v) = %s, want %s", tc.f, got, tc.want)
		}
	}
	_, err = s.ListOutages(ctx, core.OutageFilter{State: "sideways"})
	wantErr(t, "unknown state", err, core.ErrInvalid)
}

func testAlertPresence(t *testing.T, s core.Store) {
	d := device(t, s, "alert3")
	if ps, _ := s.ListPresence(ctx); len(ps) != 0 {
		t.Fatalf("presence of a never-seen device: %+v", ps)
	}
	_, err := s.GetPresence(ctx, d.ID)
	wantErr(t, "GetPresence of a never-seen device", err, core.ErrNotFound)
	other := device(t, s, "alert4")
	must(t, "TouchDevice", s.TouchDevice(ctx, other.ID, t0.Add(-time.Hour), ""))
	must(t, "TouchDevice", s.TouchDevice(ctx, d.ID, t0, ""))
	must(t, "SetGoodbye", s.SetGoodbye(ctx, d.ID, "reboot", t0.Add(time.Second)))
	ps, err := s.ListPresence(ctx)
	must(t, "ListPresence", err)
	if len(ps) != 2 || ps[0].DeviceID != d.ID || ps[0].GoodbyeReason != "reboot" || !ps[0].GoodbyeAt.Equal(t0.Add(time.Second)) ||
		!ps[0].LastSeen.Equal(t0) || ps[0].Role == "" || ps[1].DeviceID != other.ID {
		t.Fatalf("presence = %+v", ps)
	}
	// GetPresence reads what ListPresence lists, device by device.
	samePresence := func(when string) {
		t.Helper()
		ps, err := s.ListPresence(ctx)
		must(t, "ListPresence", err)
		for _, want := range ps {
			got, err := s.GetPresence(ctx, want.DeviceID)
			must(t, "GetPresence", err)
			if got.DeviceID != want.DeviceID || got.Role != want.Role || !got.LastSeen.Equal(want.LastSeen) ||
				got.GoodbyeReason != want.GoodbyeReason || (got.GoodbyeAt == nil) != (want.GoodbyeAt == nil) ||
				(got.GoodbyeAt != nil && !got.GoodbyeAt.Equal(*want.GoodbyeAt)) || got.OutageRef != want.OutageRef {
				t.Fatalf("%s: GetPresence(%d) = %+v, ListPresence has %+v", when, want.DeviceID, got, want)
			}
		}
	}
	samePresence("after a goodbye")
	must(t, "presence change", s.ApplyAlertChange(ctx, core.AlertChange{Presence: &core.Presence{DeviceID: d.ID, OutageRef: "off-1"}}))
	ps, _ = s.ListPresence(ctx)
	if ps[0].OutageRef != "off-1" || ps[0].GoodbyeAt != nil || ps[0].GoodbyeReason != "" {
		t.Fatalf("presence after change = %+v", ps)
	}
	samePresence("with an outage")
	must(t, "RevokeDevice", s.RevokeDevice(ctx, d.ID))
	must(t, "RevokeDevice", s.RevokeDevice(ctx, other.ID))
	if ps, _ := s.ListPresence(ctx); len(ps) != 0 {
		t.Fatalf("presence lists a revoked device: %+v", ps)
	}
	_, err = s.GetPresence(ctx, d.ID)
	wantErr(t, "GetPresence of a revoked device", err, core.ErrNotFound)
}

func testAlertRecipients(t *testing.T, s core.Store) {
	r := core.Recipient{Level: core.LevelDefault, Channel: core.ChannelWebhook, Target: "https://127.0.0.1/hook",
		Lang: "de", Hours: core.HoursOffice, Format: core.WebhookJSON, Secret: "s3cret"}
	must(t, "CreateRecipient", s.CreateRecipient(ctx, &r))
	if r.ID == 0 || r.CreatedAt.IsZero() {
		t.Fatalf("recipient = %+v", r)
	}
	rs, err := s.ListRecipients(ctx)
	must(t, "ListRecipients", err)
	if len(rs) != 1 || rs[0].Secret != "s3cret" || rs[0].Hours != core.HoursOffice || rs[0].Lang != "de" {
		t.Fatalf("recipients = %+v", rs)
	}
	must(t, "DeleteRecipient", s.DeleteRecipient(ctx, r.ID))
	wantErr(t, "DeleteRecipient again", s.DeleteRecipient(ctx, r.ID), core.ErrNotFound)
}

func testOutbox(t *testing.T, s core.Store) {
	var items []core.OutboxItem
	for i, k := range []string{"o1", "o2", "o3"} {
		items = append(items, core.OutboxItem{DedupeKey: k, Channel: core.ChannelEmail, Target: "x@example.org",
			Payload: []byte(`{}`), NextAttemptAt: t0.Add(time.Duration(i) * time.Second), CreatedAt: t0})
	}
	must(t, "queue", s.ApplyAlertChange(ctx, core.AlertChange{Outbox: items}))
	got, err := s.ClaimOutbox(ctx, t0.Add(time.Second), 10, time.Minute)
	must(t, "ClaimOutbox", err)
	if len(got) != 2 || got[0].DedupeKey != "o1" || got[1].DedupeKey != "o2" {
		t.Fatalf("claimed %+v, want o1 and o2", got)
	}
	// Leased items are not claimed again until the lease ends.
	if again, _ := s.ClaimOutbox(ctx, t0.Add(2*time.Second), 10, time.Minute); len(again) != 1 || again[0].DedupeKey != "o3" {
		t.Fatalf("second claim = %+v, want o3 only", again)
	}
	must(t, "MarkDelivered", s.MarkDelivered(ctx, got[0].ID, t0.Add(time.Second)))
	must(t, "MarkFailed", s.MarkFailed(ctx, got[1].ID, "connection refused", t0.Add(5*time.Second)))
	wantErr(t, "MarkFailed delivered", s.MarkFailed(ctx, got[0].ID, "x", t0), core.ErrNotFound)
	later, err := s.ClaimOutbox(ctx, t0.Add(2*time.Minute), 10, time.Minute)
	must(t, "ClaimOutbox later", err)
	if len(later) != 2 || later[0].DedupeKey != "o2" || later[0].Attempts != 1 || later[0].LastError != "connection refused" {
		t.Fatalf("later claim = %+v, want o2 (1 attempt) and o3", later)
	}
	must(t, "MarkDeliveredAll", s.MarkDeliveredAll(ctx, []int64{later[0].ID, later[1].ID}, t0.Add(3*time.Minute)))
	must(t, "MarkDeliveredAll none", s.MarkDeliveredAll(ctx, nil, t0))
	if again, _ := s.ClaimOutbox(ctx, t0.Add(time.Hour), 10, time.Minute); len(again) != 0 {
		t.Fatalf("claimed after delivery: %+v", again)
	}
	box, _ := s.ListOutbox(ctx, 0)
	delivered := 0
	for _, m := range box {
		if m.DeliveredAt != nil {
			delivered++
		}
	}
	if len(box) != 3 || delivered != 3 || box[0].Attempts != 1 || box[1].Attempts != 2 {
		t.Fatalf("outbox = %+v", box)
	}
}

func testOutboxGiveUp(t *testing.T, s core.Store) {
	var items []core.OutboxItem
	for _, k := range []string{"g1", "g2"} {
		items = append(items, core.OutboxItem{DedupeKey: k, Channel: core.ChannelWebhook, Target: "https://example.org/hook",
			Payload: []byte(`{}`), NextAttemptAt: t0, CreatedAt: t0})
	}
	must(t, "queue", s.ApplyAlertChange(ctx, core.AlertChange{Outbox: items}))
	got, err := s.ClaimOutbox(ctx, t0, 10, time.Minute)
	must(t, "ClaimOutbox", err)
	if len(got) != 2 || got[0].DedupeKey != "g1" {
		t.Fatalf("claimed %+v, want g1 and g2", got)
	}
	giveUp := t0.Add(25 * time.Hour)
	must(t, "MarkGivenUp", s.MarkGivenUp(ctx, got[0].ID, "503 service unavailable", giveUp))
	wantErr(t, "MarkGivenUp again", s.MarkGivenUp(ctx, got[0].ID, "x", giveUp), core.ErrNotFound)
	wantErr(t, "MarkFailed given up", s.MarkFailed(ctx, got[0].ID, "x", giveUp), core.ErrNotFound)
	wantErr(t, "RetryOutbox not given up", s.RetryOutbox(ctx, got[1].ID, giveUp), core.ErrNotFound)
	// A given-up message is neither claimed nor counted in the backlog.
	if again, _ := s.ClaimOutbox(ctx, t0.Add(48*time.Hour), 10, time.Minute); len(again) != 1 || again[0].DedupeKey != "g2" {
		t.Fatalf("claim after giving up = %+v, want g2 only", again)
	}
	if n, err := s.OutboxBacklog(ctx); err != nil || n != 1 {
		t.Fatalf("backlog = %d, %v; want 1", n, err)
	}
	box, _ := s.ListOutbox(ctx, 0)
	if len(box) != 2 || box[1].DedupeKey != "g1" || box[1].GivenUpAt == nil || !box[1].GivenUpAt.Equal(giveUp) ||
		box[1].Attempts != 1 || box[1].LastError != "503 service unavailable" || box[1].DeliveredAt != nil {
		t.Fatalf("outbox = %+v, want g1 given up after one attempt", box)
	}
	if box[0].GivenUpAt != nil || !box[1].OutboxStart().Equal(t0) {
		t.Fatalf("outbox = %+v, want g2 not given up, g1 counted from its creation", box)
	}
	// A retry makes it due again, counting its limit from the retry.
	must(t, "MarkDelivered g2", s.MarkDelivered(ctx, got[1].ID, t0.Add(48*time.Hour)))
	retry := t0.Add(50 * time.Hour)
	must(t, "RetryOutbox", s.RetryOutbox(ctx, got[0].ID, retry))
	wantErr(t, "RetryOutbox again", s.RetryOutbox(ctx, got[0].ID, retry), core.ErrNotFound)
	if n, _ := s.OutboxBacklog(ctx); n != 1 {
		t.Fatalf("backlog after retry = %d, want 1", n)
	}
	again, err := s.ClaimOutbox(ctx, retry, 10, time.Minute)
	must(t, "ClaimOutbox after retry", err)
	if len(again) != 1 || again[0].DedupeKey != "g1" || again[0].GivenUpAt != nil || again[0].RetriedAt == nil ||
		!again[0].OutboxStart().Equal(retry) || again[0].Attempts != 1 {
		t.Fatalf("claim after retry = %+v, want g1 due again since the retry", again)
	}
}
