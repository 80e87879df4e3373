package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/server"
	"github.com/wacht-rmm/wacht/internal/server/tlsconf"
	"github.com/wacht-rmm/wacht/internal/store"
)

// TestUserClientsAndAuditVerify adds a technician limited to one client
// and checks that "audit verify" passes, then fails (exit status 1) after
// an audit row is edited in the database.
func TestUserClientsAndAuditVerify(t *testing.T) {
	data := t.TempDir()
	if _, _, err := tlsconf.Setup(tlsconf.Options{Dir: filepath.Join(data, "tls")}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"Müller GmbH", "Schulz KG"} {
		if _, _, err := runCLI(t, "token", "create", "--create", "--data", data, "--client", c, "--site", "Zentrale", "--url", "https://127.0.0.1:8443"); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("WACHT_PASSWORD", "ein langes Passwort")
	if _, _, err := runCLI(t, "user", "add", "--data", data, "--email", "tech@example.com", "--clients", "müller gmbh"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(t, "user", "add", "--data", data, "--email", "x@example.com", "--clients", "Nobody AG"); err == nil ||
		!strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown client accepted: %v", err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, "", data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.GetUserByEmail(ctx, "tech@example.com")
	if err != nil || !u.Scope.Restricted || len(u.Scope.Clients) != 1 {
		t.Fatalf("technician scope: %+v %v", u.Scope, err)
	}
	c, _ := st.GetClient(ctx, u.Scope.Clients[0])
	if c.Name != "Müller GmbH" {
		t.Errorf("scoped to %q", c.Name)
	}

	// Tokens: at most the user's rights.
	if _, _, err := runCLI(t, "apitoken", "create", "--data", data, "--user", "tech@example.com", "--role", "admin"); err == nil {
		t.Error("token above the user's role accepted")
	}
	if _, _, err := runCLI(t, "apitoken", "create", "--data", data, "--user", "tech@example.com", "--clients", "Schulz KG"); err == nil {
		t.Error("token for a client outside the user's scope accepted")
	}
	if _, _, err := runCLI(t, "apitoken", "create", "--data", data, "--user", "tech@example.com", "--role", "readonly", "--clients", "Müller GmbH"); err != nil {
		t.Fatal(err)
	}
	ts, _ := st.ListAPITokens(ctx, u.ID)
	if len(ts) != 1 || ts[0].Role != "readonly" || !ts[0].Scope.Restricted || ts[0].Scope.Clients[0] != c.ID {
		t.Errorf("narrow token: %+v", ts)
	}

	out, _, err := runCLI(t, "audit", "verify", "--data", data)
	if err != nil || !strings.Contains(out, "intact: 4 chained entries") {
		t.Fatalf("audit verify: %q, %v", out, err)
	}
	// Someone with database access rewrites history.
	if _, err := st.SQL().ExecContext(ctx, `UPDATE audit_log SET detail = 'role=admin' WHERE action = 'user.create'`); err != nil {
		t.Fatal(err)
	}
	out, _, err = runCLI(t, "audit", "verify", "--data", data)
	if !errors.Is(err, server.ErrAuditBroken) || !strings.Contains(out, "BROKEN at entry 3") {
		t.Fatalf("audit verify after edit: %q, %v", out, err)
	}
}
