package service

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// SettingRequire2FA is the setting ("true"/"false") with which an
// administrator makes two-factor login mandatory.
const SettingRequire2FA = "require_2fa"

// NewUser is what an administrator gives to create a user.
type NewUser struct {
	Email    string     `json:"email"`
	Password string     `json:"password"`
	Role     string     `json:"role"`
	Scope    core.Scope `json:"scope"`
}

// ListUsers returns every user (administrators only).
func (s *Service) ListUsers(ctx context.Context, u core.User) ([]core.User, error) {
	if err := need(u, authz.Admin); err != nil {
		return nil, err
	}
	us, err := s.store.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	if us == nil {
		us = []core.User{}
	}
	return us, nil
}

// CreateUser creates a user (administrators only). The e-mail address is
// trimmed and lower-cased and must be a plain address (see NormalizeEmail).
func (s *Service) CreateUser(ctx context.Context, u core.User, nu NewUser) (core.User, error) {
	if err := need(u, authz.Admin); err != nil {
		return core.User{}, err
	}
	email, err := NormalizeEmail(nu.Email)
	if err != nil {
		return core.User{}, err
	}
	if !core.ValidRole(nu.Role) {
		return core.User{}, fmt.Errorf("role %q: must be admin, technician or readonly: %w", nu.Role, core.ErrInvalid)
	}
	h, err := s.hashPassword(nu.Password)
	if err != nil {
		return core.User{}, fmt.Errorf("%v: %w", err, core.ErrInvalid)
	}
	nw := core.User{Email: email, PasswordHash: h, Role: nu.Role, Scope: nu.Scope, CreatedAt: s.now()}
	if err := s.store.CreateUser(ctx, &nw); errors.Is(err, core.ErrConflict) {
		return core.User{}, fmt.Errorf("user %s already exists: %w", email, err)
	} else if err != nil {
		return core.User{}, fmt.Errorf("creating user: %w", err)
	}
	return nw, s.record(ctx, u, "user.create", target("user", nw.ID), nw.Email+" "+nw.Role+" "+scopeText(nw.Scope), core.AuditOK)
}

// NormalizeEmail trims and lower-cases an e-mail address and refuses
// anything but a plain address of at most 254 bytes (no display name, no
// angle brackets), with core.ErrInvalid.
func NormalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return "", fmt.Errorf("%q is not an e-mail address: %w", email, core.ErrInvalid)
	}
	return email, nil
}

// UserByEmail finds a user by e-mail address (administrators only), for
// callers such as the CLI that name users by address.
func (s *Service) UserByEmail(ctx context.Context, u core.User, email string) (core.User, error) {
	if err := need(u, authz.Admin); err != nil {
		return core.User{}, err
	}
	t, err := s.store.GetUserByEmail(ctx, strings.ToLower(strings.TrimSpace(email)))
	if errors.Is(err, core.ErrNotFound) {
		return core.User{}, fmt.Errorf("no user %s: %w", email, err)
	}
	if err != nil {
		return core.User{}, fmt.Errorf("finding user %s: %w", email, err)
	}
	return t, nil
}

// SetUserRole changes a user's role and scope (administrators only; an
// administrator cannot demote themself, so one always remains).
func (s *Service) SetUserRole(ctx context.Context, u core.User, id int64, role string, sc core.Scope) error {
	if err := need(u, authz.Admin); err != nil {
		return err
	}
	if id == u.ID && role != core.RoleAdmin {
		return fmt.Errorf("demoting yourself: %w", core.ErrConflict)
	}
	if err := s.store.SetUserRole(ctx, id, role, sc); err != nil {
		return fmt.Errorf("setting role of user %d: %w", id, err)
	}
	return s.record(ctx, u, "user.role", target("user", id), role+" "+scopeText(sc), core.AuditOK)
}

// ResetTOTP turns a user's two-factor sign-in off and deletes their
// recovery codes (administrators; for a user who lost both). Under
// mandatory 2FA the user enrols again at the next sign-in.
func (s *Service) ResetTOTP(ctx context.Context, u core.User, id int64) error {
	if err := need(u, authz.Admin); err != nil {
		return err
	}
	if err := s.store.SetTOTP(ctx, id, "", false); err != nil {
		return fmt.Errorf("resetting 2FA of user %d: %w", id, err)
	}
	if err := s.store.SetRecoveryCodes(ctx, id, nil); err != nil {
		return fmt.Errorf("deleting recovery codes of user %d: %w", id, err)
	}
	return s.record(ctx, u, "user.2fa-reset", target("user", id), "", core.AuditOK)
}

