package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/keyfile"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// fakeClock is the server's clock in the rotation test: the agent takes
// the server's time from each welcome, so moving it and reconnecting moves
// both sides past the grace period.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) add(d time.Duration) { c.ns.Add(int64(d)) }

// onePolicy gives every device the same empty policy.
type onePolicy struct{}

func (onePolicy) AgentPolicy(context.Context, int64) (protocol.Policy, error) {
	return protocol.Policy{Revision: "rotation-test"}, nil
}

// TestActionKeyRotation rotates the action key of a real gateway with real
// agents on loopback: the connected agent learns the new key from an
// announcement signed with the old one, accepts both during the grace
// period and only the new one after it; an announcement signed with
// another key is refused; an agent offline during the rotation learns the
// key when it connects.
func TestActionKeyRotation(t *testing.T) {
	st := storetest.NewSQLite(t)
	clock := &fakeClock{}
	clock.add(time.Duration(time.Now().UnixNano()))
	keyPath := filepath.Join(t.TempDir(), actionkey.File)
	signer, err := actionkey.Load(keyPath, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	gw := gateway.New(gateway.Options{Store: st, ActionKey: signer, Now: clock.now, ActionKeyReload: -1, Policy: onePolicy{}})
	srv := httptest.NewTLSServer(gw)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		gw.Hub().Shutdown(ctx)
		srv.Close()
	})
	hub := gw.Hub()
	ctx := ctxT(t)
	enroll := func(site string) (string, int64) {
		_, s, err := st.EnsureClientSite(ctx, "Müller GmbH", site)
		if err != nil {
			t.Fatal(err)
		}
		secret := auth.NewSecret("wet_")
		if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), SiteID: s.ID}); err != nil {
			t.Fatal(err)
		}
		tok := protocol.Token{URL: srv.URL, Fingerprint: protocol.Fingerprint(srv.Certificate().Raw), Secret: secret}
		dir := t.TempDir()
		er, err := Enroll(ctx, tok.String(), "", dir, false)
		if err != nil {
			t.Fatal(err)
		}
		return dir, er.DeviceID
	}
	// The agents run the server's policy, signed with the current key.
	run := func(dir string, id int64) *Agent {
		a, err := New(Options{DataDir: dir, Inventory: fixedInventory, BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		actx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(actx) }()
		t.Cleanup(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("agent did not stop")
			}
		})
		waitLive(t, "agent connected", func() bool { return hub.Connected(id) })
		return a
	}
	echo := func(id int64) error {
		var out json.RawMessage
		err := hub.Do(ctx, id, actionEcho, map[string]string{"x": "ü"}, &out)
		if err == nil && string(out) != `{"x":"ü"}` {
			t.Errorf("echo answered %s", out)
		}
		return err
	}
	setKey := func(seed []byte) {
		t.Helper()
		if err := keyfile.Replace(keyPath, seed); err != nil {
			t.Fatal(err)
		}
		if err := gw.ReloadActionKey(); err != nil {
			t.Fatal(err)
		}
	}
	pending := func(fp string) []int64 {
		ds, err := st.DevicesNotOnActionKey(ctx, fp)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, d := range ds {
			ids = append(ids, d.ID)
		}
		return ids
	}

	dirA, idA := enroll("Hannover")
	dirB, idB := enroll("Celle") // offline during the rotation
	a := run(dirA, idA)
	oldPub := signer.Public()
	oldSeed, err := os.ReadFile(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := echo(idA); err != nil {
		t.Fatalf("before the rotation: %v", err)
	}
	if p := pending(actionkey.Fingerprint(oldPub)); slices.Contains(p, idA) || !slices.Contains(p, idB) {
		t.Errorf("devices not on the old key: %v; want B only (A reported it at auth)", p)
	}

	// Rotate: the connected agent gets the new key, signed with the old.
	_, newPub, until, err := actionkey.Rotate(keyPath, 14*24*time.Hour, clock.now())
	if err != nil {
		t.Fatal(err)
	}
	newSeed, _ := os.ReadFile(keyPath)
	if err := gw.ReloadActionKey(); err != nil {
		t.Fatal(err)
	}
	newFP := actionkey.Fingerprint(newPub)
	if p := pending(newFP); slices.Contains(p, idA) || !slices.Contains(p, idB) {
		t.Errorf("devices not on the new key after the announcement: %v; want B only", p)
	}
	keys, err := trustedKeys(dirA, oldPub)
	if err != nil || len(keys) != 2 || !keys[0].Key.Equal(newPub) || !keys[0].Until.IsZero() ||
		!keys[1].Key.Equal(oldPub) || !keys[1].Until.Equal(until) {
		t.Fatalf("agent A's trust file = %+v, %v; want the new key, and the old one until %v", keys, err, until)
	}
	if err := echo(idA); err != nil {
		t.Errorf("signed with the new key: %v", err)
	}
	// A node that still signs with the old key is accepted during the grace,
	// but the old key announces no successor any more.
	setKey(oldSeed)
	if err := echo(idA); err != nil {
		t.Errorf("signed with the old key during the grace: %v", err)
	}
	evilPub, _, _ := ed25519.GenerateKey(rand.Reader)
	err = hub.Do(ctx, idA, protocol.CommandActionKey, protocol.ActionKeyAnnouncement{Key: evilPub, Until: until}, nil)
	wantCode(t, "announcement signed with the retired key", err, protocol.CodeBadSignature)
	setKey(newSeed)

	// An announcement signed with some other key changes nothing.
	otherPub, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	setKey(otherKey.Seed())
	err = hub.Do(ctx, idA, protocol.CommandActionKey, protocol.ActionKeyAnnouncement{Key: otherPub, Until: until}, nil)
	wantCode(t, "announcement signed with another key", err, protocol.CodeBadSignature)
	setKey(newSeed)
	if keys2, _ := trustedKeys(dirA, oldPub); len(keys2) != 2 || !keys2[0].Key.Equal(newPub) {
		t.Errorf("a forged announcement changed the trusted keys: %+v", keys2)
	}

	// The agent that was offline learns the new key when it connects,
	// before its policy, which the new key signs.
	b := run(dirB, idB)
	waitLive(t, "B confirmed the new key", func() bool { return !slices.Contains(pending(newFP), idB) })
	waitLive(t, "B applied its policy", func() bool { rev, _ := b.plan.rev(); return rev == "rotation-test" })
	if err := echo(idB); err != nil {
		t.Errorf("B, signed with the new key: %v", err)
	}

	// After the grace period: the server holds no retired key any more, and
	// the agents (which take the server's clock from the welcome) refuse
	// the old key.
	clock.add(15 * 24 * time.Hour)
	if r := signer.Retired(); len(r) != 0 {
		t.Errorf("the server still holds retired keys after the grace: %+v", r)
	}
	for _, x := range []struct {
		a  *Agent
		id int64
	}{{a, idA}, {b, idB}} {
		hub.Disconnect(x.id, "test: clock moved")
		waitLive(t, "reconnected with the moved clock", func() bool {
			return time.Duration(x.a.clockOffset.Load()) > 14*24*time.Hour && hub.Connected(x.id)
		})
		if err := echo(x.id); err != nil {
			t.Errorf("device %d, new key after the grace: %v", x.id, err)
		}
	}
	setKey(oldSeed)
	for _, id := range []int64{idA, idB} {
		err := echo(id)
		wantCode(t, "old key after the grace", err, protocol.CodeBadSignature)
		if err == nil || !strings.Contains(err.Error(), "retired at") {
			t.Errorf("device %d: %v, want the retired key named", id, err)
		}
	}
}

