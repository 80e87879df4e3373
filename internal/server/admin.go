package server

import (
	"context"
	"errors"
	"fmt"
	"io"
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

// The admin commands below back the CLI. Each change goes through the
// service layer as service.CLI, audited with actor "cli".

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
	// Create creates the client and the site if they do not exist;
	// without it an unknown name is an error naming the existing ones.
	Create  bool
	Label   string
	Expires time.Duration // 0 = never
	MaxUses int           // 0 = unlimited
	// URL overrides the server URL the server stored at start.
	URL string
	// DataDir is where tls/cert.pem is looked for when the server never
	// stored its fingerprint.
	DataDir string
}

// ErrNeverStarted means the server never stored its URL.
var ErrNeverStarted = service.ErrNeverStarted

// CreateToken creates an enrollment token for the site through the
// service (the client and site too with o.Create), audited as the CLI;
// only the secret's hash is stored. The returned token string is the only
// copy of the secret.
func CreateToken(ctx context.Context, st core.Store, o TokenOptions, now time.Time) (protocol.Token, core.EnrollmentToken, error) {
	if o.Expires < 0 || o.MaxUses < 0 {
		return protocol.Token{}, core.EnrollmentToken{}, errors.New("--expires and --max-uses must not be negative")
	}
	ts, err := tokenServer(ctx, st, o)
	if err != nil {
		return protocol.Token{}, core.EnrollmentToken{}, err
	}
	nt := service.NewEnrollmentToken{Client: o.Client, Site: o.Site, Create: o.Create, Label: o.Label, MaxUses: o.MaxUses}
	if o.Expires > 0 {
		exp := now.Add(o.Expires)
		nt.ExpiresAt = &exp
	}
	secret, t, err := cliService(st, now).CreateEnrollmentToken(ctx, service.CLI, nt)
	if ve := (*policy.ValidationError)(nil); errors.As(err, &ve) {
		// Name the refused fields as the flags that gave them.
		for i, f := range ve.Fields {
			ve.Fields[i].Field = "--" + strings.ReplaceAll(f.Field, "_", "-")
		}
	}
	if err != nil {
		return protocol.Token{}, core.EnrollmentToken{}, err
	}
	return protocol.Token{URL: ts.URL, Fingerprint: ts.Fingerprint, Secret: secret}, t, nil
}

// tokenServer finds the URL and certificate fingerprint to put in a token
// (service.LoadTokenServer, which the API and dashboard use too), with
// o.URL overriding the stored URL.
func tokenServer(ctx context.Context, st core.SettingStore, o TokenOptions) (service.TokenServer, error) {
	ts, err := service.LoadTokenServer(ctx, st, filepath.Join(o.DataDir, "tls", tlsconf.CertFile))
	if errors.Is(err, service.ErrNeverStarted) && o.URL != "" {
		err = nil
	}
	if err != nil {
		return service.TokenServer{}, err
	}
	if o.URL != "" {
		if _, err := PublicURL(o.URL, "", nil); err != nil {
			return service.TokenServer{}, err
		}
		ts.URL = o.URL
	}
	return ts, nil
}

// TokenState is a token's state as the list shows it.
func TokenState(t core.EnrollmentToken, now time.Time) string { return service.TokenState(t, now) }

// ListTokens writes the enrollment tokens as a table.
func ListTokens(ctx context.Context, st core.Store, w io.Writer, now time.Time) error {
	ts, err := cliService(st, now).ListEnrollmentTokens(ctx, service.CLI)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCLIENT\tSITE\tLABEL\tCREATED\tEXPIRES\tUSES/MAX\tSTATE")
	for _, t := range ts {
		maxUses := "∞"
		if t.MaxUses > 0 {
			maxUses = fmt.Sprint(t.MaxUses)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%d/%s\t%s\n", t.ID, t.ClientName, t.SiteName, t.Label,
			t.CreatedAt.Local().Format("2006-01-02 15:04"), fmtTime(t.ExpiresAt), t.Uses, maxUses, TokenState(t, now))
	}
	return tw.Flush()
}

// RevokeToken revokes an enrollment token through the service, audited as
// the CLI (core.ErrNotFound if unknown).
func RevokeToken(ctx context.Context, st core.Store, id int64, now time.Time) error {
	return cliService(st, now).RevokeEnrollmentToken(ctx, service.CLI, id)
}

// AddUser creates a dashboard user seeing every client, through the
// service (which hashes the password with argon2id), audited as the CLI.
func AddUser(ctx context.Context, st core.Store, email, role, password string, now time.Time) (core.User, error) {
	return AddUserScoped(ctx, st, email, role, password, core.AllClients, now)
}

// CreateAPIToken creates an API token for the user and returns its secret,
// which is shown once; only its hash is stored.
func CreateAPIToken(ctx context.Context, st core.Store, email, name string, expires time.Duration, now time.Time) (string, core.APIToken, error) {
	return CreateNarrowAPIToken(ctx, st, email, name, "", "", expires, now)
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

func fmtTime(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04")
}
