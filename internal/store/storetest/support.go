package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
)

var supportTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"Branding", testBranding},
	{"SupportSaveOnce", testSupportSaveOnce},
	{"SupportListFilters", testSupportListFilters},
	{"SupportUpdate", testSupportUpdate},
	{"SupportDeviceRequests", testSupportDeviceRequests},
	{"SupportDeviceDeleted", testSupportDeviceDeleted},
	{"SupportRetention", testSupportRetention},
}

// pngHeader stands for an icon or screenshot: the store keeps bytes as
// they are, so the bytes include a NUL and values above 0x7f.
var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x20\x00\x00\x00\x20\x08\x06\x00\x00\x00\xff")

func testBranding(t *testing.T, s core.Store) {
	c := site(t, s, "Müller GmbH", "Zentrale")
	_, err := s.GetBranding(ctx, c.ClientID)
	wantErr(t, "GetBranding before any", err, core.ErrNotFound)

	b := core.Branding{ClientID: c.ClientID, Show: true, ProductName: "Müller IT Rundum-Sorglos",
		Phone: "+49 221 123456", Email: "hilfe@mueller-it.example", URL: "https://mueller-it.example/hilfe",
		Hours:         core.Text{EN: "Mon–Fri 8am–5pm", DE: "Mo–Fr 8–17 Uhr"},
		RemoteSupport: core.RemoteSupportRustDesk, Icon: pngHeader, UpdatedAt: t0, UpdatedBy: "anna"}
	must(t, "SetBranding", s.SetBranding(ctx, b))
	got, err := s.GetBranding(ctx, c.ClientID)
	must(t, "GetBranding", err)
	sum := sha256.Sum256(pngHeader)
	want := b
	want.IconSHA256 = hex.EncodeToString(sum[:])
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetBranding = %+v\nwant %+v", got, want)
	}

	// Replacing without an icon removes it; Show false is kept as false.
	b2 := core.Branding{ClientID: c.ClientID, Show: false, ProductName: "Müller IT", IconSHA256: "stale",
		UpdatedAt: t0.Add(time.Hour), UpdatedBy: "ben"}
	must(t, "SetBranding without icon", s.SetBranding(ctx, b2))
	got, err = s.GetBranding(ctx, c.ClientID)
	must(t, "GetBranding", err)
	want = b2
	want.IconSHA256 = ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetBranding after removing the icon = %+v\nwant %+v", got, want)
	}

	wantErr(t, "SetBranding of an unknown client", s.SetBranding(ctx, core.Branding{ClientID: c.ClientID + 99}), core.ErrNotFound)
	other := site(t, s, "Schulz KG", "Lager")
	_, err = s.DeleteClient(ctx, other.ClientID, true, t0)
	must(t, "DeleteClient", err)
	wantErr(t, "SetBranding of a deleted client", s.SetBranding(ctx, core.Branding{ClientID: other.ClientID}), core.ErrNotFound)
}

// supportRequest is a request from d received at received.
func supportRequest(d core.Device, ref string, received time.Time) *core.SupportRequest {
	return &core.SupportRequest{DeviceID: d.ID, Ref: ref, OSUser: `MUELLER\anna`,
		Contact: core.SupportContact{Name: "Anna Müller", Email: "anna@mueller.example", Phone: "+49 221 1"},
		Message: "Mein Drucker druckt nicht (" + ref + ")", Lang: "de",
		CreatedAt: received.Add(-time.Second), ReceivedAt: received}
}

func saveSupport(t *testing.T, s core.Store, r *core.SupportRequest, shot []byte, outbox ...core.OutboxItem) {
	t.Helper()
	created, err := s.SaveSupportRequest(ctx, r, shot, outbox)
	must(t, "SaveSupportRequest", err)
	if !created {
		t.Fatalf("SaveSupportRequest %s: not created", r.Ref)
	}
}

func mail(key string) core.OutboxItem {
	return core.OutboxItem{DedupeKey: key, Channel: "email", Target: "techs@msp.example",
		Payload: []byte(`{"subject":"` + key + `"}`), CreatedAt: t0}
}

