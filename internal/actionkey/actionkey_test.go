package actionkey

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type payload struct {
	Revision string `json:"revision"`
}

var t0 = time.Date(2026, 12, 5, 19, 0, 0, 0, time.UTC)

func newSigner(t testing.TB, now *time.Time) *Signer {
	t.Helper()
	s, err := Load(filepath.Join(t.TempDir(), File), func() time.Time { return *now })
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignVerify(t *testing.T) {
	now := t0
	s := newSigner(t, &now)
	v := NewVerifier(s.Public(), 7, func() time.Time { return now })
	m, err := s.Sign("policy", 7, payload{Revision: "r1"}, 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var got payload
	h, err := v.Verify(m, "policy", &got)
	if err != nil || got.Revision != "r1" || h.Device != 7 || !h.Issued.Equal(t0) || !h.Expires.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("Verify = %+v, %+v, %v", h, got, err)
	}
	// Through JSON and back, as on the wire.
	b, _ := json.Marshal(m)
	var wire Signed
	if err := json.Unmarshal(b, &wire); err != nil {
		t.Fatal(err)
	}
	m2, _ := s.Sign("policy", 7, payload{Revision: "r2"}, time.Minute)
	b, _ = json.Marshal(m2)
	_ = json.Unmarshal(b, &wire)
	if _, err := v.Verify(wire, "policy", &got); err != nil || got.Revision != "r2" {
		t.Fatalf("after a JSON round trip: %+v, %v", got, err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	now := t0
	s := newSigner(t, &now)
	other := newSigner(t, &now)
	sign := func(s *Signer, typ string, dev int64, ttl time.Duration) Signed {
		m, err := s.Sign(typ, dev, payload{Revision: "r"}, ttl)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	good := sign(s, "policy", 7, time.Minute)
	tampered := good
	tampered.Body = []byte(string(good.Body[:len(good.Body)-3]) + `1"}`)
	var h Header
	_ = json.Unmarshal(good.Body, &h)
	h.Payload = json.RawMessage(`{"revision":"evil"}`)
	swapped, _ := json.Marshal(h)

	cases := []struct {
		name string
		v    *Verifier
		m    Signed
		typ  string
		want error
	}{
		{"unsigned", NewVerifier(s.Public(), 7, nil), Signed{}, "policy", ErrUnsigned},
		{"body without signature", NewVerifier(s.Public(), 7, nil), Signed{Body: good.Body}, "policy", ErrBadSignature},
		{"no pinned key", NewVerifier(nil, 7, nil), good, "policy", ErrNoKey},
		{"tampered body", NewVerifier(s.Public(), 7, nil), tampered, "policy", ErrBadSignature},
		{"swapped payload", NewVerifier(s.Public(), 7, nil), Signed{Body: swapped, Sig: good.Sig}, "policy", ErrBadSignature},
		{"wrong key", NewVerifier(other.Public(), 7, nil), good, "policy", ErrBadSignature},
		{"other device", NewVerifier(s.Public(), 8, func() time.Time { return now }), good, "policy", ErrOtherDevice},
		{"other type", NewVerifier(s.Public(), 7, func() time.Time { return now }), good, "exec", ErrWrongType},
		{"expired", NewVerifier(s.Public(), 7, func() time.Time { return now.Add(time.Minute + MaxSkew + time.Millisecond) }), good, "policy", ErrExpired},
		{"from the future", NewVerifier(s.Public(), 7, func() time.Time { return now.Add(-MaxSkew - time.Millisecond) }), good, "policy", ErrNotYetValid},
	}
	for _, c := range cases {
		var p payload
		if _, err := c.v.Verify(c.m, c.typ, &p); !errors.Is(err, c.want) {
			t.Errorf("%s: Verify = %v, want %v", c.name, err, c.want)
		}
		if p.Revision != "" {
			t.Errorf("%s: payload decoded although refused: %+v", c.name, p)
		}
	}

	// Within the skew: still valid.
	v := NewVerifier(s.Public(), 7, func() time.Time { return now.Add(time.Minute + MaxSkew) })
	var p payload
	if _, err := v.Verify(good, "policy", &p); err != nil {
		t.Errorf("at expiry + skew: %v", err)
	}
	// The same message again: a replay.
	if _, err := v.Verify(good, "policy", &p); !errors.Is(err, ErrReplayed) {
		t.Errorf("replayed: Verify = %v, want ErrReplayed", err)
	}
}

func TestVerifierForgetsExpiredIDs(t *testing.T) {
	now := t0
	s := newSigner(t, &now)
	v := NewVerifier(s.Public(), 1, func() time.Time { return now })
	for i := range 1000 {
		m, _ := s.Sign("policy", 1, payload{}, time.Second)
		var p payload
		if _, err := v.Verify(m, "policy", &p); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		now = now.Add(time.Second)
	}
	if n := len(v.seen); n > 256 {
		t.Errorf("verifier remembers %d IDs of messages long expired", n)
	}
}

func TestLoadKeepsTheKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), File)
	a, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != ed25519.SeedSize {
		t.Fatalf("key file: %v, %v", fi, err)
	}
	b, err := Load(path, nil)
	if err != nil || !a.Public().Equal(b.Public()) {
		t.Fatalf("second Load gave another key (%v)", err)
	}
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, nil); err == nil {
		t.Error("Load accepted a damaged key file")
	}
}

// BenchmarkSignPolicy measures signing a policy of 15 checks, as the gateway
// does on every policy push.
func BenchmarkSignPolicy(b *testing.B) {
	now := t0
	s := newSigner(b, &now)
	type check struct {
		Name, Type string
		Params     map[string]any
	}
	p := struct {
		Revision string  `json:"revision"`
		Checks   []check `json:"checks"`
	}{Revision: "0123456789abcdef"}
	for i := range 15 {
		p.Checks = append(p.Checks, check{Name: "check-" + string(rune('a'+i)), Type: "disk",
			Params: map[string]any{"warn_percent": 80, "crit_percent": 90, "paths": []string{"/", "/var"}}})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Sign("policy", 1, p, 10*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzVerify: whatever arrives, Verify never panics and accepts only what
// the key signed for this device and type.
func FuzzVerify(f *testing.F) {
	now := t0
	s := newSigner(f, &now)
	good, _ := s.Sign("policy", 7, payload{Revision: "r"}, time.Minute)
	f.Add(good.Body, good.Sig)
	f.Add([]byte(`{"type":"policy","device":7,"id":"x","iat":"2026-12-05T19:00:00Z","exp":"2026-12-05T20:00:00Z","payload":{}}`), []byte{})
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, body, sig []byte) {
		v := NewVerifier(s.Public(), 7, func() time.Time { return now })
		var p payload
		h, err := v.Verify(Signed{Body: body, Sig: sig}, "policy", &p)
		if err == nil && (!ed25519.Verify(s.Public(), message(body), sig) || h.Device != 7 || h.Type != "policy") {
			t.Fatalf("accepted %q / %x as %+v", body, sig, h)
		}
	})
}
