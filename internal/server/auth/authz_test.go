package auth

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

func TestLoginThrottlePerAddressAndAccount(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	th := NewLoginThrottle(5, 3, 10*time.Minute)
	th.PerSource.Now = func() time.Time { return now }
	th.PerSourceAccount.Now = func() time.Time { return now }

	// Per address and account: three failures from one address lock the
	// account from that address only; the real user elsewhere still gets in.
	for range 3 {
		if !th.Allow("192.0.2.1", "anna@example.com") {
			t.Fatal("refused before the limit")
		}
		th.Fail("192.0.2.1", "Anna@Example.com ")
	}
	if th.Allow("192.0.2.1", "anna@example.com") {
		t.Error("guessing address not throttled")
	}
	if !th.Allow("198.51.100.9", "anna@example.com") {
		t.Error("account locked for another address")
	}
	if !th.Allow("192.0.2.1", "bob@example.com") {
		t.Error("other account throttled below the address limit")
	}
	// Many addresses failing on one account lock nobody else out.
	for i := range 20 {
		ip := "192.0.2." + strconv.Itoa(10+i)
		for range 3 {
			th.Fail(ip, "anna@example.com")
		}
	}
	if !th.Allow("198.51.100.9", "anna@example.com") {
		t.Error("distributed failures locked the account for everyone")
	}

	// Per address: five failures over five accounts lock the address.
	for i := range 5 {
		acct := string(rune('a'+i)) + "@example.com"
		if !th.Allow("203.0.113.5", acct) {
			t.Fatalf("address refused after %d failures", i)
		}
		th.Fail("203.0.113.5", acct)
	}
	if th.Allow("203.0.113.5", "zed@example.com") {
		t.Error("address not throttled for a new account")
	}
	// A success resets the address's account but not the address.
	th.Success("203.0.113.5", "a@example.com")
	if th.Allow("203.0.113.5", "a@example.com") {
		t.Error("success laundered the address's failures")
	}
	// One IPv6 /64 is one source.
	for i := range 5 {
		th.Fail("2001:db8:1:2::"+strconv.Itoa(i+1), "anna@example.com")
	}
	if th.Allow("2001:db8:1:2:ffff::1", "bob@example.com") {
		t.Error("another address of the same /64 not throttled")
	}
	if !th.Allow("2001:db8:1:3::1", "anna@example.com") {
		t.Error("another /64 throttled")
	}
	now = now.Add(11 * time.Minute)
	if !th.Allow("203.0.113.5", "anna@example.com") || !th.Allow("192.0.2.1", "anna@example.com") {
		t.Error("still throttled after the window")
	}
}

func TestSource(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                  "192.0.2.7",
		"::ffff:192.0.2.7":           "192.0.2.7",
		"2001:db8:1:2:3:4:5:6":       "2001:db8:1:2::/64",
		"fe80::1%eth0":               "fe80::/64",
		"not an address":             "not an address",
		"2001:db8:1:2::1:2:3":        "2001:db8:1:2::/64",
		"2001:0db8:0001:0002:0::0:1": "2001:db8:1:2::/64",
	} {
		if got := Source(in); got != want {
			t.Errorf("Source(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCheckTOTP(t *testing.T) {
	k, err := NewTOTP("anna@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(k.URL, "otpauth://totp/Wacht:anna@example.com?") || !strings.HasPrefix(k.QRPNG, "data:image/png;base64,") {
		t.Errorf("key view: %+v", k)
	}
	now := time.Date(2026, 5, 1, 12, 0, 15, 0, time.UTC)
	for _, d := range []time.Duration{-30 * time.Second, 0, 30 * time.Second} {
		code, _ := totp.GenerateCode(k.Secret, now.Add(d))
		step, ok := CheckTOTP(k.Secret, code, now)
		if !ok || step != now.Add(d).Unix()/30 {
			t.Errorf("code at %v: step %d, %v", d, step, ok)
		}
	}
	old, _ := totp.GenerateCode(k.Secret, now.Add(-90*time.Second))
	if _, ok := CheckTOTP(k.Secret, old, now); ok {
		t.Error("code from 90 s ago accepted")
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, ok := CheckTOTP(k.Secret, bad, now); ok {
			t.Errorf("%q accepted", bad)
		}
	}
	again, err := TOTPKeyFor("anna@example.com", k.Secret)
	if err != nil || again.Secret != k.Secret {
		t.Errorf("TOTPKeyFor: %+v %v", again, err)
	}
}

func TestRecoveryCodes(t *testing.T) {
	cs := NewRecoveryCodes()
	if len(cs) != RecoveryCodes || len(cs[0]) != 14 {
		t.Fatalf("codes: %q", cs)
	}
	if len(slices.Compact(slices.Sorted(slices.Values(cs)))) != RecoveryCodes {
		t.Error("duplicate codes")
	}
	if string(HashRecoveryCode(cs[0])) != string(HashRecoveryCode(" "+strings.ToUpper(strings.ReplaceAll(cs[0], "-", ""))+" ")) {
		t.Error("normalization")
	}
}

func TestPendingLogin(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	p := PendingLogin{Key: []byte("0123456789abcdef0123456789abcdef"), TTL: 5 * time.Minute}
	tok := p.Issue(42, now)
	if id, ok := p.Check(tok, now.Add(time.Minute)); !ok || id != 42 {
		t.Errorf("valid token: %d %v", id, ok)
	}
	if _, ok := p.Check(tok, now.Add(5*time.Minute)); ok {
		t.Error("expired token accepted")
	}
	other := PendingLogin{Key: []byte("another key, another key, anothe"), TTL: time.Minute}
	if _, ok := other.Check(tok, now); ok {
		t.Error("token accepted under another key")
	}
	b := []byte(tok)
	b[3] ^= 1
	if _, ok := p.Check(string(b), now); ok {
		t.Error("tampered token accepted")
	}
}
