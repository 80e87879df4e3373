package protocol

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	v := 42.5
	in := Results{Results: []core.Result{{
		ID: "r1", Check: "disk", Key: "/", Status: core.StatusWarning, Value: &v, Unit: "%",
		Message: core.Text{EN: "disk full", DE: "Platte voll"}, At: Now(),
	}}}
	b, err := Encode(TypeResults, "batch-1", in)
	if err != nil {
		t.Fatal(err)
	}
	env, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if env.V != Version || env.Type != TypeResults || env.ID != "batch-1" {
		t.Fatalf("envelope = %+v", env)
	}
	var out Results
	if err := DecodeData(env, &out); err != nil {
		t.Fatal(err)
	}
	if err := out.Validate(); err != nil {
		t.Fatal(err)
	}
	got, want := out.Results[0], in.Results[0]
	if got.ID != want.ID || got.Status != want.Status || *got.Value != v || got.Message != want.Message || !got.At.Equal(want.At) {
		t.Fatalf("round trip: got %+v, want %+v", got, want)
	}
}

func TestEncodeWithoutData(t *testing.T) {
	b, err := Encode(TypeHeartbeat, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	env, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(env.Data) != 0 {
		t.Fatalf("data = %q, want none", env.Data)
	}
	if err := DecodeData(env, &Ack{}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("DecodeData without data: %v, want ErrMalformed", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want error
	}{
		{"garbage", []byte("{not json"), ErrMalformed},
		{"array", []byte(`[1,2]`), ErrMalformed},
		{"other version", []byte(`{"v":2,"type":"heartbeat"}`), ErrBadVersion},
		{"no version", []byte(`{"type":"heartbeat"}`), ErrBadVersion},
		{"no type", []byte(`{"v":1}`), ErrMissingType},
		{"too large", append([]byte(`{"v":1,"type":"x","data":"`), bytes.Repeat([]byte("a"), MaxMessageBytes)...), ErrTooLarge},
	}
	for _, c := range cases {
		if _, err := Decode(c.in); !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestDecodeUnknownTypeAccepted(t *testing.T) {
	env, err := Decode([]byte(`{"v":1,"type":"from-the-future","data":{"x":1}}`))
	if err != nil || env.Type != "from-the-future" {
		t.Fatalf("unknown type: %+v, %v", env, err)
	}
}

func TestValidate(t *testing.T) {
	ok := core.Result{ID: "a", Check: "cpu", At: Now()}
	if err := (Results{}).Validate(); err == nil {
		t.Error("empty batch accepted")
	}
	many := make([]core.Result, MaxBatch+1)
	for i := range many {
		many[i] = ok
	}
	if err := (Results{Results: many}).Validate(); err == nil {
		t.Error("oversized batch accepted")
	}
	bad := []core.Result{
		{Check: "cpu", At: Now()},
		{ID: strings.Repeat("x", 65), Check: "cpu", At: Now()},
		{ID: "a", At: Now()},
		{ID: "a", Check: "cpu"},
		{ID: "a", Check: "cpu", At: Now(), Message: core.Text{EN: strings.Repeat("x", 4097)}},
	}
	for i, r := range bad {
		if err := (Results{Results: []core.Result{r}}).Validate(); !errors.Is(err, ErrMalformed) {
			t.Errorf("bad result %d accepted: %v", i, err)
		}
	}
	if err := (Results{Results: []core.Result{ok}}).Validate(); err != nil {
		t.Errorf("good batch: %v", err)
	}
}

func TestAuthSignature(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	nonce := []byte("0123456789abcdef0123456789abcdef")
	sig := SignAuth(priv, nonce, 7)
	if !VerifyAuth(pub, nonce, 7, sig) {
		t.Fatal("valid signature refused")
	}
	if VerifyAuth(pub, nonce, 8, sig) {
		t.Error("signature accepted for another device ID")
	}
	if VerifyAuth(otherPub, nonce, 7, sig) {
		t.Error("signature accepted under another key")
	}
	if VerifyAuth(pub[:16], nonce, 7, sig) {
		t.Error("short public key accepted")
	}
}

func TestTokenRoundTrip(t *testing.T) {
	in := Token{URL: "https://rmm.example:8443", Fingerprint: strings.Repeat("ab", 32), Secret: "wet_secret"}
	s := in.String()
	if !strings.HasPrefix(s, "wacht1_") || strings.ContainsAny(s, " \n+/=") {
		t.Fatalf("token string %q is not copy-paste safe", s)
	}
	out, err := ParseToken("  " + s + "\n")
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("got %+v, want %+v", out, in)
	}
}

func TestParseTokenDamaged(t *testing.T) {
	good := Token{URL: "https://h", Secret: "s"}.String()
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return "wacht1_" + base64.RawURLEncoding.EncodeToString(b)
	}
	cases := map[string]string{
		"empty":          "",
		"no prefix":      strings.TrimPrefix(good, "wacht1_"),
		"truncated":      good[:len(good)-3],
		"bad base64":     "wacht1_***",
		"not json":       "wacht1_" + base64.RawURLEncoding.EncodeToString([]byte("hello")),
		"no secret":      enc(map[string]string{"u": "https://h"}),
		"no url":         enc(map[string]string{"s": "x"}),
		"huge":           "wacht1_" + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte(" "), 5000)),
		"standard b64":   "wacht1_" + base64.StdEncoding.EncodeToString([]byte(`{"u":"https://h","s":"x"}`)),
		"other prefix":   strings.Replace(good, "wacht1_", "wacht2_", 1),
		"wrong json typ": enc(map[string]int{"u": 1, "s": 2}),
	}
	for name, s := range cases {
		if _, err := ParseToken(s); err == nil {
			t.Errorf("%s: damaged token %q accepted", name, s)
		}
	}
}

