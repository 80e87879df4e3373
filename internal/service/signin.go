package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// Dashboard sign-in, two-factor enrolment and the user's own preferences.
// The transport keeps what is HTTP (cookies, the throttle, the pending-login
// cookie's signature); what is checked and audited is here.

// ErrTOTPCode is a wrong or reused code while enabling two-factor sign-in.
var ErrTOTPCode = fmt.Errorf("wrong or expired code: %w", core.ErrInvalid)

// SettingLoginKey holds the key that signs pending (password-only) logins,
// shared by every node.
const SettingLoginKey = "login_key"

// LoginKey returns the key that signs pending logins, creating it on first
// use; when two nodes create it at once, both end with the one stored.
func (s *Service) LoginKey(ctx context.Context) ([]byte, error) {
	v, err := s.store.GetSetting(ctx, SettingLoginKey)
	if errors.Is(err, core.ErrNotFound) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		if err := s.store.SetSetting(ctx, SettingLoginKey, hex.EncodeToString(b)); err != nil {
			return nil, fmt.Errorf("saving the login key: %w", err)
		}
		v, err = s.store.GetSetting(ctx, SettingLoginKey) // another node may have won
	}
	if err != nil {
		return nil, fmt.Errorf("reading the login key: %w", err)
	}
	return hex.DecodeString(v)
}

// PasswordSignIn checks a user's e-mail and password. A failure is
// auth.ErrBadCredentials, audited as a denied "user.login" of the account
// tried. Success is not yet a sign-in: a user with two-factor sign-in must
// pass SecondFactorSignIn, then SignedIn records it.
func (s *Service) PasswordSignIn(ctx context.Context, email, password string) (core.User, error) {
	u, err := auth.Login(ctx, s.store, email, password)
	if errors.Is(err, auth.ErrBadCredentials) {
		s.recordDenied(ctx, "user.login", email, "wrong password or unknown e-mail")
	}
	return u, err
}

// PendingUser returns the user of a pending login (the password step
// passed) if they still need and may pass the second step.
func (s *Service) PendingUser(ctx context.Context, id int64) (core.User, bool) {
	u, err := s.store.GetUser(ctx, id)
	return u, err == nil && u.TOTPEnabled && !u.Disabled
}

// SecondFactorSignIn checks the second step of u's sign-in: a TOTP code or
// a recovery code (audited as "user.recovery-code"). A failure is
// auth.ErrSecondFactor, audited as a denied "user.login-2fa".
func (s *Service) SecondFactorSignIn(ctx context.Context, u core.User, code string) error {
	recovery, err := auth.SecondFactor(ctx, s.store, u.ID, code, s.now())
	if errors.Is(err, auth.ErrSecondFactor) {
		s.recordDenied(ctx, "user.login-2fa", u.Email, "wrong or reused code")
		return err
	}
	if err != nil {
		return err
	}
	if recovery {
		s.recordSelf(ctx, u, "user.recovery-code", "one recovery code used")
	}
	return nil
}

// SignedIn records that u passed every factor.
func (s *Service) SignedIn(ctx context.Context, u core.User) {
	s.recordSelf(ctx, u, "user.login", auth.RemoteFrom(ctx))
}

// SignedOut records that u signed out.
func (s *Service) SignedOut(ctx context.Context, u core.User) {
	s.recordSelf(ctx, u, "user.logout", "")
}

// SetLanguage saves u's language ("de" or "en").
func (s *Service) SetLanguage(ctx context.Context, u core.User, lang string) error {
	if u.ID <= 0 {
		return core.ErrForbidden
	}
	if lang != "de" && lang != "en" {
		return fmt.Errorf("language %q: %w", lang, core.ErrInvalid)
	}
	if err := s.store.SetUserLang(ctx, u.ID, lang); err != nil {
		return fmt.Errorf("saving language: %w", err)
	}
	s.recordSelf(ctx, u, "user.set-lang", lang)
	return nil
}

// SetTimeZone saves u's time zone, an IANA name such as "Europe/Berlin"
// that this server's zone database knows (the dashboard shows times in it).
func (s *Service) SetTimeZone(ctx context.Context, u core.User, zone string) error {
	if u.ID <= 0 {
		return core.ErrForbidden
	}
	zone = strings.TrimSpace(zone)
	if err := ValidTimeZone(zone); err != nil {
		return err
	}
	if err := s.store.SetUserTimeZone(ctx, u.ID, zone); err != nil {
		return fmt.Errorf("saving time zone: %w", err)
	}
	s.recordSelf(ctx, u, "user.set-time-zone", zone)
	return nil
}

