package server

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/tlsconf"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

func TestCreateTokenNeedsServerURL(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	o := TokenOptions{Create: true, Client: "Müller GmbH", Site: "Hannover", DataDir: t.TempDir()}
	if _, _, err := CreateToken(ctx, st, o, protocol.Now()); !errors.Is(err, ErrNeverStarted) {
		t.Fatalf("got %v, want ErrNeverStarted", err)
	}
	if tokens, _ := st.ListEnrollmentTokens(ctx); len(tokens) != 0 {
		t.Fatal("token created without a server URL")
	}

	// --url works before the first start, pinning a generated certificate.
	_, fp, err := tlsconf.Setup(tlsconf.Options{Dir: filepath.Join(o.DataDir, "tls")})
	if err != nil {
		t.Fatal(err)
	}
	o.URL = "https://rmm.example:8443"
	tok, _, err := CreateToken(ctx, st, o, protocol.Now())
	if err != nil {
		t.Fatal(err)
	}
	if tok.URL != o.URL || tok.Fingerprint != fp {
		t.Fatalf("token %+v, want URL %s and fingerprint %s", tok, o.URL, fp)
	}
	o.URL = "http://plain.example"
	if _, _, err := CreateToken(ctx, st, o, protocol.Now()); err == nil {
		t.Fatal("http:// URL accepted")
	}
}

func TestCreateTokenFromSettings(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	st.SetSetting(ctx, SettingServerURL, "https://localhost:8443")
	st.SetSetting(ctx, SettingCertFingerprint, strings.Repeat("ab", 32))
	now := protocol.Now()
	tok, rec, err := CreateToken(ctx, st, TokenOptions{Create: true, Client: " Müller GmbH ", Site: "Hannover", Expires: time.Hour, MaxUses: 2}, now)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := protocol.ParseToken(tok.String())
	if err != nil || parsed != tok {
		t.Fatalf("token does not round-trip: %+v %v", parsed, err)
	}
	if tok.URL != "https://localhost:8443" || tok.Fingerprint != strings.Repeat("ab", 32) {
		t.Fatalf("token %+v", tok)
	}
	stored, err := st.ListEnrollmentTokens(ctx)
	if err != nil || len(stored) != 1 {
		t.Fatalf("stored %d tokens, %v", len(stored), err)
	}
	s := stored[0]
	if !bytes.Equal(s.SecretHash, auth.HashSecret(tok.Secret)) || s.ClientName != "Müller GmbH" || s.MaxUses != 2 ||
		s.ExpiresAt == nil || !s.ExpiresAt.Equal(now.Add(time.Hour)) || s.ID != rec.ID {
		t.Fatalf("stored token %+v", s)
	}
	if strings.Contains(string(s.SecretHash), tok.Secret) {
		t.Fatal("secret stored in clear")
	}
	wantAudit(t, st, "token.create")

	// An ACME server stores an empty fingerprint: agents use system CAs.
	st.SetSetting(ctx, SettingCertFingerprint, "")
	tok, _, err = CreateToken(ctx, st, TokenOptions{Create: true, Client: "A", Site: "B"}, now)
	if err != nil || tok.Fingerprint != "" {
		t.Fatalf("ACME token %+v, %v", tok, err)
	}
	for _, o := range []TokenOptions{{Site: "x"}, {Client: "x"}, {Client: "x", Site: "y", MaxUses: -1}} {
		if _, _, err := CreateToken(ctx, st, o, now); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

func TestListAndRevokeTokens(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	st.SetSetting(ctx, SettingServerURL, "https://localhost:8443")
	now := protocol.Now()
	_, a, _ := CreateToken(ctx, st, TokenOptions{Create: true, Client: "Müller GmbH", Site: "Hannover", Expires: time.Hour}, now)
	if _, _, err := CreateToken(ctx, st, TokenOptions{Create: true, Client: "Schmidt KG", Site: "Berlin", MaxUses: 3}, now); err != nil {
		t.Fatal(err)
	}
	if err := RevokeToken(ctx, st, a.ID, now); err != nil {
		t.Fatal(err)
	}
	if err := RevokeToken(ctx, st, 999, now); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("revoking unknown token: %v", err)
	}
	wantAudit(t, st, "token.revoke")
	var out bytes.Buffer
	if err := ListTokens(ctx, st, &out, now); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("table:\n%s", out.String())
	}
	for _, l := range lines[1:] {
		switch {
		case strings.Contains(l, "Müller GmbH"):
			if !strings.HasSuffix(l, "revoked") {
				t.Errorf("revoked token shown as %q", l)
			}
		case strings.Contains(l, "Schmidt KG"):
			if !strings.HasSuffix(l, "active") || !strings.Contains(l, "0/3") || !strings.Contains(l, "never") {
				t.Errorf("active token shown as %q", l)
			}
		default:
			t.Errorf("unexpected line %q", l)
		}
	}
}

