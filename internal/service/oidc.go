package service

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// Single sign-on with OpenID Connect: the providers administrators
// configure, and what a verified ID token lets its user do. The transport
// (web) runs the redirect flow and verifies the token; what is allowed and
// audited is decided here.

// SSOProvider is what the login page shows of a provider.
type SSOProvider struct {
	ID   int64
	Name string
}

// SSOProviders lists the providers for the login page's buttons; anyone
// may see their names.
func (s *Service) SSOProviders(ctx context.Context) ([]SSOProvider, error) {
	ps, err := s.store.ListOIDCProviders(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing sign-in providers: %w", err)
	}
	out := make([]SSOProvider, len(ps))
	for i, p := range ps {
		out[i] = SSOProvider{ID: p.ID, Name: p.Name}
	}
	return out, nil
}

// SSOProvider returns a provider with its secret, for the sign-in flow
// (which has no user yet); ErrNotFound if absent.
func (s *Service) SSOProvider(ctx context.Context, id int64) (core.OIDCProvider, error) {
	return s.store.GetOIDCProvider(ctx, id)
}

// ListOIDCProviders returns every provider (administrators only), without
// secrets.
func (s *Service) ListOIDCProviders(ctx context.Context, u core.User) ([]core.OIDCProvider, error) {
	if err := need(u, authz.Admin); err != nil {
		return nil, err
	}
	ps, err := s.store.ListOIDCProviders(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing sign-in providers: %w", err)
	}
	for i := range ps {
		ps[i].ClientSecret = secretMark(ps[i].ClientSecret)
	}
	return ps, nil
}

// secretMark stands for a stored secret in what is shown: "set" or "".
func secretMark(secret string) string {
	if secret == "" {
		return ""
	}
	return "set"
}

// SaveOIDCProvider creates (ID 0) or updates a provider (administrators
// only), audited; invalid input is a *policy.ValidationError naming the
// fields. The client secret is write-only: empty on update keeps it.
func (s *Service) SaveOIDCProvider(ctx context.Context, u core.User, p core.OIDCProvider) (core.OIDCProvider, error) {
	if err := need(u, authz.Admin); err != nil {
		return p, err
	}
	if err := validOIDCProvider(&p); err != nil {
		return p, err
	}
	action := "sso.provider-update"
	var err error
	if p.ID == 0 {
		action, p.CreatedAt = "sso.provider-create", s.now()
		err = s.store.CreateOIDCProvider(ctx, &p)
	} else {
		err = s.store.UpdateOIDCProvider(ctx, p)
	}
	if errors.Is(err, core.ErrConflict) {
		return p, fieldError("name", "another provider has this name", "ein anderer Anbieter hat diesen Namen")
	}
	if err != nil {
		return p, fmt.Errorf("saving sign-in provider: %w", err)
	}
	detail := fmt.Sprintf("%s issuer=%s client_id=%s domains=%s auto_create=%t default_role=%s roles_claim=%s enforces_mfa=%t",
		p.Name, p.Issuer, p.ClientID, strings.Join(p.Domains, ","), p.AutoCreate, p.DefaultRole, p.RolesClaim, p.EnforcesMFA)
	if p.ClientSecret != "" {
		detail += " secret changed"
	}
	p.ClientSecret = secretMark(p.ClientSecret)
	return p, s.record(ctx, u, action, target("sso-provider", p.ID), detail, core.AuditOK)
}