// ValidTimeZone accepts an IANA zone name time.LoadLocation knows, except
// "" and "Local" (which would mean the server's zone, not a chosen one); the
// error names the field time_zone.
func ValidTimeZone(zone string) error {
	if zone != "" && zone != "Local" {
		if _, err := time.LoadLocation(zone); err == nil {
			return nil
		}
	}
	return &policy.ValidationError{Fields: []policy.FieldError{{Field: "time_zone", Message: core.Text{
		EN: fmt.Sprintf("time zone %q is not an IANA time zone such as Europe/Berlin", zone),
		DE: fmt.Sprintf("Zeitzone „%s“ ist keine IANA-Zeitzone wie Europe/Berlin", zone)}}}}
}

// StartTOTP begins u's two-factor enrolment with a fresh secret, stored as
// pending until EnableTOTP confirms it.
func (s *Service) StartTOTP(ctx context.Context, u core.User) (auth.TOTPKey, error) {
	if u.ID <= 0 {
		return auth.TOTPKey{}, core.ErrForbidden
	}
	if u.TOTPEnabled {
		return auth.TOTPKey{}, fmt.Errorf("two-factor sign-in is on already: %w", core.ErrConflict)
	}
	key, err := auth.NewTOTP(u.Email)
	if err != nil {
		return auth.TOTPKey{}, err
	}
	if err := s.store.SetTOTP(ctx, u.ID, key.Secret, false); err != nil {
		return auth.TOTPKey{}, fmt.Errorf("saving the pending 2FA secret: %w", err)
	}
	return key, nil
}

// PendingTOTPKey returns u's pending enrolment again (after a wrong code).
func (s *Service) PendingTOTPKey(ctx context.Context, u core.User) (auth.TOTPKey, error) {
	secret, enabled, _, err := s.store.GetTOTP(ctx, u.ID)
	if err != nil {
		return auth.TOTPKey{}, err
	}
	if enabled {
		return auth.TOTPKey{}, core.ErrConflict
	}
	return auth.TOTPKeyFor(u.Email, secret)
}

// EnableTOTP confirms u's pending secret with a code, turns two-factor
// sign-in on and returns the recovery codes, to be shown once. A wrong
// code is ErrTOTPCode. Audited as "user.2fa-enable".
func (s *Service) EnableTOTP(ctx context.Context, u core.User, code string) ([]string, error) {
	if u.ID <= 0 {
		return nil, core.ErrForbidden
	}
	secret, enabled, _, err := s.store.GetTOTP(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if enabled {
		return nil, fmt.Errorf("two-factor sign-in is on already: %w", core.ErrConflict)
	}
	step, ok := auth.CheckTOTP(secret, code, s.now())
	if !ok {
		return nil, ErrTOTPCode
	}
	codes := auth.NewRecoveryCodes()
	hashes := make([][]byte, len(codes))
	for i, c := range codes {
		hashes[i] = auth.HashRecoveryCode(c)
	}
	if err := s.store.UseTOTPStep(ctx, u.ID, step); err != nil {
		return nil, err
	}
	if err := s.store.SetRecoveryCodes(ctx, u.ID, hashes); err != nil {
		return nil, err
	}
	if err := s.store.SetTOTP(ctx, u.ID, secret, true); err != nil {
		return nil, err
	}
	s.recordSelf(ctx, u, "user.2fa-enable", "")
	return codes, nil
}

// recordSelf audits u's action on their own account. It has happened
// already, so a failed audit write is logged rather than returned.
func (s *Service) recordSelf(ctx context.Context, u core.User, action, detail string) {
	if err := s.record(ctx, u, action, target("user", u.ID), detail, core.AuditOK); err != nil {
		s.log.Error("writing audit entry", "action", action, "user", u.Email, "err", err)
	}
}

// recordDenied audits a refused sign-in step, where there is no user yet.
func (s *Service) recordDenied(ctx context.Context, action, account, detail string) {
	e := s.auditEntry(ctx, core.User{}, action, "account:"+account, detail, core.AuditDenied)
	if err := s.store.Audit(ctx, e); err != nil {
		s.log.Error("writing audit entry", "action", action, "err", err)
	}
}
