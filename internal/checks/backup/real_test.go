package backup

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check/checktest"
	"github.com/wacht-rmm/wacht/internal/core"
)

// needTool returns the tool's path; it skips locally when it is missing
// and fails in CI, where .ci/run installs it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	if testing.Short() {
		t.Skipf("creates and checks a real %s repository; runs without -short", name)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (the Debian package is in .ci/run): %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

func mustRun(t *testing.T, env []string, bin string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", bin, args, err, out)
	}
}

// realRepo prepares a data folder and password files in a temp dir and
// keeps the tools' caches there too.
func realRepo(t *testing.T) (dir, data, pw, badPW string) {
	dir = t.TempDir()
	checktest.Allow(nil, []string{dir})
	t.Setenv("HOME", dir)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	t.Setenv("BORG_BASE_DIR", dir)
	data = filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "Rechnung-2024-05.pdf"), []byte("%PDF-1.7 test"), 0o644); err != nil {
		t.Fatal(err)
	}
	pw, badPW = filepath.Join(dir, "pw"), filepath.Join(dir, "bad-pw")
	if err := os.WriteFile(pw, []byte("Sicher!Geheim\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(badPW, []byte("falsch\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, data, pw, badPW
}

// runAt runs the check with the given readers (the real ones if nil) and a
// controlled clock.
func runAt(t *testing.T, params string, now time.Time, readers map[string]reader) collect {
	t.Helper()
	if readers == nil {
		readers = portableReaders()
	}
	e := env{now: func() time.Time { return now }, readers: readers}
	c, err := newCheck(json.RawMessage(params), e)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Init(); err != nil {
		t.Fatal(err)
	}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	// The product's result, then its daily verdict when it keeps a history.
	if len(got) == 0 || len(got) > 2 || len(got) == 2 && got[1].Key != DailyPrefix+got[0].Key {
		t.Fatalf("results: %+v", got)
	}
	return got
}

// scheduleCases checks one real repository's state against clocks: now
// (fresh), two days later (too old), two days later with only today's
// weekday expected (fine), fifteen days later with that rule (too old: two
// expected days missed).
func scheduleCases(t *testing.T, product string) {
	t.Helper()
	// The repository is read once for real; the later clocks judge the
	// same jobs (each borg start costs a second).
	cached := map[string]reader{}
	for k, rd := range portableReaders() {
		var jobs []job
		read := false
		cached[k] = func(ctx context.Context, p ProductConfig, now time.Time) ([]job, error) {
			if read {
				return jobs, nil
			}
			var err error
			jobs, err = rd(ctx, p, now)
			read = err == nil
			return jobs, err
		}
	}
	now := time.Now()
	today := strings.ToLower(now.Weekday().String()[:3])
	withDays := strings.Replace(product, `"type"`, `"expected_days":["`+today+`"],"type"`, 1)
	for _, tc := range []struct {
		name   string
		params string
		at     time.Time
		want   core.Status
		match  string
	}{
		{"fresh", `{"products":[` + product + `]}`, now, core.StatusOK, "last successful backup"},
		{"stale", `{"products":[` + product + `]}`, now.Add(48 * time.Hour), core.StatusFailure, "older than the allowed 26 h"},
		{"not expected since", `{"products":[` + withDays + `]}`, now.Add(48 * time.Hour), core.StatusOK, "last successful backup"},
		{"expected day missed", `{"products":[` + withDays + `]}`, now.Add(15 * 24 * time.Hour), core.StatusFailure, "older than the allowed"},
	} {
		got := runAt(t, tc.params, tc.at, cached)[0]
		if got.Status != tc.want || !strings.Contains(got.Message.EN, tc.match) {
			t.Errorf("%s: %v %q, want %v ~%q", tc.name, got.Status, got.Message.EN, tc.want, tc.match)
		}
	}
}

func TestRealRestic(t *testing.T) {
	restic := needTool(t, "restic")
	dir, data, pw, badPW := realRepo(t)
	repo := filepath.Join(dir, "repo")
	env := []string{"RESTIC_REPOSITORY=" + repo, "RESTIC_PASSWORD_FILE=" + pw}
	mustRun(t, env, restic, "init")
	mustRun(t, env, restic, "backup", "--host", "fs01", data)

	product := `{"type":"restic","name":"nas","repository":"` + repo + `","password_file":"` + pw + `"}`
	scheduleCases(t, product)

	got := runAt(t, `{"products":[{"type":"restic","repository":"`+repo+`","password_file":"`+badPW+`"}]}`, time.Now(), nil)[0]
	if got.Status != core.StatusError || !strings.Contains(got.Message.EN, "wrong password") {
		t.Errorf("wrong password: %v %q", got.Status, got.Message.EN)
	}
	if strings.Contains(got.Message.EN, "falsch") || strings.Contains(got.Message.EN, "Sicher!Geheim") {
		t.Errorf("secret in result: %q", got.Message.EN)
	}
	// The password from a variable of the agent's environment.
	t.Setenv("WACHT_TEST_RESTIC_PW", "Sicher!Geheim")
	got = runAt(t, `{"products":[{"type":"restic","repository":"`+repo+`","password_env":"WACHT_TEST_RESTIC_PW"}]}`, time.Now(), nil)[0]
	if got.Status != core.StatusOK {
		t.Errorf("password_env: %v %q", got.Status, got.Message.EN)
	}
	got = runAt(t, `{"products":[{"type":"restic","repository":"`+repo+`","password_env":"WACHT_TEST_NO_SUCH_VAR"}]}`, time.Now(), nil)[0]
	if got.Status != core.StatusError || !strings.Contains(got.Message.EN, "WACHT_TEST_NO_SUCH_VAR (password_env) is not set") {
		t.Errorf("missing password_env: %v %q", got.Status, got.Message.EN)
	}
	got = runAt(t, `{"products":[{"type":"restic","repository":"`+dir+`/none","password_file":"`+pw+`"}]}`, time.Now(), nil)[0]
	if got.Status != core.StatusError {
		t.Errorf("missing repository: %v %q", got.Status, got.Message.EN)
	}
}

func TestRealBorg(t *testing.T) {
	borg := needTool(t, "borg")
	dir, data, pw, badPW := realRepo(t)
	repo := filepath.Join(dir, "repo")
	env := []string{"BORG_REPO=" + repo, "BORG_PASSPHRASE=Sicher!Geheim", "BORG_DISPLAY_PASSPHRASE=no"}
	mustRun(t, env, borg, "init", "--encryption", "repokey")
	mustRun(t, env, borg, "create", "::fs01-{now}", data)

	product := `{"type":"borg","repository":"` + repo + `","password_file":"` + pw + `"}`
	scheduleCases(t, product)

	got := runAt(t, `{"products":[{"type":"borg","repository":"`+repo+`","password_file":"`+badPW+`"}]}`, time.Now(), nil)[0]
	if got.Status != core.StatusError || !strings.Contains(got.Message.EN, "incorrect") {
		t.Errorf("wrong passphrase: %v %q", got.Status, got.Message.EN)
	}
	if strings.Contains(got.Message.EN, "falsch") || strings.Contains(got.Message.EN, "Sicher!Geheim") {
		t.Errorf("secret in result: %q", got.Message.EN)
	}
}
