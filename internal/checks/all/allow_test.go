package all

import (
	"context"
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

// TestNoProgramStartedAroundTheAllowlist walks the source of every check
// and of the platform bindings they use: a program may only be started
// through check.Command, which checks the agent's local allowlist.
func TestNoProgramStartedAroundTheAllowlist(t *testing.T) {
	banned := map[string]map[string]bool{
		"exec":    {"Command": true, "CommandContext": true},
		"os":      {"StartProcess": true},
		"syscall": {"Exec": true, "ForkExec": true, "StartProcess": true},
	}
	fset := token.NewFileSet()
	files := 0
	for _, root := range []string{"..", "../../platform"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			// Test helper packages (checktest, evtxtest) are linked by
			// tests only, never by the agent.
			if d.IsDir() && strings.HasSuffix(d.Name(), "test") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return nil
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			files++
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if pkg, ok := sel.X.(*ast.Ident); ok && banned[pkg.Name][sel.Sel.Name] {
					t.Errorf("%s: %s.%s starts a program around the allowlist; use check.Command", fset.Position(sel.Pos()), pkg.Name, sel.Sel.Name)
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if files < 50 {
		t.Fatalf("walked only %d files; is the test in the right folder?", files)
	}
}

type collect struct {
	mu  sync.Mutex
	out []check.Result
}

func (c *collect) Report(r check.Result) { c.mu.Lock(); c.out = append(c.out, r); c.mu.Unlock() }

// agentSide lists the privileged parameters that the agent enforces only
// on the server's word, with the reason.
var agentSide = map[string]string{
	"backup products[].repository":   "handed to restic or borg, which read their repository themselves",
	"backup products[].password_env": "names a variable of the agent's own environment, handed to restic",
	"smart devices":                  "device names smartctl opens; Init refuses options",
	"services restart":               "restarts services the service manager lists, never a program named in the parameters",
}

// TestAgentRefusesWhatTheAllowlistDoesNotAllow runs every check with each
// privileged parameter pointing at a script that would leave a mark and
// at a secret file: each must report an error that says the local
// configuration does not allow it (never OK), start nothing and show no
// line of the secret.
func TestAgentRefusesWhatTheAllowlistDoesNotAllow(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the stand-in program is a shell script")
	}
	dir := t.TempDir()
	check.SetStateDir(filepath.Join(dir, "state"))
	mark := filepath.Join(dir, "ran")
	script := filepath.Join(dir, "x.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntouch '"+mark+"'\necho '[]'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	secretDir := filepath.Join(dir, "secret")
	secret := filepath.Join(secretDir, "shadow")
	if err := os.MkdirAll(secretDir, 0o700); err != nil {
		t.Fatal(err)
	}
	const secretLine = "root:$6$error:failed:critical:19000:0:99999:7:::"
	if err := os.WriteFile(secret, []byte(secretLine+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	cases := []struct {
		check, param, params string
	}{
		{"backup", "products[].binary", `{"products":[{"type":"restic","repository":"/srv/repo","binary":` + q(script) + `}]}`},
		{"backup", "products[].binary", `{"products":[{"type":"borg","repository":"/srv/repo","binary":` + q(script) + `}]}`},
		{"backup", "products[].binary", `{"products":[{"type":"acronis","binary":` + q(script) + `}]}`},
		{"backup", "products[].password_file", `{"products":[{"type":"restic","repository":"/srv/repo","password_file":` + q(secret) + `}]}`},
		{"backup", "products[].password_file", `{"products":[{"type":"borg","repository":"/srv/repo","password_file":` + q(secret) + `}]}`},
		{"backup", "products[].path", `{"products":[{"type":"generic","path":` + q(secretDir) + `}]}`},
		{"eventlog", "files", `{"source":"files","files":[` + q(secret) + `]}`},
		{"logins", "files", `{"source":"files","files":[` + q(secret) + `]}`},
		{"antivirus", "clamav_database", `{"clamav_database":` + q(secretDir) + `}`},
	}
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.check+" "+tc.param] = true
		t.Run(tc.check+" "+tc.param, func(t *testing.T) {
			c, err := check.New(tc.check, json.RawMessage(tc.params))
			if err != nil {
				t.Fatalf("building: %v", err)
			}
			var rep collect
			err = c.Run(context.Background(), &rep)
			var texts []core.Text
			if err != nil {
				texts = append(texts, check.ErrorText(err))
			}
			for _, r := range rep.out {
				if r.Status == core.StatusOK {
					t.Errorf("result %q is OK: %s", r.Key, r.Message.EN)
				}
				texts = append(texts, r.Message)
			}
			refused := false
			for _, tx := range texts {
				if strings.Contains(tx.EN, secretLine) || strings.Contains(tx.DE, secretLine) {
					t.Errorf("the secret leaked: %+v", tx)
				}
				if strings.Contains(tx.EN, "local configuration does not allow") && strings.Contains(tx.DE, "lokale Konfiguration des Agenten erlaubt nicht") {
					refused = true
				}
			}
			if !refused {
				t.Errorf("no refusal naming the local configuration in EN and DE: err %v, results %+v", err, rep.out)
			}
			if _, err := os.Stat(mark); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("the script ran")
			}
		})
	}
	for _, n := range check.Names() {
		spec, _ := check.Lookup(n)
		for _, p := range spec.PrivilegedPaths() {
			k := n + " " + p
			if !covered[k] && agentSide[k] == "" {
				t.Errorf("privileged parameter %s: no case here and no reason in agentSide", k)
			}
		}
	}
}
