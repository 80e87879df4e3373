package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/tlsconf"
)

// Enrollment tokens. Who may do what (docs/api.md, "Enrollment tokens"):
//   - creating and revoking a token is administrators' work: a token lets
//     any machine join a customer's site, which is more than a
//     technician's day-to-day rights;
//   - listing a site's tokens (label, state, uses; never a secret) is open
//     to every role with the site's client in scope, so technicians and
//     read-only users see what enrollments are open for their customers.
//
// Every change is audited (token.create, token.revoke).

// EnrollmentTokenPrefix starts the secret of every enrollment token.
const EnrollmentTokenPrefix = "wet_"

// Settings the server stores at every start (internal/server.Run): the
// URL agents reach it at, and the hex SHA-256 fingerprint and SPKI pin of
// its certificate (both empty with a publicly trusted ACME certificate).
const (
	SettingServerURL       = "server_url"
	SettingCertFingerprint = "cert_fingerprint"
	SettingCertPin         = "cert_spki_pin"
)

// ErrNeverStarted means the server never stored its URL.
var ErrNeverStarted = errors.New("the server URL is unknown: start `wacht serve` once first, or pass --url")

// MaxTokenLabel bounds an enrollment token's label.
const MaxTokenLabel = 200

// TokenServer is what a token and the install one-liners say about the
// server: its URL, the certificate fingerprint the agent pins (empty with a
// publicly trusted certificate) and the certificate's SPKI pin for curl.
type TokenServer struct {
	URL         string `json:"url"`
	Fingerprint string `json:"fingerprint,omitempty"`
	Pin         string `json:"pin,omitempty"` // base64 SHA-256 of the SubjectPublicKeyInfo
}

// LoadTokenServer reads the server's URL, fingerprint and pin from the
// settings the server stored at start. A server that never stored its
// certificate's fingerprint falls back to the certificate at certFile
// (<data>/tls/cert.pem; "" for none); ErrNeverStarted without a URL.
func LoadTokenServer(ctx context.Context, st core.SettingStore, certFile string) (TokenServer, error) {
	u, err := st.GetSetting(ctx, SettingServerURL)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return TokenServer{}, fmt.Errorf("reading server URL: %w", err)
	}
	ts, err := loadPin(ctx, st, certFile)
	if err != nil {
		return TokenServer{}, err
	}
	if u == "" {
		// The certificate is still returned, for a URL given otherwise.
		return ts, ErrNeverStarted
	}
	ts.URL = u
	return ts, nil
}

// loadPin is LoadTokenServer's fingerprint and pin.
func loadPin(ctx context.Context, st core.SettingStore, certFile string) (TokenServer, error) {
	var ts TokenServer
	fp, err := st.GetSetting(ctx, SettingCertFingerprint)
	switch {
	case errors.Is(err, core.ErrNotFound):
		// Never started: pin the generated certificate if there is one.
		if certFile == "" {
			return ts, nil
		}
		ts.Fingerprint, ts.Pin, err = tlsconf.PinFile(certFile)
		if errors.Is(err, os.ErrNotExist) {
			return ts, nil
		}
		if err != nil {
			return TokenServer{}, fmt.Errorf("reading certificate fingerprint: %w", err)
		}
		return ts, nil
	case err != nil:
		return TokenServer{}, fmt.Errorf("reading certificate fingerprint: %w", err)
	}
	ts.Fingerprint = fp
	if fp == "" {
		return ts, nil
	}
	pin, err := st.GetSetting(ctx, SettingCertPin)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return TokenServer{}, fmt.Errorf("reading certificate pin: %w", err)
	}
	if pin == "" && certFile != "" {
		// Stored by a server from before the pin was stored.
		if f, p, err := tlsconf.PinFile(certFile); err == nil && f == fp {
			pin = p
		}
	}
	ts.Pin = pin
	return ts, nil
}

// NewEnrollmentToken asks for an enrollment token of a site by client and
// site name (the command line). Without Create, an unknown client or site
// is an error naming the existing ones, so a typo never creates a
// customer.
type NewEnrollmentToken struct {
	Client, Site string
	Create       bool
	Label        string
	ExpiresAt    *time.Time // nil: never expires
	MaxUses      int        // 0: unlimited
}

