package gateway

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"testing"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestReenrollWithoutKeyCannotTakeOver replays finding M4 of issue 12: an
// attacker with an enrollment token of the device's site and its machine
// ID (visible to readonly users) enrolls with a key of its own. The real
// agent must stay connected and accepted, and the attacker must not get
// the device.
func TestReenrollWithoutKeyCannotTakeOver(t *testing.T) {
	e := newEnv(t, storetest.NewSQLite(t), nil, nil)
	victim := e.enrollAgent("machine-1")
	e.connected(victim)
	victim.sendBatch("b1", batch(1, "before"))

	secret, _ := e.token(nil) // a token of the same site, as in installers
	evilPub, evilKey, _ := ed25519.GenerateKey(rand.Reader)
	status, er, ok := e.postEnroll(enrollBody(secret, evilPub, "machine-1"))
	if status != http.StatusOK {
		t.Fatalf("attacker's enrollment: %d %+v (a new device is fine, a refusal too)", status, er)
	}
	if ok.DeviceID == victim.id {
		t.Errorf("the attacker's enrollment took over device %d", victim.id)
	}

	// The real agent's session goes on: its next batch is acked.
	victim.sendBatch("b2", batch(1, "after"))
	d, err := e.st.GetDevice(context.Background(), victim.id)
	if err != nil || !bytes.Equal(d.PublicKey, victim.key.Public().(ed25519.PublicKey)) {
		t.Fatalf("device %d after the attack: key changed (%v)", victim.id, err)
	}
	// And it reconnects with its own key, while the attacker's key is
	// refused for the victim's ID.
	again := &agent{t: t, id: victim.id, key: victim.key}
	if env := e.connect(again, nil); env.Type != protocol.TypeWelcome {
		t.Errorf("real agent reconnecting: got %s %s, want welcome", env.Type, env.Data)
	}
	evil := &agent{t: t, id: victim.id, key: evilKey}
	if env := e.connect(evil, nil); env.Type != protocol.TypeRefused {
		t.Errorf("attacker connecting as device %d: got %s, want refused", victim.id, env.Type)
	}
}

func reenrollBody(secret string, newKey ed25519.PublicKey, machine string, deviceID int64, proofKey ed25519.PrivateKey) []byte {
	b, _ := json.Marshal(protocol.EnrollRequest{
		Token: secret, PublicKey: newKey, Hostname: "pc-" + machine, OS: "linux", MachineID: machine,
		DeviceID: deviceID, Proof: protocol.SignReenroll(proofKey, deviceID, newKey),
	})
	return b
}

