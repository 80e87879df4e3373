package service

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// Sign-in and enrolment go through the service: each refusal is audited
// with the account tried, each success with the user.
func TestSignInAndEnrolment(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := auth.WithRemote(context.Background(), "198.51.100.7:4000")
	if _, err := f.svc.PasswordSignIn(ctx, "tech@example.com", "wrong"); !errors.Is(err, auth.ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	u, err := f.svc.PasswordSignIn(ctx, "tech@example.com", "long enough")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.svc.PendingUser(ctx, u.ID); ok {
		t.Error("a user without 2FA has no second step")
	}
	if err := f.svc.SetLanguage(ctx, u, "fr"); !errors.Is(err, core.ErrInvalid) {
		t.Errorf("language fr: %v", err)
	}
	if err := f.svc.SetLanguage(ctx, u, "de"); err != nil {
		t.Fatal(err)
	}

	key, err := f.svc.StartTOTP(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.EnableTOTP(ctx, u, "000000"); !errors.Is(err, ErrTOTPCode) {
		// One in a million the random code is right; the secret is fresh.
		t.Fatalf("wrong code: %v", err)
	}
	again, err := f.svc.PendingTOTPKey(ctx, u)
	if err != nil || again.Secret != key.Secret {
		t.Fatalf("pending key: %v", err)
	}
	code, err := totp.GenerateCode(key.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	codes, err := f.svc.EnableTOTP(ctx, u, code)
	if err != nil || len(codes) == 0 {
		t.Fatalf("enabling: %v %v", codes, err)
	}
	u, _ = f.svc.PendingUser(ctx, u.ID)
	if err := f.svc.SecondFactorSignIn(ctx, u, code); !errors.Is(err, auth.ErrSecondFactor) {
		t.Errorf("reused code: %v", err)
	}
	if err := f.svc.SecondFactorSignIn(ctx, u, codes[0]); err != nil {
		t.Errorf("recovery code: %v", err)
	}
	f.svc.SignedIn(ctx, u)

	es, err := f.st.QueryAudit(ctx, core.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]core.AuditEntry{}
	for _, e := range es {
		got[e.Action+"/"+e.Result] = e
	}
	for _, want := range []string{"user.login/denied", "user.set-lang/ok", "user.2fa-enable/ok", "user.login-2fa/denied", "user.recovery-code/ok", "user.login/ok"} {
		e, ok := got[want]
		if !ok {
			t.Errorf("no audit entry %s in %+v", want, es)
			continue
		}
		if e.Remote != "198.51.100.7:4000" {
			t.Errorf("%s: remote %q", want, e.Remote)
		}
	}
	if e := got["user.login/denied"]; e.Actor != "anonymous" || e.Target != "account:tech@example.com" {
		t.Errorf("denied login: %+v", e)
	}
}

// A user's time zone: IANA names only (the field named in both languages),
// saved and audited; "Local" (the server's zone) is no choice.
func TestSetTimeZone(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	for _, bad := range []string{"", "Local", "Mars/Olympus", "../etc/passwd"} {
		err := f.svc.SetTimeZone(ctx, f.tech, bad)
		var ve *policy.ValidationError
		if !errors.Is(err, core.ErrInvalid) || !errors.As(err, &ve) || ve.Fields[0].Field != "time_zone" || ve.Fields[0].Message.DE == "" {
			t.Errorf("zone %q: %v", bad, err)
		}
	}
	if err := f.svc.SetTimeZone(ctx, core.User{}, "Europe/Berlin"); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("no user: %v", err)
	}
	if err := f.svc.SetTimeZone(ctx, f.tech, " America/New_York "); err != nil {
		t.Fatal(err)
	}
	u, err := f.st.GetUser(ctx, f.tech.ID)
	if err != nil || u.TimeZone != "America/New_York" {
		t.Fatalf("stored %q, %v", u.TimeZone, err)
	}
	entries, err := f.st.ListAudit(ctx, 10)
	if err != nil || len(entries) == 0 || entries[0].Action != "user.set-time-zone" || entries[0].Detail != "America/New_York" {
		t.Errorf("audit: %+v, %v", entries, err)
	}
}