func TestTokenState(t *testing.T) {
	now := time.Now()
	past, future := now.Add(-time.Minute), now.Add(time.Minute)
	cases := map[string]core.EnrollmentToken{
		"active":  {ExpiresAt: &future, MaxUses: 2, Uses: 1},
		"expired": {ExpiresAt: &past},
		"used up": {MaxUses: 2, Uses: 2},
		"revoked": {RevokedAt: &past, ExpiresAt: &past},
	}
	for want, tok := range cases {
		if got := TokenState(tok, now); got != want {
			t.Errorf("TokenState(%+v) = %s, want %s", tok, got, want)
		}
	}
}

func TestUsersAndAPITokens(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	now := protocol.Now()
	u, err := AddUser(ctx, st, " Alice@Example.com ", core.RoleTechnician, "long enough", now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.GetUserByEmail(ctx, "alice@example.com")
	if err != nil || got.ID != u.ID || !auth.VerifyPassword(got.PasswordHash, "long enough") || got.Role != core.RoleTechnician {
		t.Fatalf("stored user %+v, %v", got, err)
	}
	wantAudit(t, st, "user.create")
	bad := []struct{ email, role, pw string }{
		{"alice@example.com", core.RoleAdmin, "long enough"}, // duplicate
		{"not an address", core.RoleAdmin, "long enough"},
		{"bob@example.com", "root", "long enough"},
		{"bob@example.com", core.RoleAdmin, "short"},
	}
	for _, b := range bad {
		if _, err := AddUser(ctx, st, b.email, b.role, b.pw, now); err == nil {
			t.Errorf("AddUser(%q, %q, %q) accepted", b.email, b.role, b.pw)
		}
	}

	secret, tok, err := CreateAPIToken(ctx, st, "ALICE@example.com", "", 24*time.Hour, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(secret, "wat_") {
		t.Fatalf("secret %q", secret)
	}
	stored, err := st.GetAPIToken(ctx, auth.HashSecret(secret))
	if err != nil || stored.ID != tok.ID || stored.UserID != u.ID || stored.Name != "cli" || stored.ExpiresAt == nil {
		t.Fatalf("stored API token %+v, %v", stored, err)
	}
	wantAudit(t, st, "apitoken.create")
	if _, _, err := CreateAPIToken(ctx, st, "nobody@example.com", "", 0, now); err == nil {
		t.Fatal("API token for an unknown user")
	}
}

func TestSetupOnlyOnce(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	pw, created, err := Setup(ctx, st, "admin@localhost", protocol.Now())
	if err != nil || !created {
		t.Fatalf("first setup: %v %v", created, err)
	}
	u, err := st.GetUserByEmail(ctx, "admin@localhost")
	if err != nil || u.Role != core.RoleAdmin || !auth.VerifyPassword(u.PasswordHash, pw) {
		t.Fatalf("admin %+v, %v", u, err)
	}
	if _, created, err := Setup(ctx, st, "other@localhost", protocol.Now()); err != nil || created {
		t.Fatalf("second setup: created=%v, %v", created, err)
	}
	if n, _ := st.CountUsers(ctx); n != 1 {
		t.Fatalf("%d users", n)
	}
}

func wantAudit(t *testing.T, st core.AuditStore, action string) {
	t.Helper()
	entries, err := st.ListAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Action == action && e.Actor == "cli" {
			return
		}
	}
	t.Fatalf("no audit entry %s by cli in %+v", action, entries)
}