func TestNowIsMilliseconds(t *testing.T) {
	n := Now()
	if n.Location() != time.UTC || n.Nanosecond()%int(time.Millisecond) != 0 {
		t.Fatalf("Now() = %v, want UTC whole milliseconds", n)
	}
}

// FuzzDecode checks that Decode never panics and that whatever it accepts
// re-encodes to an envelope that decodes to the same thing.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		`{"v":1,"type":"heartbeat"}`,
		`{"v":1,"type":"results","id":"b1","data":{"results":[{"id":"x","check":"cpu","status":"ok","at":"2026-01-01T00:00:00Z"}]}}`,
		`{"v":1,"type":"results","id":"b1","data":{"results":[{"id":"x","check":"eventlog","status":"failure","at":"2026-01-01T00:00:00Z","data":{"kind":"events","v":1,"total":1,"events":[{"time":"2026-01-01T01:00:00+01:00","source":"disk","text":"bad block"}]}}]}}`,
		`{"v":1,"type":"auth","data":{"device_id":3,"signature":"AAAA"}}`,
		`{"v":2,"type":"x"}`,
		`{"v":1}`,
		`[]`,
		`{"v":1,"type":"a","data":null}`,
		`{"v":1.0,"type":"a","id":"\u0000"}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		env, err := Decode(b)
		if err != nil {
			return
		}
		// Payloads must not panic the typed decoders either.
		var rs Results
		if DecodeData(env, &rs) == nil {
			_ = rs.Validate()
		}
		var a Auth
		_ = DecodeData(env, &a)

		var data any
		if len(env.Data) > 0 {
			data = env.Data
		}
		re, err := Encode(env.Type, env.ID, data)
		if err != nil {
			t.Fatalf("accepted envelope %q does not re-encode: %v", b, err)
		}
		env2, err := Decode(re)
		if err != nil {
			t.Fatalf("re-encoded %q does not decode: %v", re, err)
		}
		if env2.Type != env.Type || env2.ID != env.ID || env2.V != env.V {
			t.Fatalf("re-encode changed envelope: %+v vs %+v", env2, env)
		}
		if (len(env.Data) == 0) != (len(env2.Data) == 0) {
			t.Fatalf("re-encode changed data presence: %q vs %q", env.Data, env2.Data)
		}
	})
}