func scopeText(sc core.Scope) string {
	if !sc.Restricted {
		return "clients=all"
	}
	ids := make([]string, len(sc.Clients))
	for i, c := range sc.Clients {
		ids[i] = strconv.FormatInt(c, 10)
	}
	return "clients=" + strings.Join(ids, ",")
}

// NewToken asks for an API token.
type NewToken struct {
	Name      string     `json:"name"`
	Role      string     `json:"role,omitempty"`  // "" = the creator's
	Scope     core.Scope `json:"scope,omitempty"` // zero = the creator's
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// CreatedToken is a new token with its secret, shown once.
type CreatedToken struct {
	core.APIToken
	Secret string `json:"secret"`
}

// CreateAPIToken mints a token for u carrying at most u's rights: a role
// above u's or a client outside u's scope is ErrForbidden. u is the caller's
// effective user, so a narrowed token cannot mint a wider one. Under
// mandatory 2FA, u needs a second factor (ErrTOTPRequired).
func (s *Service) CreateAPIToken(ctx context.Context, u core.User, nt NewToken) (CreatedToken, error) {
	return s.CreateAPITokenFor(ctx, u, u, nt)
}

// CreateAPITokenFor mints a token for owner, with CreateAPIToken's rules
// applied to owner: at most owner's role and scope, and a second factor
// under mandatory 2FA. Only owner themself or the CLI may call it; nobody
// mints tokens for another user through the API or the dashboard. A
// disabled owner gets none (core.ErrConflict): the API would refuse it.
func (s *Service) CreateAPITokenFor(ctx context.Context, u, owner core.User, nt NewToken) (CreatedToken, error) {
	if err := need(u, authz.Authenticated); err != nil {
		return CreatedToken{}, err
	}
	if u.ID != owner.ID && u.ID != cliID {
		return CreatedToken{}, fmt.Errorf("a token for another user: %w", core.ErrForbidden)
	}
	if owner.Disabled {
		return CreatedToken{}, fmt.Errorf("%s is disabled: %w", owner.Email, core.ErrConflict)
	}
	if err := CheckTOTP(ctx, s.store, owner); err != nil {
		return CreatedToken{}, err
	}
	if nt.Role != "" && !core.ValidRole(nt.Role) {
		return CreatedToken{}, fmt.Errorf("token role %q: %w", nt.Role, core.ErrInvalid)
	}
	if nt.Role != "" && core.RoleRank(nt.Role) > core.RoleRank(owner.Role) {
		return CreatedToken{}, fmt.Errorf("token role %s above %s: %w", nt.Role, owner.Role, core.ErrForbidden)
	}
	if nt.Scope.Restricted {
		for _, c := range nt.Scope.Clients {
			if !authz.CanSeeClient(owner, c) {
				return CreatedToken{}, fmt.Errorf("token client %d outside scope: %w", c, core.ErrForbidden)
			}
		}
	}
	// Store the effective scope so the token never exceeds what owner had.
	sc := owner.Scope.Intersect(nt.Scope)
	if nt.ExpiresAt != nil && !nt.ExpiresAt.After(s.now()) {
		return CreatedToken{}, fmt.Errorf("expiry in the past: %w", core.ErrInvalid)
	}
	secret := auth.NewSecret(auth.APITokenPrefix)
	t := core.APIToken{UserID: owner.ID, Name: nt.Name, Hash: auth.HashSecret(secret), CreatedAt: s.now(),
		ExpiresAt: nt.ExpiresAt, Role: nt.Role, Scope: sc}
	if t.Role == "" && owner.Role != "" {
		t.Role = owner.Role
	}
	if err := s.store.CreateAPIToken(ctx, &t); err != nil {
		return CreatedToken{}, fmt.Errorf("creating API token: %w", err)
	}
	detail := t.Name + " " + t.Role + " " + scopeText(sc)
	if u.ID != owner.ID {
		detail += " user=" + owner.Email
	}
	return CreatedToken{APIToken: t, Secret: secret},
		s.record(ctx, u, "apitoken.create", target("apitoken", t.ID), detail, core.AuditOK)
}

// ListAPITokens returns u's own tokens (administrators: everyone's).
func (s *Service) ListAPITokens(ctx context.Context, u core.User) ([]core.APIToken, error) {
	if err := need(u, authz.Authenticated); err != nil {
		return nil, err
	}
	owner := u.ID
	if u.Role == core.RoleAdmin {
		owner = 0
	}
	ts, err := s.store.ListAPITokens(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("listing API tokens: %w", err)
	}
	if ts == nil {
		ts = []core.APIToken{}
	}
	return ts, nil
}

// RevokeAPIToken revokes one of u's tokens (administrators: anyone's);
// others' tokens are core.ErrNotFound.
func (s *Service) RevokeAPIToken(ctx context.Context, u core.User, id int64) error {
	ts, err := s.ListAPITokens(ctx, u)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(ts, func(t core.APIToken) bool { return t.ID == id }) {
		return fmt.Errorf("API token %d: %w", id, core.ErrNotFound)
	}
	if err := s.store.RevokeAPIToken(ctx, id, s.now()); err != nil {
		return fmt.Errorf("revoking API token %d: %w", id, err)
	}
	return s.record(ctx, u, "apitoken.revoke", target("apitoken", id), "", core.AuditOK)
}

// QueryAudit returns audit entries. The audit log spans every client and
// the users themselves, so only administrators may read or export it.
func (s *Service) QueryAudit(ctx context.Context, u core.User, q core.AuditQuery) ([]core.AuditEntry, error) {
	if err := need(u, authz.Admin); err != nil {
		return nil, err
	}
	es, err := s.store.QueryAudit(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("querying audit log: %w", err)
	}
	if es == nil {
		es = []core.AuditEntry{}
	}
	return es, nil
}

// VerifyAudit walks the audit chain (administrators only) and returns the
// ID of the first entry whose link or hash is wrong (0: intact) and how
// many entries it checked.
func (s *Service) VerifyAudit(ctx context.Context, u core.User) (badID int64, checked int, err error) {
	if err := need(u, authz.Admin); err != nil {
		return 0, 0, err
	}
	bad, n, err := s.store.VerifyAudit(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("verifying audit log: %w", err)
	}
	return bad, n, nil
}

// WriteAuditCSV writes entries as CSV (RFC 4180) with a header row. Cells
// that a spreadsheet would run as a formula are prefixed with a quote.
func WriteAuditCSV(w io.Writer, es []core.AuditEntry) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "time", "actor", "remote", "action", "target", "detail", "result", "hash"})
	for _, e := range es {
		cw.Write([]string{strconv.FormatInt(e.ID, 10), e.At.UTC().Format(time.RFC3339Nano), safeCell(e.Actor),
			safeCell(e.Remote), safeCell(e.Action), safeCell(e.Target), safeCell(e.Detail), safeCell(e.Result),
			fmt.Sprintf("%x", e.Hash)})
	}
	cw.Flush()
	return cw.Error()
}