func testSupportSaveOnce(t *testing.T, s core.Store) {
	d := device(t, s, "pc1")
	st, err := s.GetSite(ctx, d.SiteID)
	must(t, "GetSite", err)
	c, err := s.GetClient(ctx, st.ClientID)
	must(t, "GetClient", err)

	r := supportRequest(d, "ref-1", t0)
	r.ClientID = 12345 // the store takes the device's client
	saveSupport(t, s, r, pngHeader, mail("support:1:tech1"), mail("support:1:tech2"))
	want := core.SupportRequest{ID: r.ID, DeviceID: d.ID, Hostname: "pc1", ClientID: c.ID, ClientName: c.Name,
		SiteName: st.Name, Ref: "ref-1", OSUser: `MUELLER\anna`,
		Contact: core.SupportContact{Name: "Anna Müller", Email: "anna@mueller.example", Phone: "+49 221 1"},
		Message: "Mein Drucker druckt nicht (ref-1)", Lang: "de", HasScreenshot: true, State: core.SupportNew,
		CreatedAt: t0.Add(-time.Second), ReceivedAt: t0, UpdatedAt: t0}
	if r.ID == 0 || !reflect.DeepEqual(*r, want) {
		t.Errorf("saved request = %+v\nwant %+v", *r, want)
	}
	got, err := s.GetSupportRequest(ctx, r.ID)
	must(t, "GetSupportRequest", err)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GetSupportRequest = %+v\nwant %+v", got, want)
	}
	shot, err := s.SupportScreenshot(ctx, r.ID)
	must(t, "SupportScreenshot", err)
	if !bytes.Equal(shot, pngHeader) {
		t.Errorf("SupportScreenshot = %q, want %q", shot, pngHeader)
	}
	outbox, err := s.ListOutbox(ctx, 0)
	must(t, "ListOutbox", err)
	if len(outbox) != 2 || string(outbox[0].Payload) != `{"subject":"support:1:tech2"}` {
		t.Fatalf("outbox after the first save = %+v", outbox)
	}

	// The agent resends: nothing changes, nothing is queued, r is the
	// stored request.
	again := supportRequest(d, "ref-1", t0.Add(time.Minute))
	again.Message = "a different text"
	created, err := s.SaveSupportRequest(ctx, again, nil, []core.OutboxItem{mail("support:1:again")})
	must(t, "SaveSupportRequest again", err)
	if created || !reflect.DeepEqual(*again, want) {
		t.Errorf("resent request: created %v, r = %+v\nwant %+v", created, *again, want)
	}
	if outbox, _ := s.ListOutbox(ctx, 0); len(outbox) != 2 {
		t.Errorf("outbox after the resend has %d items, want 2", len(outbox))
	}

	// A new request queues its items; a dedupe key already present is skipped.
	r2 := supportRequest(d, "ref-2", t0.Add(time.Hour))
	saveSupport(t, s, r2, nil, mail("support:1:tech1"), mail("support:2:tech1"))
	if r2.ID == r.ID || r2.HasScreenshot || !r2.CreatedAt.Equal(t0.Add(time.Hour-time.Second)) {
		t.Errorf("second request = %+v", *r2)
	}
	if outbox, _ := s.ListOutbox(ctx, 0); len(outbox) != 3 {
		t.Errorf("outbox has %d items, want 3", len(outbox))
	}
	_, err = s.SupportScreenshot(ctx, r2.ID)
	wantErr(t, "SupportScreenshot without one", err, core.ErrNotFound)
	_, err = s.SupportScreenshot(ctx, r2.ID+99)
	wantErr(t, "SupportScreenshot of an unknown request", err, core.ErrNotFound)
	_, err = s.GetSupportRequest(ctx, r2.ID+99)
	wantErr(t, "GetSupportRequest of an unknown request", err, core.ErrNotFound)

	// The same ref from another device is another request; without the
	// agent's time, it was sent when it was received.
	d2 := device(t, s, "pc2")
	r3 := supportRequest(d2, "ref-1", t0)
	r3.CreatedAt = time.Time{}
	saveSupport(t, s, r3, nil)
	if r3.ID == r.ID || r3.ClientID == r.ClientID || !r3.CreatedAt.Equal(t0) {
		t.Errorf("other device's request = %+v", *r3)
	}

	// Moving the device does not change whose requests it sent.
	must(t, "MoveDevice", s.MoveDevice(ctx, d.ID, d2.SiteID))
	got, err = s.GetSupportRequest(ctx, r.ID)
	must(t, "GetSupportRequest after the move", err)
	if got.ClientID != c.ID || got.ClientName != c.Name {
		t.Errorf("after moving the device the request is %d %q's, want %d %q's", got.ClientID, got.ClientName, c.ID, c.Name)
	}

	_, err = s.SaveSupportRequest(ctx, supportRequest(core.Device{ID: d2.ID + 99}, "ref-x", t0), nil, []core.OutboxItem{mail("support:x")})
	wantErr(t, "SaveSupportRequest of an unknown device", err, core.ErrNotFound)
	_, err = s.SaveSupportRequest(ctx, supportRequest(d, "", t0), nil, nil)
	wantErr(t, "SaveSupportRequest without a ref", err, core.ErrInvalid)
	if outbox, _ := s.ListOutbox(ctx, 0); len(outbox) != 3 {
		t.Errorf("outbox has %d items after refused saves, want 3", len(outbox))
	}
}

