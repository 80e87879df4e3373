package updates

import (
	"os"
	"strings"
	"testing"
)

// TestExecRun runs real programs: the exit status and both streams come
// back, a missing program is an error, and with a user the program runs
// under that account (as Homebrew does on macOS).
func TestExecRun(t *testing.T) {
	out, err := pmExec(t.Context(), pmCmd{argv: []string{"/bin/sh", "-c", "echo out; echo err >&2; exit 100"}, env: []string{"X=y"}})
	if err != nil || out.exit != 100 || out.stdout != "out\n" || out.stderr != "err\n" {
		t.Fatalf("%+v, %v", out, err)
	}
	if out, err := pmExec(t.Context(), pmCmd{argv: []string{"/bin/sh", "-c", "echo $LC_ALL$X"}, env: []string{"X=y"}}); err != nil || out.stdout != "Cy\n" {
		t.Fatalf("environment: %+v, %v", out, err)
	}
	if _, err := pmExec(t.Context(), pmCmd{argv: []string{"/nonexistent/apt-get"}}); err == nil {
		t.Fatal("a missing program ran")
	}
	if os.Geteuid() != 0 {
		t.Skip("running as another user needs root")
	}
	out, err = pmExec(t.Context(), pmCmd{argv: []string{"/usr/bin/id", "-un"}, user: "nobody"})
	if err != nil || strings.TrimSpace(out.stdout) != "nobody" {
		t.Fatalf("as nobody: %+v, %v", out, err)
	}
	if _, err := pmExec(t.Context(), pmCmd{argv: []string{"/usr/bin/id"}, user: "root"}); err == nil {
		t.Fatal("ran as root on request")
	}
}
