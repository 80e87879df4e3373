package gateway

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/release"
)

// recorder keeps the update reports the gateway hands on.
type recorder struct {
	mu   sync.Mutex
	reps map[int64][]protocol.UpdateReport
}

func (r *recorder) RecordUpdate(_ context.Context, id int64, rep protocol.UpdateReport) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reps[id] = append(r.reps[id], rep)
	return nil
}

func (r *recorder) of(id int64) []protocol.UpdateReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reps[id]
}

// The release keys reach the agent at enrollment and in every welcome; an
// agent's update report is handed to the recorder before the welcome, at
// every connection that carries it.
func TestReleaseKeysAndUpdateReports(t *testing.T) {
	engines(t, func(t *testing.T, st testStore) {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		rec := &recorder{reps: map[int64][]protocol.UpdateReport{}}
		e := newEnv(t, st, nil, func(o *Options) { o.ReleaseKeys, o.Updates = []ed25519.PublicKey{pub}, rec })

		secret, _ := e.token(nil)
		apub, akey, _ := ed25519.GenerateKey(rand.Reader)
		status, er, ok := e.postEnroll(enrollBody(secret, apub, "m-update"))
		if status != http.StatusOK {
			t.Fatalf("enroll: %d %+v", status, er)
		}
		if len(ok.ReleaseKeys) != 1 || !pub.Equal(ed25519.PublicKey(ok.ReleaseKeys[0])) {
			t.Fatalf("enrollment gave release keys %x", ok.ReleaseKeys)
		}
		a := &agent{t: t, id: ok.DeviceID, key: akey}
		rep := protocol.UpdateReport{RolloutID: 7, From: "0.9.0", To: "0.10.0", State: core.UpdateRolledBack, Code: "crashed",
			Message: core.Text{EN: "the new build exited", DE: "der neue Build wurde beendet"}, At: time.Now().UTC().Truncate(time.Second)}
		for i := range 2 {
			w := connectWith(t, e, a, protocol.Auth{Update: &rep, ReleaseKey: release.Fingerprint(pub)})
			if len(w.ReleaseKeys) != 1 || !pub.Equal(ed25519.PublicKey(w.ReleaseKeys[0])) {
				t.Fatalf("welcome gave release keys %x", w.ReleaseKeys)
			}
			got := rec.of(a.id)
			if len(got) != i+1 || got[i].RolloutID != 7 || got[i].State != core.UpdateRolledBack || got[i].Message.DE == "" {
				t.Fatalf("connection %d: recorded %+v", i, got)
			}
			a.conn.CloseNow()
		}
		// Without a report nothing is recorded.
		connectWith(t, e, a, protocol.Auth{})
		if n := len(rec.of(a.id)); n != 2 {
			t.Errorf("a connection without a report recorded one: %d", n)
		}
	})
}

// connectWith authenticates a with the fields of extra and returns the
// welcome.
func connectWith(t *testing.T, e *env, a *agent, extra protocol.Auth) protocol.Welcome {
	t.Helper()
	c, err := e.dial()
	if err != nil {
		t.Fatal(err)
	}
	a.conn = c
	var ch protocol.Challenge
	if err := protocol.DecodeData(a.read(), &ch); err != nil {
		t.Fatal(err)
	}
	extra.DeviceID, extra.AgentVersion = a.id, "0.9.0"
	extra.Signature = protocol.SignAuth(a.key, ch.Nonce, a.id)
	a.send(protocol.TypeAuth, "", extra)
	env := a.read()
	var w protocol.Welcome
	if env.Type != protocol.TypeWelcome || protocol.DecodeData(env, &w) != nil {
		t.Fatalf("got %s %s, want welcome", env.Type, env.Data)
	}
	return w
}