// refs lists the requests' refs in order.
func refs(rs []core.SupportRequest) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Ref)
	}
	return out
}

func testSupportListFilters(t *testing.T, s core.Store) {
	a1 := device(t, s, "a1")
	stA, _ := s.GetSite(ctx, a1.SiteID)
	a2 := deviceIn(t, s, stA, "a2")
	b1 := device(t, s, "b1")
	stB, _ := s.GetSite(ctx, b1.SiteID)
	// Received an hour apart in this order: a1-0 is the oldest.
	for i, d := range []core.Device{a1, a2, b1, a1, b1} {
		r := supportRequest(d, fmt.Sprintf("%s-%d", d.Hostname, i), t0.Add(time.Duration(i)*time.Hour))
		saveSupport(t, s, r, pngHeader)
	}
	all, total, err := s.ListSupportRequests(ctx, core.SupportFilter{})
	must(t, "ListSupportRequests", err)
	if want := []string{"b1-4", "a1-3", "b1-2", "a2-1", "a1-0"}; !reflect.DeepEqual(refs(all), want) || total != 5 {
		t.Fatalf("all requests = %v (total %d), want %v", refs(all), total, want)
	}
	if !all[0].HasScreenshot || all[0].SiteName != stB.Name || all[0].Hostname != "b1" {
		t.Errorf("listed request = %+v", all[0])
	}
	byRef := map[string]int64{}
	for _, r := range all {
		byRef[r.Ref] = r.ID
	}
	_, err = s.UpdateSupportRequest(ctx, byRef["a1-3"], core.SupportUpdate{State: core.SupportDone, At: t0.Add(5 * time.Hour)})
	must(t, "UpdateSupportRequest", err)
	_, err = s.UpdateSupportRequest(ctx, byRef["a2-1"], core.SupportUpdate{State: core.SupportInProgress, At: t0.Add(5 * time.Hour)})
	must(t, "UpdateSupportRequest", err)

	for _, tc := range []struct {
		name  string
		f     core.SupportFilter
		want  []string
		total int
	}{
		{"client", core.SupportFilter{ClientID: stA.ClientID}, []string{"a1-3", "a2-1", "a1-0"}, 3},
		{"client and state", core.SupportFilter{ClientID: stA.ClientID, State: core.SupportNew}, []string{"a1-0"}, 1},
		{"state", core.SupportFilter{State: core.SupportNew}, []string{"b1-4", "b1-2", "a1-0"}, 3},
		{"device", core.SupportFilter{DeviceID: a1.ID}, []string{"a1-3", "a1-0"}, 2},
		{"since", core.SupportFilter{Since: t0.Add(2 * time.Hour)}, []string{"b1-4", "a1-3", "b1-2"}, 3},
		{"limit", core.SupportFilter{Limit: 2}, []string{"b1-4", "a1-3"}, 5},
		{"client and limit", core.SupportFilter{ClientID: stA.ClientID, Limit: 1}, []string{"a1-3"}, 3},
		{"scope", core.SupportFilter{Scope: core.Only(stB.ClientID)}, []string{"b1-4", "b1-2"}, 2},
		{"scope of both", core.SupportFilter{Scope: core.Only(stA.ClientID, stB.ClientID), State: core.SupportInProgress},
			[]string{"a2-1"}, 1},
		{"scope and another client", core.SupportFilter{Scope: core.Only(stB.ClientID), ClientID: stA.ClientID}, []string{}, 0},
		{"empty scope", core.SupportFilter{Scope: core.Only()}, []string{}, 0},
		{"all clients", core.SupportFilter{Scope: core.AllClients, Limit: 1}, []string{"b1-4"}, 5},
	} {
		got, total, err := s.ListSupportRequests(ctx, tc.f)
		must(t, tc.name, err)
		if !reflect.DeepEqual(refs(got), tc.want) || total != tc.total {
			t.Errorf("%s: %v (total %d), want %v (total %d)", tc.name, refs(got), total, tc.want, tc.total)
		}
	}
	_, _, err = s.ListSupportRequests(ctx, core.SupportFilter{State: "open"})
	wantErr(t, "ListSupportRequests of an unknown state", err, core.ErrInvalid)
}

