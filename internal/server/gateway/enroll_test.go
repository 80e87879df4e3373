package gateway

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

func TestEnrollCreatesDeviceAndAudits(t *testing.T) {
	engines(t, func(t *testing.T, st testStore) {
		e := newEnv(t, st, nil, nil)
		secret, _ := e.token(nil)
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		status, er, ok := e.postEnroll(enrollBody(secret, pub, "m1"))
		if status != http.StatusOK {
			t.Fatalf("enroll: %d %+v", status, er)
		}
		if ok.DeviceID == 0 || ok.Client != "Müller GmbH" || ok.Site != "Hannover" {
			t.Fatalf("response %+v", ok)
		}
		ctx := context.Background()
		d, err := st.GetDevice(ctx, ok.DeviceID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.PublicKey, pub) || d.Hostname != "pc-m1" || d.State != core.DeviceActive {
			t.Fatalf("device %+v", d)
		}
		audit, err := st.ListAudit(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(audit) != 1 || audit[0].Actor != "agent" || audit[0].Action != "device.enroll" || !strings.Contains(audit[0].Target, "device:") {
			t.Fatalf("audit %+v", audit)
		}
	})
}

func TestEnrollRefusals(t *testing.T) {
	engines(t, func(t *testing.T, st testStore) {
		e := newEnv(t, st, nil, nil)
		ctx := context.Background()
		past := time.Now().Add(-time.Hour)
		expired, _ := e.token(func(tk *core.EnrollmentToken) { tk.ExpiresAt = &past })
		revoked, rt := e.token(nil)
		if err := st.RevokeEnrollmentToken(ctx, rt.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		usedUp, _ := e.token(func(tk *core.EnrollmentToken) { tk.MaxUses = 1 })
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		if status, er, _ := e.postEnroll(enrollBody(usedUp, pub, "first")); status != http.StatusOK {
			t.Fatalf("first use of a one-use token: %d %+v", status, er)
		}

		cases := []struct {
			name, secret, code string
			status             int
		}{
			{"expired", expired, protocol.EnrollTokenExpired, http.StatusForbidden},
			{"revoked", revoked, protocol.EnrollTokenRevoked, http.StatusForbidden},
			{"used up", usedUp, protocol.EnrollTokenUsedUp, http.StatusForbidden},
			{"unknown", "wet_never-issued", protocol.EnrollTokenUnknown, http.StatusUnauthorized},
		}
		for _, c := range cases {
			status, er, _ := e.postEnroll(enrollBody(c.secret, pub, "m-"+c.name))
			if status != c.status || er.Code != c.code {
				t.Errorf("%s: got %d %+v, want %d %s", c.name, status, er, c.status, c.code)
			}
		}
		devs, err := st.ListDevices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(devs) != 1 {
			t.Fatalf("%d devices after refusals, want only the first one", len(devs))
		}
	})
}

func TestEnrollBadRequests(t *testing.T) {
	e := newEnv(t, storetest.NewSQLite(t), nil, func(o *Options) { o.EnrollFailures = 1000 })
	secret, _ := e.token(nil)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	mod := func(f func(*protocol.EnrollRequest)) []byte {
		req := protocol.EnrollRequest{Token: secret, PublicKey: pub, Hostname: "h", OS: "linux"}
		f(&req)
		b, _ := json.Marshal(req)
		return b
	}
	cases := map[string][]byte{
		"not json":         []byte("{"),
		"short key":        mod(func(r *protocol.EnrollRequest) { r.PublicKey = pub[:31] }),
		"no key":           mod(func(r *protocol.EnrollRequest) { r.PublicKey = nil }),
		"no hostname":      mod(func(r *protocol.EnrollRequest) { r.Hostname = "" }),
		"long hostname":    mod(func(r *protocol.EnrollRequest) { r.Hostname = strings.Repeat("h", 256) }),
		"long machine id":  mod(func(r *protocol.EnrollRequest) { r.MachineID = strings.Repeat("m", 257) }),
		"unknown role":     mod(func(r *protocol.EnrollRequest) { r.Role = "toaster" }),
		"no token":         mod(func(r *protocol.EnrollRequest) { r.Token = "" }),
		"oversized secret": mod(func(r *protocol.EnrollRequest) { r.Token = strings.Repeat("s", 300) }),
	}
	for name, body := range cases {
		if status, er, _ := e.postEnroll(body); status != http.StatusBadRequest || er.Code != protocol.EnrollBadRequest {
			t.Errorf("%s: got %d %+v, want 400 bad_request", name, status, er)
		}
	}

	// A body over 64 KiB is cut off, even if it would be valid JSON.
	big := mod(func(r *protocol.EnrollRequest) { r.AgentVersion = strings.Repeat("v", 70<<10) })
	if status, er, _ := e.postEnroll(big); status != http.StatusRequestEntityTooLarge || er.Code != protocol.EnrollBadRequest {
		t.Errorf("oversized body: got %d %+v, want 413", status, er)
	}
	if devs, _ := e.st.ListDevices(context.Background()); len(devs) != 0 {
		t.Fatalf("bad requests enrolled %d devices", len(devs))
	}
	// And a valid one still works.
	if status, er, _ := e.postEnroll(mod(func(*protocol.EnrollRequest) {})); status != http.StatusOK {
		t.Fatalf("valid request: %d %+v", status, er)
	}
}

func TestEnrollThrottlesFailures(t *testing.T) {
	e := newEnv(t, storetest.NewSQLite(t), nil, func(o *Options) {
		o.EnrollFailures = 2
		o.EnrollRefill = time.Hour
	})
	secret, _ := e.token(nil)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	// A correct token does not drain the bucket.
	for i := range 3 {
		if status, _, _ := e.postEnroll(enrollBody(secret, pub, "ok")); status != http.StatusOK {
			t.Fatalf("good enrollment %d: %d", i, status)
		}
	}
	for i := range 2 {
		if status, _, _ := e.postEnroll(enrollBody("wet_guess", pub, "g")); status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, status)
		}
	}
	if status, er, _ := e.postEnroll(enrollBody("wet_guess", pub, "g")); status != http.StatusTooManyRequests {
		t.Fatalf("third guess: %d %+v, want 429", status, er)
	}
}

