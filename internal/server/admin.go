package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/tlsconf"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
)

// The admin commands below back the CLI. Each change is audited with actor
// "cli".
const cliActor = "cli"

// OpenStore opens the server's store for an admin command (SQLite in
// dataDir unless dbURL is given); it works while the server runs.
func OpenStore(ctx context.Context, dataDir, dbURL string) (*store.DB, error) {
	if dataDir == "" {
		dataDir = DefaultDataDir
	}
	if dbURL == "" {
		if _, err := os.Stat(dataDir); err != nil {
			return nil, fmt.Errorf("data folder %s: %w (start `wacht serve --data %s` once first)", dataDir, err, dataDir)
		}
	}
	st, err := store.Open(ctx, dbURL, dataDir)
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	return st, nil
}

// TokenOptions describe a new enrollment token.
type TokenOptions struct {
	Client, Site string
	Expires      time.Duration // 0 = never
	MaxUses      int           // 0 = unlimited
	// URL overrides the server URL the server stored at start.
	URL string
	// DataDir is where tls/cert.pem is looked for when the server never
	// stored its fingerprint.
	DataDir string
}

// ErrNeverStarted means the server never stored its URL.
var ErrNeverStarted = errors.New("the server URL is unknown: start `wacht serve` once first, or pass --url")

// CreateToken creates client and site on first use and an enrollment token
// for the site; only the secret's hash is stored. The returned token string
// is the only copy of the secret.
func CreateToken(ctx context.Context, st core.Store, o TokenOptions, now time.Time) (protocol.Token, core.EnrollmentToken, error) {
	var fe *policy.FieldError
	if o.Client, fe = policy.CleanName("--client", o.Client, policy.MaxLabelLen); fe != nil {
		return protocol.Token{}, core.EnrollmentToken{}, fe
	}
	if o.Site, fe = policy.CleanName("--site", o.Site, policy.MaxLabelLen); fe != nil {
		return protocol.Token{}, core.EnrollmentToken{}, fe
	}
	if o.Expires < 0 || o.MaxUses < 0 {
		return protocol.Token{}, core.EnrollmentToken{}, errors.New("--expires and --max-uses must not be negative")
	}
	serverURL, fingerprint, err := tokenServer(ctx, st, o)
	if err != nil {
		return protocol.Token{}, core.EnrollmentToken{}, err
	}
	_, site, err := st.EnsureClientSite(ctx, o.Client, o.Site)
	if err != nil {
		return protocol.Token{}, core.EnrollmentToken{}, fmt.Errorf("creating client and site: %w", err)
	}
	secret := auth.NewSecret("wet_")
	t := core.EnrollmentToken{SecretHash: auth.HashSecret(secret), SiteID: site.ID, CreatedAt: now, MaxUses: o.MaxUses}
	if o.Expires > 0 {
		exp := now.Add(o.Expires)
		t.ExpiresAt = &exp
	}
	if err := st.CreateEnrollmentToken(ctx, &t); err != nil {
		return protocol.Token{}, core.EnrollmentToken{}, fmt.Errorf("creating token: %w", err)
	}
	if err := audit(ctx, st, now, "token.create", fmt.Sprintf("token:%d", t.ID),
		fmt.Sprintf("client=%q site=%q expires=%s max_uses=%d", t.ClientName, t.SiteName, fmtTime(t.ExpiresAt), t.MaxUses)); err != nil {
		return protocol.Token{}, core.EnrollmentToken{}, err
	}
	return protocol.Token{URL: serverURL, Fingerprint: fingerprint, Secret: secret}, t, nil
}

// tokenServer finds the URL and certificate fingerprint to put in a token.
func tokenServer(ctx context.Context, st core.SettingStore, o TokenOptions) (string, string, error) {
	serverURL := o.URL
	if serverURL == "" {
		u, err := st.GetSetting(ctx, SettingServerURL)
		if errors.Is(err, core.ErrNotFound) {
			return "", "", ErrNeverStarted
		}
		if err != nil {
			return "", "", fmt.Errorf("reading server URL: %w", err)
		}
		serverURL = u
	} else if _, err := PublicURL(serverURL, "", nil); err != nil {
		return "", "", err
	}
	fp, err := st.GetSetting(ctx, SettingCertFingerprint)
	if errors.Is(err, core.ErrNotFound) {
		// Never started: pin the generated certificate if there is one.
		fp, err = tlsconf.FingerprintFile(filepath.Join(o.DataDir, "tls", tlsconf.CertFile))
		if errors.Is(err, os.ErrNotExist) {
			return serverURL, "", nil
		}
	}
	if err != nil {
		return "", "", fmt.Errorf("reading certificate fingerprint: %w", err)
	}
	return serverURL, fp, nil
}

// TokenState is a token's state as the list shows it.
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

