package actionkey

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRotate(t *testing.T) {
	now := t0
	path := filepath.Join(t.TempDir(), File)
	if _, _, _, err := Rotate(path, DefaultGrace, now); !errors.Is(err, ErrNoKeyFile) {
		t.Fatalf("rotating without a key: %v", err)
	}
	s, err := Load(path, func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	first := s.Public()
	if changed, err := s.Reload(); changed || err != nil {
		t.Fatalf("Reload without a change = %v, %v", changed, err)
	}
	old, next, until, err := Rotate(path, 24*time.Hour, now)
	if err != nil || !old.Equal(first) || next.Equal(first) || !until.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("Rotate = %x %x %v %v", old, next, until, err)
	}
	for _, p := range []string{path, path + RetiredSuffix} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, %v; want mode 0600", p, fi, err)
		}
	}
	// The running signer keeps its key until it reloads.
	if !s.Public().Equal(first) {
		t.Fatal("the signer changed its key before Reload")
	}
	if changed, err := s.Reload(); !changed || err != nil || !s.Public().Equal(next) {
		t.Fatalf("Reload after the rotation = %v, %v", changed, err)
	}
	rs := s.Retired()
	if len(rs) != 1 || !rs[0].Key.Equal(first) || !rs[0].Until.Equal(until) {
		t.Fatalf("Retired = %+v", rs)
	}
	// The retired key signs an announcement that an agent pinning it accepts.
	oldSigner, u, ok := s.Retiree(Fingerprint(first))
	if !ok || !u.Equal(until) || !oldSigner.Public().Equal(first) {
		t.Fatalf("Retiree = %v %v", u, ok)
	}
	if _, _, ok := s.Retiree(Fingerprint(next)); ok {
		t.Error("the current key is no retiree")
	}
	v := NewVerifier(first, 7, func() time.Time { return now })
	m, _ := oldSigner.Sign("command", 7, payload{Revision: "announce"}, time.Minute)
	if _, err := v.Verify(m, "command", &payload{}); err != nil {
		t.Errorf("announcement signed with the retired key: %v", err)
	}
	// A second rotation keeps the first retired key until its own end and
	// drops keys whose grace ended.
	now = now.Add(time.Hour)
	_, third, until2, err := Rotate(path, 48*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	cur, retired, err := ReadKeys(path)
	if err != nil || !cur.Equal(third) || len(retired) != 2 || !retired[0].Key.Equal(first) || !retired[1].Key.Equal(next) || !retired[1].Until.Equal(until2) {
		t.Fatalf("ReadKeys after two rotations = %x, %+v, %v", cur, retired, err)
	}
	now = until.Add(time.Second)
	if _, _, _, err := Rotate(path, 48*time.Hour, now); err != nil {
		t.Fatal(err)
	}
	if _, retired, _ := ReadKeys(path); len(retired) != 2 || retired[0].Key.Equal(first) {
		t.Errorf("a key past its grace was kept: %+v", retired)
	}
	if _, err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := s.Retiree(Fingerprint(first)); ok {
		t.Error("a key past its grace still signs announcements")
	}
	// A damaged file keeps the keys in use.
	before := s.Public()
	if err := os.WriteFile(path+RetiredSuffix, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reload(); err == nil || !s.Public().Equal(before) {
		t.Errorf("Reload of a damaged file: %v", err)
	}
	if _, err := Load(path, nil); err == nil {
		t.Error("Load accepted a damaged file of retired keys")
	}
}

// TestVerifierGrace: a retired key is accepted until its grace ends, then
// refused by name; the current key stays accepted.
func TestVerifierGrace(t *testing.T) {
	now := t0
	oldS, newS := newSigner(t, &now), newSigner(t, &now)
	until := t0.Add(time.Hour)
	v := NewVerifierKeys([]Trusted{{Key: newS.Public()}, {Key: oldS.Public(), Until: until}, {Key: []byte("short")}}, 7, func() time.Time { return now })
	if n := len(v.Keys()); n != 2 {
		t.Errorf("verifier keeps %d keys, want the 2 of the right size", n)
	}
	for _, s := range []*Signer{oldS, newS} {
		m, _ := s.Sign("policy", 7, payload{}, time.Minute)
		if _, err := v.Verify(m, "policy", &payload{}); err != nil {
			t.Errorf("within the grace: %v", err)
		}
	}
	now = until.Add(time.Second)
	m, _ := oldS.Sign("policy", 7, payload{}, time.Minute)
	_, err := v.Verify(m, "policy", &payload{})
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "retired at") {
		t.Errorf("after the grace: %v, want a bad signature by a retired key", err)
	}
	m, _ = newS.Sign("policy", 7, payload{}, time.Minute)
	if _, err := v.Verify(m, "policy", &payload{}); err != nil {
		t.Errorf("the new key after the grace: %v", err)
	}
}

// BenchmarkVerifyDuringGrace: what the second trusted key costs. The agent
// lists the new key first, so what the current key signs costs one
// signature check; what the retired key signs costs two.
func BenchmarkVerifyDuringGrace(b *testing.B) {
	now := t0
	oldS, newS := newSigner(b, &now), newSigner(b, &now)
	keys := []Trusted{{Key: newS.Public()}, {Key: oldS.Public(), Until: t0.Add(time.Hour)}}
	for _, c := range []struct {
		name string
		s    *Signer
		keys []Trusted
	}{{"one-key", newS, keys[:1]}, {"grace-new-key", newS, keys}, {"grace-old-key", oldS, keys}} {
		b.Run(c.name, func(b *testing.B) {
			v := NewVerifierKeys(c.keys, 7, func() time.Time { return now })
			ms := make([]Signed, 0, 1024)
			for range 1024 {
				m, _ := c.s.Sign("policy", 7, payload{}, time.Minute)
				ms = append(ms, m)
			}
			for i := 0; b.Loop(); i++ {
				if i%len(ms) == 0 {
					v = NewVerifierKeys(c.keys, 7, func() time.Time { return now })
				}
				if _, err := v.Verify(ms[i%len(ms)], "policy", &payload{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