// SiteToken asks for an enrollment token of a site by its ID (the API and
// the dashboard).
type SiteToken struct {
	Label     string     `json:"label"`
	ExpiresAt *time.Time `json:"expires_at"` // nil: never expires
	MaxUses   int        `json:"max_uses"`   // 0: unlimited
}

// IssuedToken is a new enrollment token: its stored record, the token
// string (protocol.Token: URL, fingerprint and secret; the only copy of the
// secret) and the commands that install the agent with it.
type IssuedToken struct {
	core.EnrollmentToken
	Token    string          `json:"token"`
	Server   TokenServer     `json:"server"`
	Commands InstallCommands `json:"commands"`
}

// CreateEnrollmentToken creates an enrollment token for a site named by
// client and site name (administrators only), creating client and site
// only with nt.Create; audited as token.create. Only the secret's hash is
// stored; the returned secret is the only copy.
func (s *Service) CreateEnrollmentToken(ctx context.Context, u core.User, nt NewEnrollmentToken) (string, core.EnrollmentToken, error) {
	if err := need(u, authz.Admin); err != nil {
		return "", core.EnrollmentToken{}, err
	}
	var fs []policy.FieldError
	for _, f := range []struct {
		name string
		v    *string
	}{{"client", &nt.Client}, {"site", &nt.Site}} {
		if err := cleanName(f.name, f.v); err != nil {
			fs = append(fs, err.(*policy.ValidationError).Fields...)
		}
	}
	st := SiteToken{Label: nt.Label, ExpiresAt: nt.ExpiresAt, MaxUses: nt.MaxUses}
	fs = append(fs, s.checkSiteToken(&st)...)
	if err := validation(fs); err != nil {
		return "", core.EnrollmentToken{}, err
	}
	var site core.Site
	if nt.Create {
		var err error
		if _, site, err = s.store.EnsureClientSite(ctx, nt.Client, nt.Site); err != nil {
			return "", core.EnrollmentToken{}, fmt.Errorf("creating client and site: %w", err)
		}
	} else {
		var err error
		if site, err = s.existingSite(ctx, nt.Client, nt.Site); err != nil {
			return "", core.EnrollmentToken{}, err
		}
	}
	return s.createToken(ctx, u, site, st)
}

// NoSuchSiteError is an unknown client or site name given without --create.
type NoSuchSiteError struct {
	What, Name string
	Existing   []string // the existing names of that kind, closest first
}

func (e *NoSuchSiteError) Error() string {
	msg := fmt.Sprintf("there is no %s %q", e.What, e.Name)
	if len(e.Existing) == 0 {
		return msg + " (nothing exists yet); pass --create to create it"
	}
	return fmt.Sprintf("%s; existing: %s; pass --create to create it", msg, strings.Join(quoteAll(e.Existing), ", "))
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}

// existingSite finds a site by client and site name (case-insensitively,
// as EnsureClientSite matches), or an *NoSuchSiteError naming the existing
// ones, closest first.
func (s *Service) existingSite(ctx context.Context, client, site string) (core.Site, error) {
	sites, err := s.store.ListSites(ctx)
	if err != nil {
		return core.Site{}, fmt.Errorf("listing sites: %w", err)
	}
	clients, err := s.store.ListClients(ctx)
	if err != nil {
		return core.Site{}, fmt.Errorf("listing clients: %w", err)
	}
	var c *core.Client
	var cnames []string
	for i := range clients {
		cnames = append(cnames, clients[i].Name)
		if strings.EqualFold(clients[i].Name, client) {
			c = &clients[i]
		}
	}
	if c == nil {
		return core.Site{}, &NoSuchSiteError{What: "client", Name: client, Existing: closest(client, cnames)}
	}
	var snames []string
	for _, st := range sites {
		if st.ClientID != c.ID {
			continue
		}
		snames = append(snames, st.Name)
		if strings.EqualFold(st.Name, site) {
			return st, nil
		}
	}
	return core.Site{}, &NoSuchSiteError{What: "site of client " + fmt.Sprintf("%q", c.Name), Name: site, Existing: closest(site, snames)}
}

