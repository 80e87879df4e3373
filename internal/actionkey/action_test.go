package actionkey

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestCanonicalArgs(t *testing.T) {
	a, err := Canonical(json.RawMessage(`{ "b": 1, "a": {"y": "ü", "x": [1, 2.50]} }`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Canonical(json.RawMessage(`{"a":{"x":[1,2.50],"y":"\u00fc"},"b":1}`))
	if string(a) != string(b) || string(a) != `{"a":{"x":[1,2.50],"y":"ü"},"b":1}` {
		t.Errorf("canonical forms differ: %s vs %s", a, b)
	}
	if n, _ := Canonical(nil); string(n) != "null" {
		t.Errorf("no args: %s", n)
	}
	if _, err := Canonical(json.RawMessage(`{"a":1} {}`)); err == nil {
		t.Error("trailing data accepted")
	}
}

func TestSignedActions(t *testing.T) {
	now := t0
	s := newSigner(t, &now)
	args := json.RawMessage(`{"shell":"sh","command":"id"}`)
	good, err := s.SignAction("command", 7, "exec", args, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SignAction("command", 7, "exec", args, MaxTTL+time.Second); err == nil {
		t.Error("signed an action valid longer than MaxTTL")
	}
	v := NewVerifier(s.Public(), 7, func() time.Time { return now })
	// The same arguments re-encoded still match their digest.
	reencoded := good
	reencoded.Args = json.RawMessage(`{ "command": "id", "shell": "sh" }`)
	h, name, err := v.VerifyAction(reencoded, "command")
	if err != nil || name != "exec" || h.Device != 7 {
		t.Fatalf("VerifyAction = %+v %q %v", h, name, err)
	}
	if _, _, err := v.VerifyAction(good, "command"); !errors.Is(err, ErrReplayed) {
		t.Errorf("replay: %v", err)
	}
	tampered, _ := s.SignAction("command", 7, "exec", args, time.Minute)
	tampered.Args = json.RawMessage(`{"shell":"sh","command":"rm -rf /"}`)
	if _, _, err := v.VerifyAction(tampered, "command"); !errors.Is(err, ErrArgsMismatch) {
		t.Errorf("tampered args: %v", err)
	}
	// The tampered copy did not burn its nonce: the original still runs.
	tampered.Args = args
	if _, _, err := v.VerifyAction(tampered, "command"); err != nil {
		t.Errorf("original after a tampered copy: %v", err)
	}
	// A plain signed message of the same type is no action.
	plain, _ := s.Sign("command", 7, map[string]string{"name": "exec"}, time.Minute)
	if _, _, err := v.VerifyAction(SignedAction{Signed: plain}, "command"); !errors.Is(err, ErrMalformed) {
		t.Errorf("claim without digest: %v", err)
	}
	// Validity longer than MaxTTL is refused even when signed so.
	long, _ := s.Sign("command", 7, Claim{Name: "exec", ArgsSHA256: mustDigest(t, args)}, time.Hour)
	if _, _, err := v.VerifyAction(SignedAction{Signed: long, Args: args}, "command"); !errors.Is(err, ErrMalformed) {
		t.Errorf("hour-long action: %v", err)
	}
}

func mustDigest(t *testing.T, args json.RawMessage) string {
	d, err := ArgsDigest(args)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
