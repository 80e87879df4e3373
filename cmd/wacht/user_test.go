package main

import (
	"context"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server"
)

// TestUserDisableEnableDelete drives `wacht user disable|enable|delete`:
// each changes the user and writes an audit entry; the last active
// administrator stays; delete needs --yes.
func TestUserDisableEnableDelete(t *testing.T) {
	data := t.TempDir()
	t.Setenv("WACHT_PASSWORD", "correct horse battery")
	for _, u := range [][2]string{{"admin@example.com", "admin"}, {"tech@example.com", "technician"}} {
		if _, _, err := runCLI(t, "user", "add", "--data", data, "--email", u[0], "--role", u[1]); err != nil {
			t.Fatal(err)
		}
	}
	state := func(email string) (core.User, error) {
		st, err := server.OpenStore(context.Background(), data, "")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		return st.GetUserByEmail(context.Background(), email)
	}
	if out, _, err := runCLI(t, "user", "disable", "--data", data, "--email", "Tech@Example.com"); err != nil || !strings.Contains(out, "disabled") {
		t.Fatalf("user disable: %q %v", out, err)
	}
	if u, err := state("tech@example.com"); err != nil || !u.Disabled {
		t.Errorf("after disable: %+v %v", u, err)
	}
	if _, _, err := runCLI(t, "apitoken", "create", "--data", data, "--user", "tech@example.com"); err == nil || !strings.Contains(err.Error(), "disabled") {
		t.Errorf("API token for a disabled user: %v", err)
	}
	if _, _, err := runCLI(t, "user", "enable", "--data", data, "--email", "tech@example.com"); err != nil {
		t.Fatal(err)
	}
	if u, err := state("tech@example.com"); err != nil || u.Disabled {
		t.Errorf("after enable: %+v %v", u, err)
	}
	for _, args := range [][]string{
		{"user", "disable", "--data", data, "--email", "admin@example.com"},
		{"user", "delete", "--data", data, "--email", "admin@example.com", "--yes"},
	} {
		if _, _, err := runCLI(t, args...); err == nil || !strings.Contains(err.Error(), "last active administrator") {
			t.Errorf("%v: %v", args[:2], err)
		}
	}
	if _, _, err := runCLI(t, "user", "delete", "--data", data, "--email", "tech@example.com"); err == nil || !strings.Contains(err.Error(), "--yes") {
		t.Errorf("delete without --yes: %v", err)
	}
	if _, _, err := runCLI(t, "user", "delete", "--data", data, "--email", "tech@example.com", "--yes"); err != nil {
		t.Fatal(err)
	}
	if _, err := state("tech@example.com"); err == nil {
		t.Error("deleted user still found")
	}
	if _, _, err := runCLI(t, "user", "disable", "--data", data, "--email", "nobody@example.com"); err == nil {
		t.Error("unknown user disabled")
	}
	out, _, err := runCLI(t, "audit", "verify", "--data", data)
	if err != nil || !strings.Contains(out, "intact") {
		t.Errorf("audit verify after deleting a user: %q %v", out, err)
	}
}
