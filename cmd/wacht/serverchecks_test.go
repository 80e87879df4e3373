package main

import (
	"context"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/store"
)

func TestServerChecksCommand(t *testing.T) {
	data := t.TempDir()
	st, err := store.Open(context.Background(), "", data)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, _, err := runCLI(t, "server-checks", "--data", data)
	if err != nil || out != "allowed ranges: none (public addresses only)\n" {
		t.Fatalf("server-checks: %q, %v", out, err)
	}
	out, _, err = runCLI(t, "server-checks", "--data", data, "--allow", "10.0.0.0/8, 192.0.2.10")
	if err != nil || out != "allowed ranges: 10.0.0.0/8,192.0.2.10/32\n" {
		t.Fatalf("server-checks --allow: %q, %v", out, err)
	}
	if _, _, err := runCLI(t, "server-checks", "--data", data, "--allow", "intranet"); err == nil ||
		!strings.Contains(err.Error(), `"intranet" is not an address range`) {
		t.Errorf("a bad range: %v, want it named", err)
	}
	out, _, err = runCLI(t, "server-checks", "--data", data)
	if err != nil || out != "allowed ranges: 10.0.0.0/8,192.0.2.10/32\n" {
		t.Fatalf("after a refused change: %q, %v", out, err)
	}
	if out, _, err = runCLI(t, "server-checks", "--data", data, "--allow", ""); err != nil || !strings.Contains(out, "none") {
		t.Fatalf("clearing: %q, %v", out, err)
	}
	st, err = store.Open(context.Background(), "", data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	es, err := st.ListAudit(context.Background(), 10)
	if err != nil || len(es) != 2 || es[1].Action != "settings.server-checks" || es[1].Detail != "allow=10.0.0.0/8,192.0.2.10/32" {
		t.Errorf("audit = %+v, %v; want two settings.server-checks entries", es, err)
	}
}