func safeCell(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// SetRequire2FA turns mandatory two-factor login on or off.
func (s *Service) SetRequire2FA(ctx context.Context, u core.User, on bool) error {
	if err := need(u, authz.Admin); err != nil {
		return err
	}
	if err := s.store.SetSetting(ctx, SettingRequire2FA, strconv.FormatBool(on)); err != nil {
		return fmt.Errorf("saving 2FA setting: %w", err)
	}
	return s.record(ctx, u, "settings.require-2fa", "settings", strconv.FormatBool(on), core.AuditOK)
}

// Require2FA reports whether two-factor login is mandatory.
func (s *Service) Require2FA(ctx context.Context) (bool, error) {
	return Require2FA(ctx, s.store)
}

// Require2FA reports the SettingRequire2FA of st.
func Require2FA(ctx context.Context, st core.SettingStore) (bool, error) {
	v, err := st.GetSetting(ctx, SettingRequire2FA)
	if errors.Is(err, core.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading 2FA setting: %w", err)
	}
	return v == "true", nil
}

// APIUser authenticates a request to the API by its Authorization header
// (see auth.BearerUser) and returns the token's effective user. While
// two-factor sign-in is mandatory, the token of a user without it is
// refused with ErrTOTPRequired.
func (s *Service) APIUser(ctx context.Context, authorization string) (core.User, error) {
	u, err := auth.BearerUser(ctx, s.store, authorization, s.now())
	if err != nil {
		return core.User{}, err
	}
	if err := CheckTOTP(ctx, s.store, u); err != nil {
		return core.User{}, err
	}
	return u, nil
}

// ErrTOTPRequired refuses the API tokens of a user without a second factor
// while two-factor sign-in is mandatory, and the creation of new ones. The
// tokens are kept: they work again once their user has enrolled (or the
// setting is turned off).
var ErrTOTPRequired = fmt.Errorf("two-factor sign-in is mandatory and not set up: %w", core.ErrForbidden)

// CheckTOTP returns ErrTOTPRequired if two-factor sign-in is mandatory and
// u has not set it up. An unreadable setting is an error, so the caller
// refuses (fails closed).
func CheckTOTP(ctx context.Context, st core.SettingStore, u core.User) error {
	if u.TOTPEnabled {
		return nil
	}
	on, err := Require2FA(ctx, st)
	if err != nil {
		return err
	}
	if on {
		return ErrTOTPRequired
	}
	return nil
}