// ListTokens writes the enrollment tokens as a table.
func ListTokens(ctx context.Context, st core.TokenStore, w io.Writer, now time.Time) error {
	ts, err := st.ListEnrollmentTokens(ctx)
	if err != nil {
		return fmt.Errorf("listing tokens: %w", err)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCLIENT\tSITE\tCREATED\tEXPIRES\tUSES/MAX\tSTATE")
	for _, t := range ts {
		maxUses := "∞"
		if t.MaxUses > 0 {
			maxUses = fmt.Sprint(t.MaxUses)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d/%s\t%s\n", t.ID, t.ClientName, t.SiteName,
			t.CreatedAt.Local().Format("2006-01-02 15:04"), fmtTime(t.ExpiresAt), t.Uses, maxUses, TokenState(t, now))
	}
	return tw.Flush()
}

// RevokeToken revokes an enrollment token (core.ErrNotFound if unknown).
func RevokeToken(ctx context.Context, st core.Store, id int64, now time.Time) error {
	if err := st.RevokeEnrollmentToken(ctx, id, now); err != nil {
		return fmt.Errorf("revoking token %d: %w", id, err)
	}
	return audit(ctx, st, now, "token.revoke", fmt.Sprintf("token:%d", id), "")
}

// ValidRole reports whether role is a dashboard user role.
func ValidRole(role string) bool {
	return role == core.RoleAdmin || role == core.RoleTechnician || role == core.RoleReadOnly
}

// AddUser creates a dashboard user with an argon2id password hash, seeing
// every client.
func AddUser(ctx context.Context, st core.Store, email, role, password string, now time.Time) (core.User, error) {
	return AddUserScoped(ctx, st, email, role, password, core.AllClients, now)
}

func normalizeEmail(email string) (string, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 {
		return "", fmt.Errorf("%q is not an e-mail address", email)
	}
	return email, nil
}

// CreateAPIToken creates an API token for the user and returns its secret,
// which is shown once; only its hash is stored.
func CreateAPIToken(ctx context.Context, st core.Store, email, name string, expires time.Duration, now time.Time) (string, core.APIToken, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := st.GetUserByEmail(ctx, email)
	if errors.Is(err, core.ErrNotFound) {
		return "", core.APIToken{}, fmt.Errorf("no user %s (add one with `wacht user add`)", email)
	}
	if err != nil {
		return "", core.APIToken{}, fmt.Errorf("finding user: %w", err)
	}
	if err := canHaveToken(ctx, st, u); err != nil {
		return "", core.APIToken{}, err
	}
	if expires < 0 {
		return "", core.APIToken{}, errors.New("--expires must not be negative")
	}
	if name == "" {
		name = "cli"
	}
	secret := auth.NewSecret("wat_")
	t := core.APIToken{UserID: u.ID, Name: name, Hash: auth.HashSecret(secret), CreatedAt: now}
	if expires > 0 {
		exp := now.Add(expires)
		t.ExpiresAt = &exp
	}
	if err := st.CreateAPIToken(ctx, &t); err != nil {
		return "", core.APIToken{}, fmt.Errorf("creating API token: %w", err)
	}
	if err := audit(ctx, st, now, "apitoken.create", fmt.Sprintf("apitoken:%d", t.ID),
		fmt.Sprintf("user=%s name=%q expires=%s", email, name, fmtTime(t.ExpiresAt))); err != nil {
		return "", core.APIToken{}, err
	}
	return secret, t, nil
}

// canHaveToken refuses a token for a disabled user, and for a user without
// a second factor while two-factor sign-in is mandatory: the API would
// refuse the token anyway.
func canHaveToken(ctx context.Context, st core.SettingStore, u core.User) error {
	if u.Disabled {
		return fmt.Errorf("%s is disabled (wacht user enable)", u.Email)
	}
	if err := service.CheckTOTP(ctx, st, u); errors.Is(err, service.ErrTOTPRequired) {
		return fmt.Errorf("%s has not set up two-factor sign-in, which is mandatory: the API would refuse the token", u.Email)
	} else if err != nil {
		return err
	}
	return nil
}

// Setup creates the first admin with a random password if there is no user
// yet. It returns the password and true when it created one.
func Setup(ctx context.Context, st core.Store, email string, now time.Time) (string, bool, error) {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return "", false, fmt.Errorf("counting users: %w", err)
	}
	if n > 0 {
		return "", false, nil
	}
	pw := auth.RandomPassword()
	if _, err := AddUser(ctx, st, email, core.RoleAdmin, pw, now); err != nil {
		return "", false, err
	}
	return pw, true, nil
}

// audit records a CLI change. An unaudited change is reported as failed.
func audit(ctx context.Context, st core.AuditStore, now time.Time, action, target, detail string) error {
	if err := st.Audit(ctx, core.AuditEntry{At: now, Actor: cliActor, Action: action, Target: target, Detail: detail}); err != nil {
		return fmt.Errorf("%s %s done, but writing the audit log failed: %w", action, target, err)
	}
	return nil
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04")
}