// TestEnrollValidTokenNotLockedOut: failures from one address neither
// lock out a valid token from there nor from elsewhere, while further
// guesses from that address are refused, slowly.
func TestEnrollValidTokenNotLockedOut(t *testing.T) {
	e := newEnv(t, storetest.NewSQLite(t), nil, func(o *Options) {
		o.EnrollFailures = 10
		o.EnrollRefill = time.Hour
	})
	secret, _ := e.token(nil)
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	for i := range 10 {
		if status, _, _ := e.postEnrollFrom("127.0.0.2", enrollBody("wet_guess", pub, "g")); status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d, want 401", i, status)
		}
	}
	start := time.Now()
	if status, er, _ := e.postEnrollFrom("127.0.0.2", enrollBody("wet_guess", pub, "g")); status != http.StatusTooManyRequests || er.Code != "too_many_attempts" {
		t.Fatalf("guess over the budget: %d %+v, want 429", status, er)
	}
	if d := time.Since(start); d < enrollTarpit {
		t.Errorf("guess over the budget answered after %v, want at least %v", d, enrollTarpit)
	}
	for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
		if status, er, _ := e.postEnrollFrom(ip, enrollBody(secret, pub, "ok-"+ip)); status != http.StatusOK {
			t.Errorf("valid token from %s after the failures: %d %+v, want 200", ip, status, er)
		}
	}
}

func TestThrottleHoldsFewPerSource(t *testing.T) {
	th := newThrottle(1, time.Minute)
	for i := range enrollHeld {
		if !th.hold("192.0.2.1") {
			t.Fatalf("hold %d refused", i)
		}
	}
	if th.hold("192.0.2.1") {
		t.Error("more than enrollHeld requests held")
	}
	if !th.hold("192.0.2.2") {
		t.Error("another source refused")
	}
	th.release("192.0.2.1")
	if !th.hold("192.0.2.1") {
		t.Error("a released slot was not given again")
	}
	for range enrollHeld {
		th.release("192.0.2.1")
	}
	th.release("192.0.2.2")
	if len(th.held) != 0 {
		t.Errorf("released sources still kept: %v", th.held)
	}
}

func TestThrottleRefills(t *testing.T) {
	th := newThrottle(1, time.Minute)
	t0 := time.Unix(1000, 0)
	th.fail("1.2.3.4", t0)
	if th.allow("1.2.3.4", t0.Add(time.Second)) {
		t.Fatal("allowed right after the burst was used")
	}
	if !th.allow("5.6.7.8", t0) {
		t.Fatal("another address throttled")
	}
	if !th.allow("1.2.3.4", t0.Add(time.Minute)) {
		t.Fatal("not refilled after the refill interval")
	}
}