// An agent that still holds its key re-enrolls as the same device; one
// without it (or with a forged proof) becomes a new device marked as a
// possible duplicate, and the existing device stays as it was.
func TestReenrollWithProofRekeys(t *testing.T) {
	engines(t, func(t *testing.T, st testStore) {
		e := newEnv(t, st, nil, nil)
		ctx := context.Background()
		a := e.enrollAgent("machine-1")
		e.connected(a)
		secret, _ := e.token(nil)

		// Without the key: a new device, marked.
		lostPub, _, _ := ed25519.GenerateKey(rand.Reader)
		status, er, dup := e.postEnroll(enrollBody(secret, lostPub, "machine-1"))
		if status != http.StatusOK || dup.DeviceID == a.id || dup.Rekeyed {
			t.Fatalf("enrollment without the key: %d %+v %+v", status, er, dup)
		}
		if d, err := st.GetDevice(ctx, dup.DeviceID); err != nil || d.DuplicateOf != a.id {
			t.Errorf("new device %+v (%v), want DuplicateOf %d", d, err, a.id)
		}
		// A forged proof (signed with another key) and a proof for a
		// device that does not exist: new devices too.
		_, forger, _ := ed25519.GenerateKey(rand.Reader)
		for name, body := range map[string][]byte{
			"forged proof":   reenrollBody(secret, lostPub, "machine-1", a.id, forger),
			"unknown device": reenrollBody(secret, lostPub, "machine-1", 999999, forger),
		} {
			status, er, got := e.postEnroll(body)
			if status != http.StatusOK || got.DeviceID == a.id || got.Rekeyed {
				t.Errorf("%s: %d %+v %+v, want a new device", name, status, er, got)
			}
		}
		victimKey, _ := st.GetDevice(ctx, a.id)
		if !bytes.Equal(victimKey.PublicKey, a.key.Public().(ed25519.PublicKey)) {
			t.Fatal("device re-keyed without a valid proof")
		}

		// With a proof made with the current key: the same device, new key;
		// the old session ends and the new key connects.
		newPub, newKey, _ := ed25519.GenerateKey(rand.Reader)
		status, er, re := e.postEnroll(reenrollBody(secret, newPub, "machine-1", a.id, a.key))
		if status != http.StatusOK || re.DeviceID != a.id || !re.Rekeyed {
			t.Fatalf("re-enrollment with proof: %d %+v %+v", status, er, re)
		}
		if code := a.closed(); code != websocket.StatusNormalClosure {
			t.Errorf("old session closed with %v", code)
		}
		e.connected(&agent{t: t, id: a.id, key: newKey, actionKey: a.actionKey})
		// A replayed proof gives the attacker nothing: it names newPub,
		// whose private key it lacks, and the device's key is no longer
		// the one that signed it.
		status, _, replay := e.postEnroll(reenrollBody(secret, newPub, "machine-1", a.id, a.key))
		if status != http.StatusOK || replay.Rekeyed {
			t.Errorf("replayed proof: %d %+v", status, replay)
		}
		audit, _ := st.ListAudit(ctx, 20)
		var rekeys int
		for _, en := range audit {
			if en.Action == "device.rekey" {
				rekeys++
			}
		}
		if rekeys != 1 {
			t.Errorf("%d device.rekey audit entries, want 1", rekeys)
		}
	})
}

// FuzzEnrollRequest feeds arbitrary bodies to the enrollment route: it
// never panics or answers 5xx, and whatever it accepts is a new device or
// a re-key proven with the device's key.
func FuzzEnrollRequest(f *testing.F) {
	e := newEnv(f, storetest.NewSQLite(f), nil, func(o *Options) {
		o.EnrollFailures = 1 << 30
		o.Log = slog.New(slog.DiscardHandler) // F.Log may not be called from the target
	})
	secret, _ := e.token(nil)
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	f.Add(enrollBody(secret, pub, "m1"))
	f.Add(reenrollBody(secret, pub, "m1", 1, key))
	f.Add([]byte(`{"token":"` + secret + `","public_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","hostname":"h","os":"linux","device_id":1,"proof":"AA=="}`))
	f.Add([]byte(`{"token":"` + secret + `","device_id":-1}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var before []int64
		devs, _ := e.st.ListDevices(context.Background())
		keys := map[int64][]byte{}
		for _, d := range devs {
			before = append(before, d.ID)
			keys[d.ID] = d.PublicKey
		}
		te := *e
		te.t = t
		status, er, ok := te.postEnroll(body)
		if status >= 500 {
			t.Fatalf("status %d %+v for %q", status, er, body)
		}
		if status != http.StatusOK {
			return
		}
		if ok.Rekeyed {
			var req protocol.EnrollRequest
			if json.Unmarshal(body, &req) != nil || req.DeviceID != ok.DeviceID ||
				!protocol.VerifyReenroll(keys[ok.DeviceID], ok.DeviceID, req.PublicKey, req.Proof) {
				t.Fatalf("re-keyed device %d without a proof made with its key: %q", ok.DeviceID, body)
			}
		} else if slices.Contains(before, ok.DeviceID) {
			t.Fatalf("enrollment returned existing device %d without re-keying it: %q", ok.DeviceID, body)
		}
	})
}