func testSupportUpdate(t *testing.T, s core.Store) {
	d := device(t, s, "pc1")
	r := supportRequest(d, "ref-1", t0)
	saveSupport(t, s, r, nil)

	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	got, err := s.UpdateSupportRequest(ctx, r.ID, core.SupportUpdate{State: core.SupportInProgress, At: t1})
	must(t, "UpdateSupportRequest state", err)
	if got.State != core.SupportInProgress || !got.UpdatedAt.Equal(t1) || len(got.Replies) != 0 {
		t.Errorf("after the state change: %+v", got)
	}
	got, err = s.UpdateSupportRequest(ctx, r.ID, core.SupportUpdate{Reply: core.SupportReply{Author: "Ben (Müller IT)",
		Body: "Wir schauen uns das an."}, At: t1.Add(time.Minute)})
	must(t, "UpdateSupportRequest reply", err)
	if got.State != core.SupportInProgress {
		t.Errorf("a reply alone changed the state to %q", got.State)
	}
	got, err = s.UpdateSupportRequest(ctx, r.ID, core.SupportUpdate{State: core.SupportDone,
		Reply: core.SupportReply{Author: "Ben (Müller IT)", Body: "Der Drucker druckt wieder."}, At: t2})
	must(t, "UpdateSupportRequest state and reply", err)
	if got.State != core.SupportDone || !got.UpdatedAt.Equal(t2) || len(got.Replies) != 2 {
		t.Fatalf("after the reply: %+v", got)
	}
	want := []core.SupportReply{
		{ID: got.Replies[0].ID, Author: "Ben (Müller IT)", Body: "Wir schauen uns das an.", CreatedAt: t1.Add(time.Minute)},
		{ID: got.Replies[1].ID, Author: "Ben (Müller IT)", Body: "Der Drucker druckt wieder.", CreatedAt: t2},
	}
	if !reflect.DeepEqual(got.Replies, want) || got.Replies[0].ID == got.Replies[1].ID {
		t.Errorf("replies = %+v\nwant %+v", got.Replies, want)
	}
	read, err := s.GetSupportRequest(ctx, r.ID)
	must(t, "GetSupportRequest", err)
	if !reflect.DeepEqual(read, got) {
		t.Errorf("GetSupportRequest = %+v\nwant %+v", read, got)
	}
	if list, _, _ := s.ListSupportRequests(ctx, core.SupportFilter{}); len(list) != 1 || list[0].Replies != nil {
		t.Errorf("lists carry replies: %+v", list)
	}

	_, err = s.UpdateSupportRequest(ctx, r.ID, core.SupportUpdate{State: "closed", Reply: core.SupportReply{Body: "x"}, At: t2})
	wantErr(t, "UpdateSupportRequest to an unknown state", err, core.ErrInvalid)
	_, err = s.UpdateSupportRequest(ctx, r.ID, core.SupportUpdate{At: t2})
	wantErr(t, "UpdateSupportRequest without a change", err, core.ErrInvalid)
	_, err = s.UpdateSupportRequest(ctx, r.ID+99, core.SupportUpdate{Reply: core.SupportReply{Author: "x", Body: "x"}, At: t2})
	wantErr(t, "UpdateSupportRequest of an unknown request", err, core.ErrNotFound)
	if n := count(t, s.(*store.DB), `SELECT count(*) FROM support_replies`); n != 2 {
		t.Errorf("%d replies stored after refused updates, want 2", n)
	}
}