// TestTrustFileSurvivesRestart: an agent started again trusts what a
// rotation taught it; after a re-enrollment pinned another key the file no
// longer applies, and a damaged file falls back to the pinned key.
func TestTrustFileSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	pinned, _, _ := ed25519.GenerateKey(rand.Reader)
	next, _, _ := ed25519.GenerateKey(rand.Reader)
	until := time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)
	keys := []actionkey.Trusted{{Key: next}, {Key: pinned, Until: until}}
	b, _ := json.Marshal(trustFile{Pinned: pinned, Keys: keys})
	if err := os.WriteFile(filepath.Join(dir, TrustFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := trustedKeys(dir, pinned)
	if err != nil || len(got) != 2 || !got[0].Key.Equal(next) || !got[1].Until.Equal(until) {
		t.Fatalf("trusted keys = %+v, %v", got, err)
	}
	if fp := actionkey.Fingerprint(currentKey(got)); fp != actionkey.Fingerprint(next) {
		t.Errorf("reported key %s, want the new one", fp)
	}
	reenrolled, _, _ := ed25519.GenerateKey(rand.Reader)
	if got, err := trustedKeys(dir, reenrolled); err != nil || len(got) != 1 || !got[0].Key.Equal(reenrolled) {
		t.Errorf("after re-enrollment: %+v, %v; want the newly pinned key only", got, err)
	}
	if err := os.WriteFile(filepath.Join(dir, TrustFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := trustedKeys(dir, pinned); err == nil || len(got) != 1 || !got[0].Key.Equal(pinned) {
		t.Errorf("damaged file: %+v, %v; want an error and the pinned key", got, err)
	}
}