// DeleteOIDCProvider deletes a provider (administrators only), audited.
// Its users keep their accounts (and their password, if they have one).
func (s *Service) DeleteOIDCProvider(ctx context.Context, u core.User, id int64) error {
	if err := need(u, authz.Admin); err != nil {
		return err
	}
	p, err := s.store.GetOIDCProvider(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteOIDCProvider(ctx, id); err != nil {
		return err
	}
	return s.record(ctx, u, "sso.provider-delete", target("sso-provider", id), p.Name, core.AuditOK)
}

// validOIDCProvider checks and normalizes p: a name, an https issuer
// (http only on loopback, for tests), a client ID, a secret for a new
// provider, at least one e-mail domain, a default role below
// administrator, and a role map of known roles that needs a claim.
func validOIDCProvider(p *core.OIDCProvider) error {
	var ve policy.ValidationError
	bad := func(field, en, de string) {
		ve.Fields = append(ve.Fields, policy.FieldError{Field: field, Message: core.Text{EN: en, DE: de}})
	}
	p.Name, p.Issuer, p.ClientID = strings.TrimSpace(p.Name), strings.TrimSpace(p.Issuer), strings.TrimSpace(p.ClientID)
	p.RolesClaim = strings.TrimSpace(p.RolesClaim)
	if p.Name == "" || len(p.Name) > 60 {
		bad("name", "1 to 60 characters", "1 bis 60 Zeichen")
	}
	if iu, err := url.Parse(p.Issuer); err != nil || iu.Host == "" || iu.RawQuery != "" || iu.Fragment != "" ||
		!(iu.Scheme == "https" || iu.Scheme == "http" && loopbackHost(iu.Hostname())) {
		bad("issuer", "must be the provider's https:// issuer URL, e.g. https://login.microsoftonline.com/<tenant>/v2.0",
			"muss die https://-Issuer-URL des Anbieters sein, z. B. https://login.microsoftonline.com/<Mandant>/v2.0")
	}
	if p.ClientID == "" || len(p.ClientID) > 255 {
		bad("client_id", "the client (application) ID the provider gave", "die Client-(Anwendungs-)ID vom Anbieter")
	}
	if p.ID == 0 && p.ClientSecret == "" {
		bad("client_secret", "the client secret the provider gave", "das Client-Geheimnis vom Anbieter")
	}
	var domains []string
	for _, d := range p.Domains {
		d = strings.ToLower(strings.TrimPrefix(strings.TrimSpace(d), "@"))
		if d == "" || slices.Contains(domains, d) {
			continue
		}
		if !strings.Contains(d, ".") || strings.ContainsAny(d, "@/ :") || len(d) > 253 {
			bad("domains", fmt.Sprintf("%q is not an e-mail domain such as example.de", d),
				fmt.Sprintf("„%s“ ist keine E-Mail-Domain wie example.de", d))
			continue
		}
		domains = append(domains, d)
	}
	p.Domains = domains
	if len(domains) == 0 {
		bad("domains", "name at least one e-mail domain whose users may sign in",
			"mindestens eine E-Mail-Domain nennen, deren Benutzer sich anmelden dürfen")
	}
	if p.DefaultRole != core.RoleTechnician && p.DefaultRole != core.RoleReadOnly {
		bad("default_role", "technician or readonly (administrators are made by hand or by the role mapping)",
			"Techniker oder Nur-Lesen (Administratoren nur von Hand oder über die Rollenzuordnung)")
	}
	for v, role := range p.RoleMap {
		if strings.TrimSpace(v) == "" || !core.ValidRole(role) {
			bad("role_map", fmt.Sprintf("%q → %q: each line is a claim value and admin, technician or readonly", v, role),
				fmt.Sprintf("„%s“ → „%s“: jede Zeile ist ein Claim-Wert und admin, technician oder readonly", v, role))
		}
	}
	if len(p.RoleMap) > 0 && p.RolesClaim == "" {
		bad("roles_claim", "name the claim that holds the groups or roles, e.g. groups",
			"den Claim mit den Gruppen oder Rollen nennen, z. B. groups")
	}
	if len(ve.Fields) > 0 {
		return &ve
	}
	return nil
}

func loopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// SSOIdentity is what a verified ID token says about its user.
type SSOIdentity struct {
	Email         string
	EmailVerified bool
	// Roles are the values of the provider's roles claim.
	Roles []string
}

// SSORefusal is why a single sign-on was refused, as a catalogue key's
// last part: "unverified", "domain" or "no_account" (unknown without
// automatic creation, or disabled: the answer does not tell them apart).
type SSORefusal struct{ Reason string }

func (e *SSORefusal) Error() string { return "single sign-on refused: " + e.Reason }

// Unwrap makes a refusal core.ErrUnauthorized.
func (e *SSORefusal) Unwrap() error { return core.ErrUnauthorized }

// SSOSignIn signs in the user a verified ID token of p names: their
// e-mail must be verified and in one of p's domains; an existing user
// (matched case-insensitively) must not be disabled, an unknown one is
// created if p says so, with p's default role and no clients. The role
// mapping, if configured and matched, sets the role (the highest of the
// matched ones), except that the last active administrator stays one. A refusal is an *SSORefusal, audited as a denied
// "user.login-sso". Success is not yet a sign-in: the caller asks for TOTP
// unless p enforces MFA, then SignedIn records it.
func (s *Service) SSOSignIn(ctx context.Context, p core.OIDCProvider, id SSOIdentity) (core.User, error) {
	email := strings.ToLower(strings.TrimSpace(id.Email))
	refuse := func(reason, detail string) (core.User, error) {
		s.recordDenied(ctx, "user.login-sso", email, p.Name+": "+detail)
		return core.User{}, &SSORefusal{Reason: reason}
	}
	if !id.EmailVerified {
		return refuse("unverified", "e-mail not verified by the provider")
	}
	_, domain, _ := strings.Cut(email, "@")
	if _, err := NormalizeEmail(email); err != nil || !slices.Contains(p.Domains, domain) {
		return refuse("domain", "e-mail domain not allowed")
	}
	mapped := mappedRole(p, id.Roles)
	u, err := s.store.GetUserByEmail(ctx, email)
	switch {
	case errors.Is(err, core.ErrNotFound) && p.AutoCreate:
		return s.createSSOUser(ctx, p, email, mapped)
	case errors.Is(err, core.ErrNotFound):
		return refuse("no_account", "no such user and automatic creation is off")
	case err != nil:
		return core.User{}, fmt.Errorf("looking up user: %w", err)
	case u.Disabled:
		return refuse("no_account", "user disabled")
	}
	if mapped != "" && mapped != u.Role && u.Role == core.RoleAdmin {
		if last, err := s.lastAdmin(ctx, u.ID); err != nil {
			return core.User{}, err
		} else if last {
			// Demoting them would leave nobody to administer Wacht.
			if err := s.record(ctx, u, "user.role-sso", target("user", u.ID), "kept admin, the last active administrator; "+
				p.RolesClaim+" of "+p.Name+" maps to "+mapped, core.AuditDenied); err != nil {
				s.log.Error("writing audit entry", "action", "user.role-sso", "err", err)
			}
			mapped = u.Role
		}
	}
	if mapped != "" && mapped != u.Role {
		sc := u.Scope
		if u.Role == core.RoleAdmin {
			sc = core.Scope{Restricted: true} // no clients until an administrator grants them
		}
		if err := s.store.SetUserRole(ctx, u.ID, mapped, sc); err != nil {
			return core.User{}, fmt.Errorf("applying the role mapping: %w", err)
		}
		s.recordSelf(ctx, u, "user.role-sso", mapped+" from "+p.RolesClaim+" of "+p.Name)
		if u, err = s.store.GetUser(ctx, u.ID); err != nil {
			return core.User{}, err
		}
	}
	return u, nil
}

// lastAdmin reports whether user id is the only active administrator.
func (s *Service) lastAdmin(ctx context.Context, id int64) (bool, error) {
	us, err := s.store.ListUsers(ctx)
	if err != nil {
		return false, fmt.Errorf("listing users: %w", err)
	}
	for _, o := range us {
		if o.ID != id && o.Role == core.RoleAdmin && !o.Disabled {
			return false, nil
		}
	}
	return true, nil
}

// mappedRole is the highest role p's role map gives to any of roles; ""
// if none matches.
func mappedRole(p core.OIDCProvider, roles []string) string {
	best := ""
	for _, r := range roles {
		if m, ok := p.RoleMap[r]; ok && core.RoleRank(m) > core.RoleRank(best) {
			best = m
		}
	}
	return best
}

// createSSOUser creates the user of a first single sign-on with role (p's
// default if "") and no clients; their password is random and unknown, so
// they sign in only through a provider until an administrator sets one.
func (s *Service) createSSOUser(ctx context.Context, p core.OIDCProvider, email, role string) (core.User, error) {
	if role == "" {
		role = p.DefaultRole
	}
	h, err := s.hashPassword(auth.RandomPassword())
	if err != nil {
		return core.User{}, err
	}
	u := core.User{Email: email, PasswordHash: h, Role: role, Scope: core.Scope{Restricted: true}, CreatedAt: s.now()}
	if err := s.store.CreateUser(ctx, &u); err != nil {
		return core.User{}, fmt.Errorf("creating user %s: %w", email, err)
	}
	s.recordSelf(ctx, u, "user.create-sso", email+" "+role+" clients=none via "+p.Name)
	return u, nil
}

// SSOCallbackURL is the redirect URI of provider id, which its
// administrator registers at the provider: <server URL>/auth/oidc/<id>/callback.
func (s *Service) SSOCallbackURL(ctx context.Context, id int64) (string, error) {
	base, err := s.serverURL(ctx)
	return fmt.Sprintf("%s/auth/oidc/%d/callback", base, id), err
}

// SSOLogoutReturnURL is where a provider sends the browser back after
// signing out: the login page.
func (s *Service) SSOLogoutReturnURL(ctx context.Context) (string, error) {
	base, err := s.serverURL(ctx)
	return base + "/login", err
}

func (s *Service) serverURL(ctx context.Context) (string, error) {
	u, err := s.store.GetSetting(ctx, SettingServerURL)
	if err != nil {
		return "", fmt.Errorf("reading the server URL: %w", err)
	}
	return strings.TrimSuffix(u, "/"), nil
}

// SSOFailed audits a single sign-on that failed before its user was known
// (the provider refused, the answer did not verify, the flow expired).
func (s *Service) SSOFailed(ctx context.Context, p core.OIDCProvider, detail string) {
	s.recordDenied(ctx, "user.login-sso", "", p.Name+": "+detail)
}