func testSupportDeviceRequests(t *testing.T, s core.Store) {
	d := device(t, s, "pc1")
	other := device(t, s, "pc2")
	var ids []int64
	for i := range 4 {
		r := supportRequest(d, fmt.Sprint("ref-", i), t0.Add(time.Duration(i)*time.Hour))
		saveSupport(t, s, r, nil)
		ids = append(ids, r.ID)
	}
	saveSupport(t, s, supportRequest(other, "ref-9", t0.Add(10*time.Hour)), nil)
	_, err := s.UpdateSupportRequest(ctx, ids[2], core.SupportUpdate{Reply: core.SupportReply{Author: "Ben", Body: "Erledigt"},
		At: t0.Add(5 * time.Hour)})
	must(t, "UpdateSupportRequest", err)

	got, err := s.DeviceSupportRequests(ctx, d.ID, t0.Add(time.Hour), 2)
	must(t, "DeviceSupportRequests", err)
	if want := []string{"ref-3", "ref-2"}; !reflect.DeepEqual(refs(got), want) {
		t.Fatalf("DeviceSupportRequests = %v, want %v", refs(got), want)
	}
	if got[0].Replies != nil || len(got[1].Replies) != 1 || got[1].Replies[0].Body != "Erledigt" {
		t.Errorf("replies: %+v / %+v", got[0].Replies, got[1].Replies)
	}
	got, err = s.DeviceSupportRequests(ctx, d.ID, t0.Add(time.Hour), 0)
	must(t, "DeviceSupportRequests without limit", err)
	if want := []string{"ref-3", "ref-2", "ref-1"}; !reflect.DeepEqual(refs(got), want) {
		t.Errorf("DeviceSupportRequests without limit = %v, want %v", refs(got), want)
	}
	if got, _ := s.DeviceSupportRequests(ctx, d.ID, t0.Add(4*time.Hour), 10); len(got) != 0 {
		t.Errorf("DeviceSupportRequests after the last = %v", refs(got))
	}
}

func testSupportDeviceDeleted(t *testing.T, s core.Store) {
	d := device(t, s, "pc1")
	r := supportRequest(d, "ref-1", t0)
	saveSupport(t, s, r, pngHeader)
	_, err := s.UpdateSupportRequest(ctx, r.ID, core.SupportUpdate{Reply: core.SupportReply{Author: "Ben", Body: "ok"}, At: t0})
	must(t, "UpdateSupportRequest", err)
	db := s.(*store.DB)
	if _, err := db.SQL().ExecContext(ctx, `DELETE FROM devices WHERE id = $1`, d.ID); err != nil {
		t.Fatal(err)
	}
	if n := count(t, db, `SELECT count(*) FROM support_requests`) + count(t, db, `SELECT count(*) FROM support_replies`); n != 0 {
		t.Errorf("%d requests and replies of a deleted device remain", n)
	}
}

func testSupportRetention(t *testing.T, s core.Store) {
	db := s.(*store.DB)
	ret, err := db.HistoryRetention(ctx)
	must(t, "HistoryRetention", err)
	d := device(t, s, "pc1")
	now := t0.Add(time.Duration(ret.RollupDays)*24*time.Hour + 2*time.Hour)
	// Done before the rollup period (deleted, with its reply), done within
	// it, and still new from before it: both kept.
	for _, tc := range []struct {
		ref   string
		state string
		at    time.Time
	}{
		{"old-done", core.SupportDone, t0},
		{"recent-done", core.SupportDone, now.Add(-24 * time.Hour)},
		{"old-new", "", t0},
	} {
		r := supportRequest(d, tc.ref, t0)
		saveSupport(t, s, r, nil)
		_, err := s.UpdateSupportRequest(ctx, r.ID, core.SupportUpdate{State: tc.state,
			Reply: core.SupportReply{Author: "Ben", Body: "Antwort"}, At: tc.at})
		must(t, "UpdateSupportRequest", err)
	}
	rep, err := db.MaintainHistory(ctx, now)
	must(t, "MaintainHistory", err)
	if rep.SupportRequestsDeleted != 1 {
		t.Errorf("MaintainHistory deleted %d support requests, want 1", rep.SupportRequestsDeleted)
	}
	left, _, err := s.ListSupportRequests(ctx, core.SupportFilter{})
	must(t, "ListSupportRequests", err)
	if want := []string{"old-new", "recent-done"}; !reflect.DeepEqual(refs(left), want) {
		t.Errorf("requests left: %v, want %v", refs(left), want)
	}
	if n := count(t, db, `SELECT count(*) FROM support_replies`); n != 2 {
		t.Errorf("%d replies left, want 2", n)
	}
}
