package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/store"
)

// storeSupport stores support requests as the service does, without the
// notifications (the service's tests cover those); fail makes it fail.
type storeSupport struct {
	db   *store.DB
	fail atomic.Bool
}

func (s *storeSupport) ReceiveSupportRequest(ctx context.Context, deviceID int64, r protocol.SupportRequest) (core.SupportRequest, error) {
	if s.fail.Load() {
		return core.SupportRequest{}, errors.New("disk full")
	}
	cr := core.SupportRequest{DeviceID: deviceID, Ref: r.Ref, OSUser: r.OSUser, Contact: r.Contact, Message: r.Message,
		Lang: r.Lang, HasScreenshot: len(r.Screenshot) > 0, CreatedAt: r.CreatedAt}
	_, err := s.db.SaveSupportRequest(ctx, &cr, r.Screenshot, nil)
	return cr, err
}

func supportRequest(ref, msg string) protocol.SupportRequest {
	return protocol.SupportRequest{Ref: ref, OSUser: "MUELLER\\anna", Contact: core.SupportContact{Name: "Anna Müller"},
		Message: msg, Lang: "de", CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
}

// sendSupport sends a request with id and returns the server's answer.
func (a *agent) sendSupport(id string, r protocol.SupportRequest) protocol.SupportAck {
	a.t.Helper()
	a.send(protocol.TypeSupportRequest, id, r)
	env := a.read()
	var ack protocol.SupportAck
	if env.Type != protocol.TypeSupportAck || env.ID != id || protocol.DecodeData(env, &ack) != nil {
		a.t.Fatalf("got %s %s %s, want a support ack for %s", env.Type, env.ID, env.Data, id)
	}
	return ack
}

func (a *agent) readSupportState() protocol.SupportState {
	a.t.Helper()
	env := a.read()
	var st protocol.SupportState
	if env.Type != protocol.TypeSupportState || protocol.DecodeData(env, &st) != nil {
		a.t.Fatalf("got %s %s, want the support state", env.Type, env.Data)
	}
	return st
}

func TestSupportRequests(t *testing.T) {
	engines(t, func(t *testing.T, st testStore) {
		ctx := context.Background()
		db := st.(*store.DB)
		recv := &storeSupport{db: db}
		e := newEnv(t, st, nil, func(o *Options) { o.Support = recv })
		a := e.enrollAgent("support-a")
		b := e.enrollAgent("support-b")
		e.connected(a)
		a.quiet("hb0") // no requests yet: no state after welcome

		req := supportRequest("tray-0001-abcd", "Mein Drucker druckt nicht.")
		if ack := a.sendSupport(req.Ref, req); ack.Status != protocol.SupportStored {
			t.Fatalf("ack = %+v", ack)
		}
		// The ack came after the commit: the request is there.
		rs, err := db.DeviceSupportRequests(ctx, a.id, time.Now().Add(-time.Hour), 10)
		if err != nil || len(rs) != 1 || rs[0].Message != req.Message || rs[0].State != core.SupportNew {
			t.Fatalf("stored %+v, %v", rs, err)
		}
		if s := a.readSupportState(); len(s.Requests) != 1 || s.Requests[0].Ref != req.Ref || s.Requests[0].State != core.SupportNew ||
			s.Requests[0].OSUser != req.OSUser {
			t.Fatalf("state after the request = %+v", s)
		}
		// Sent again (a lost ack): acked, stored once.
		if ack := a.sendSupport(req.Ref, req); ack.Status != protocol.SupportStored {
			t.Fatalf("resent ack = %+v", ack)
		}
		if s := a.readSupportState(); len(s.Requests) != 1 {
			t.Fatalf("state after a resend = %+v", s)
		}

		// Malformed: rejected with the reason, the session goes on.
		for _, c := range []struct {
			id   string
			r    protocol.SupportRequest
			want string
		}{
			{"tray-0002-abcd", supportRequest("tray-0002-abcd", "   "), "empty support message"},
			{"tray-0003-abcd", supportRequest("tray-0003-abcd", strings.Repeat("x", core.MaxSupportMessage+1)), "longer than"},
			{"tray-0004-abcd", supportRequest("tray-0005-abcd", "id and ref differ"), "is not its ref"},
			{"bad ref", supportRequest("bad ref", "a ref with a space"), "ref"},
		} {
			ack := a.sendSupport(c.id, c.r)
			if ack.Status != protocol.SupportRejected || !strings.Contains(ack.Reason, c.want) {
				t.Errorf("%s answered %+v, want rejected for %q", c.id, ack, c.want)
			}
		}
		a.quiet("hb1")
		if rs, _ := db.DeviceSupportRequests(ctx, a.id, time.Now().Add(-time.Hour), 10); len(rs) != 1 {
			t.Fatalf("rejected requests were stored: %+v", rs)
		}

		// A store failure: no ack, the session closes; the agent resends.
		recv.fail.Store(true)
		a.send(protocol.TypeSupportRequest, "tray-0006-abcd", supportRequest("tray-0006-abcd", "Outlook hängt."))
		if code := a.closed(); code != websocket.StatusTryAgainLater {
			t.Fatalf("closed with %v, want try again later", code)
		}
		recv.fail.Store(false)

		// After welcome the device gets its requests.
		e.connected(a)
		if s := a.readSupportState(); len(s.Requests) != 1 || s.Requests[0].Ref != req.Ref {
			t.Fatalf("state after welcome = %+v", s)
		}
		// A technician's reply reaches the agent.
		if _, err := db.UpdateSupportRequest(ctx, rs[0].ID, core.SupportUpdate{State: core.SupportInProgress, At: time.Now(),
			Reply: core.SupportReply{Author: "tech@example.com", Body: "Wir schauen uns das an."}}); err != nil {
			t.Fatal(err)
		}
		e.gw.Hub().PushSupportState(a.id)
		s := a.readSupportState()
		if len(s.Requests) != 1 || s.Requests[0].State != core.SupportInProgress || len(s.Requests[0].Replies) != 1 ||
			s.Requests[0].Replies[0].Body != "Wir schauen uns das an." {
			t.Fatalf("state after the reply = %+v", s)
		}

		// Another device has none: nothing after its welcome.
		e.connected(b)
		b.quiet("hb2")
	})
}

func TestSupportStateRelayedInCluster(t *testing.T) {
	nodes := clusterEnvs(t, 2, func(o *Options) { o.PolicyResync = -1 })
	a, b := nodes[0], nodes[1]
	ag := b.enrollAgent("support-cluster")
	b.connected(ag)
	ag.quiet("hb0")
	db := b.st.(*store.DB)
	ctx := context.Background()
	r := core.SupportRequest{DeviceID: ag.id, Ref: "tray-0100-abcd", OSUser: "anna", Message: "VPN geht nicht", Lang: "de", CreatedAt: time.Now()}
	if _, err := db.SaveSupportRequest(ctx, &r, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateSupportRequest(ctx, r.ID, core.SupportUpdate{State: core.SupportDone, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// Node A does not hold the session: the push goes through B.
	a.gw.Hub().PushSupportState(ag.id)
	if s := ag.readSupportState(); len(s.Requests) != 1 || s.Requests[0].State != core.SupportDone {
		t.Fatalf("relayed state = %+v", s)
	}
}

func TestTrayPolicies(t *testing.T) {
	engines(t, func(t *testing.T, st testStore) {
		ctx := context.Background()
		db := st.(*store.DB)
		e := newEnv(t, st, nil, func(o *Options) {
			o.Policy = TrayPolicies{Base: policy.NewResolver(db, nil), Store: db}
		})
		a := e.enrollAgent("tray-a")
		dev, err := db.GetDevice(ctx, a.id)
		if err != nil {
			t.Fatal(err)
		}
		e.connected(a)
		first := readPolicy(t, a)
		if first.Tray != nil {
			t.Fatalf("tray %+v without a branding", first.Tray)
		}
		b := core.Branding{ClientID: dev.ClientID, Show: true, ProductName: "Müller IT Rundum-Sorglos", Phone: "+49 511 123456",
			Hours: core.Text{DE: "Mo–Fr 8–17 Uhr", EN: "Mon–Fri 8am–5pm"}, RemoteSupport: core.RemoteSupportRustDesk, UpdatedAt: time.Now()}
		if err := db.SetBranding(ctx, b); err != nil {
			t.Fatal(err)
		}
		e.gw.Hub().PushPolicies()
		second := readPolicy(t, a)
		if second.Revision == first.Revision || second.Tray == nil || second.Tray.ProductName != b.ProductName ||
			second.Tray.Hours != b.Hours || second.Tray.RemoteSupport != core.RemoteSupportRustDesk || !second.Tray.Show {
			t.Fatalf("policy after the branding: revision %s (was %s), tray %+v", second.Revision, first.Revision, second.Tray)
		}
		// Unchanged: nothing pushed.
		e.gw.Hub().PushPolicies()
		a.quiet("hb1")
		// A new icon changes the revision; readPolicy checks its hash.
		b.Icon = []byte("\x89PNG\r\n\x1a\nnot really a picture")
		b.IconSHA256 = sha256Hex(b.Icon)
		if err := db.SetBranding(ctx, b); err != nil {
			t.Fatal(err)
		}
		e.gw.Hub().PushPolicies()
		third := readPolicy(t, a)
		if third.Revision == second.Revision || string(third.Tray.Icon) != string(b.Icon) {
			t.Fatalf("policy after the icon: revision %s (was %s), icon %q", third.Revision, second.Revision, third.Tray.Icon)
		}
		// Hidden: the tray goes away.
		b.Show = false
		if err := db.SetBranding(ctx, b); err != nil {
			t.Fatal(err)
		}
		e.gw.Hub().PushPolicies()
		if fourth := readPolicy(t, a); fourth.Revision == third.Revision || fourth.Tray.Show {
			t.Fatalf("policy after hiding: %+v", fourth.Tray)
		}
	})
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