// closest orders names by edit distance to name (closest first) and keeps
// at most 10.
func closest(name string, names []string) []string {
	out := slices.Clone(names)
	key := strings.ToLower(name)
	slices.SortStableFunc(out, func(a, b string) int {
		return levenshtein(key, strings.ToLower(a)) - levenshtein(key, strings.ToLower(b))
	})
	if len(out) > 10 {
		out = out[:10]
	}
	return out
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// checkSiteToken trims the label and checks label, expiry and uses.
func (s *Service) checkSiteToken(st *SiteToken) []policy.FieldError {
	var fs []policy.FieldError
	st.Label = strings.TrimSpace(st.Label)
	if utf8.RuneCountInString(st.Label) > MaxTokenLabel || !utf8.ValidString(st.Label) ||
		strings.ContainsFunc(st.Label, unicode.IsControl) {
		fs = append(fs, fieldErr("label", fmt.Sprintf("must be at most %d characters of text without control characters", MaxTokenLabel),
			fmt.Sprintf("darf höchstens %d Zeichen Text ohne Steuerzeichen haben", MaxTokenLabel)))
	}
	if st.MaxUses < 0 {
		fs = append(fs, fieldErr("max_uses", "must not be negative", "darf nicht negativ sein"))
	}
	if st.ExpiresAt != nil && !st.ExpiresAt.After(s.now()) {
		fs = append(fs, fieldErr("expires_at", "lies in the past", "liegt in der Vergangenheit"))
	}
	return fs
}

// createToken stores a new token for site and audits it.
func (s *Service) createToken(ctx context.Context, u core.User, site core.Site, st SiteToken) (string, core.EnrollmentToken, error) {
	secret := auth.NewSecret(EnrollmentTokenPrefix)
	t := core.EnrollmentToken{SecretHash: auth.HashSecret(secret), SiteID: site.ID, ClientID: site.ClientID,
		CreatedAt: s.now(), ExpiresAt: st.ExpiresAt, MaxUses: st.MaxUses, Label: st.Label, CreatedBy: Actor(u)}
	if u.ID > 0 {
		t.CreatedBy = u.Email
	}
	if err := s.store.CreateEnrollmentToken(ctx, &t); err != nil {
		return "", core.EnrollmentToken{}, fmt.Errorf("creating token: %w", err)
	}
	expires := "never"
	if t.ExpiresAt != nil {
		expires = t.ExpiresAt.UTC().Format(time.RFC3339)
	}
	return secret, t, s.record(ctx, u, "token.create", target("token", t.ID),
		fmt.Sprintf("client=%q site=%q label=%q expires=%s max_uses=%d", t.ClientName, t.SiteName, t.Label, expires, t.MaxUses), core.AuditOK)
}

// CreateSiteEnrollmentToken creates an enrollment token for a site by ID
// (administrators; a site of a client out of scope is ErrNotFound),
// CreatedBy the user's e-mail, audited as token.create. The returned token
// string carries the server's URL and certificate fingerprint and is the
// only copy of the secret.
func (s *Service) CreateSiteEnrollmentToken(ctx context.Context, u core.User, siteID int64, st SiteToken) (IssuedToken, error) {
	if err := need(u, authz.Admin); err != nil {
		return IssuedToken{}, err
	}
	site, err := s.site(ctx, u, siteID)
	if err != nil {
		return IssuedToken{}, err
	}
	if err := validation(s.checkSiteToken(&st)); err != nil {
		return IssuedToken{}, err
	}
	ts, err := LoadTokenServer(ctx, s.store, "")
	if err != nil {
		return IssuedToken{}, err
	}
	secret, t, err := s.createToken(ctx, u, site, st)
	if err != nil {
		return IssuedToken{}, err
	}
	tok := protocol.Token{URL: ts.URL, Fingerprint: ts.Fingerprint, Secret: secret}.String()
	return IssuedToken{EnrollmentToken: t, Token: tok, Server: ts, Commands: Commands(ts, tok)}, nil
}

// ListEnrollmentTokens returns every enrollment token (administrators).
func (s *Service) ListEnrollmentTokens(ctx context.Context, u core.User) ([]core.EnrollmentToken, error) {
	if err := need(u, authz.Admin); err != nil {
		return nil, err
	}
	ts, err := s.store.ListEnrollmentTokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	return ts, nil
}

// ListSiteEnrollmentTokens returns a site's tokens, newest first, to any
// user with the site's client in scope (ErrNotFound otherwise).
func (s *Service) ListSiteEnrollmentTokens(ctx context.Context, u core.User, siteID int64) ([]core.EnrollmentToken, error) {
	if err := need(u, authz.Read); err != nil {
		return nil, err
	}
	if _, err := s.site(ctx, u, siteID); err != nil {
		return nil, err
	}
	all, err := s.store.ListEnrollmentTokens(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing tokens: %w", err)
	}
	out := []core.EnrollmentToken{}
	for _, t := range all {
		if t.SiteID == siteID {
			out = append(out, t)
		}
	}
	return out, nil
}

// RevokeEnrollmentToken revokes an enrollment token (administrators;
// core.ErrNotFound if unknown or of a client out of scope), audited as
// token.revoke.
func (s *Service) RevokeEnrollmentToken(ctx context.Context, u core.User, id int64) error {
	if err := need(u, authz.Admin); err != nil {
		return err
	}
	t, err := s.enrollmentToken(ctx, id)
	if err != nil {
		return err
	}
	if !authz.CanSeeClient(u, t.ClientID) {
		return fmt.Errorf("token %d: %w", id, core.ErrNotFound)
	}
	if err := s.store.RevokeEnrollmentToken(ctx, id, s.now()); err != nil {
		return fmt.Errorf("revoking token %d: %w", id, err)
	}
	return s.record(ctx, u, "token.revoke", target("token", id),
		fmt.Sprintf("client=%q site=%q label=%q", t.ClientName, t.SiteName, t.Label), core.AuditOK)
}

// enrollmentToken returns a token by ID (ErrNotFound).
func (s *Service) enrollmentToken(ctx context.Context, id int64) (core.EnrollmentToken, error) {
	t, err := s.store.GetEnrollmentToken(ctx, id)
	if err != nil {
		return core.EnrollmentToken{}, fmt.Errorf("token %d: %w", id, err)
	}
	return t, nil
}

// TokenState is a token's state: "active", "revoked", "expired" or
// "used up".
func TokenState(t core.EnrollmentToken, now time.Time) string {
	switch {
	case t.RevokedAt != nil:
		return "revoked"
	case t.ExpiresAt != nil && !now.Before(*t.ExpiresAt):
		return "expired"
	case t.MaxUses > 0 && t.Uses >= t.MaxUses:
		return "used up"
	default:
		return "active"
	}
}

// ActiveToken checks that the bearer holds an active enrollment token
// (Authorization "Bearer wacht1_…", "Bearer wet_…" or either bare) without
// consuming a use: core.ErrUnauthorized when missing or unknown,
// ErrTokenExpired / ErrTokenRevoked / ErrTokenUsedUp as they apply.
func (s *Service) ActiveToken(ctx context.Context, authorization string) (core.EnrollmentToken, error) {
	secret := strings.TrimSpace(authorization)
	if v, ok := strings.CutPrefix(secret, "Bearer "); ok {
		secret = strings.TrimSpace(v)
	}
	if strings.HasPrefix(secret, "wacht1_") {
		t, err := protocol.ParseToken(secret)
		if err != nil {
			return core.EnrollmentToken{}, core.ErrUnauthorized
		}
		secret = t.Secret
	}
	if secret == "" || len(secret) > 256 {
		return core.EnrollmentToken{}, core.ErrUnauthorized
	}
	h := auth.HashSecret(secret)
	all, err := s.store.ListEnrollmentTokens(ctx)
	if err != nil {
		return core.EnrollmentToken{}, fmt.Errorf("listing tokens: %w", err)
	}
	for _, t := range all {
		if subtle.ConstantTimeCompare(t.SecretHash, h) != 1 {
			continue
		}
		switch TokenState(t, s.now()) {
		case "revoked":
			return t, core.ErrTokenRevoked
		case "expired":
			return t, core.ErrTokenExpired
		case "used up":
			return t, core.ErrTokenUsedUp
		}
		return t, nil
	}
	return core.EnrollmentToken{}, core.ErrUnauthorized
}
