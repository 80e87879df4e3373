package antivirus

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// needTool returns the tool's path; it skips locally when it is missing
// and fails in CI, where .ci/run installs it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (the Debian package is in .ci/run): %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// TestRealClamd builds a one-signature daily database with ClamAV's own
// sigtool, runs a real clamd on it (a Unix socket in the temp dir, no
// network) and reads the state through the real process list. freshclam is
// never started: it would contact ClamAV's mirrors.
func TestRealClamd(t *testing.T) {
	sigtool := needTool(t, "sigtool")
	clamdBin := needTool(t, "clamd")
	if _, err := os.Stat(clamdBin); err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	if err := os.MkdirAll(db, 0o755); err != nil {
		t.Fatal(err)
	}
	build := filepath.Join(dir, "build")
	if err := os.MkdirAll(build, 0o755); err != nil {
		t.Fatal(err)
	}
	// The EICAR test file's MD5 and size, as ClamAV's own tests use.
	for name, body := range map[string]string{
		"daily.hdb": "44d88612fea8a8f36de82e1278abb02f:68:Wacht-Test-Eicar\n",
		"COPYING":   "Test database for the Wacht antivirus check.\n",
	} {
		if err := os.WriteFile(filepath.Join(build, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, sigtool, "--build=daily.cud", "--unsigned", "--cvd-version=27273", "--no-cdiff", "--datadir="+db)
	cmd.Dir = build
	cmd.Stdin = strings.NewReader("wacht\n") // the builder name sigtool asks for
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sigtool: %v\n%s", err, out)
	}
	built, err := os.ReadFile(filepath.Join(build, "daily.cud"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(db, "daily.cud"), built, 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := parseCVDHeader(built)
	if err != nil || h.Version != 27273 || h.Signatures != 1 || h.Builder != "wacht" || time.Since(h.Built) > time.Hour {
		t.Fatalf("sigtool header: %+v, %v (%q)", h, err, built[:120])
	}

	sock := filepath.Join(dir, "clamd.ctl")
	conf := filepath.Join(dir, "clamd.conf")
	if err := os.WriteFile(conf, []byte("Foreground yes\nLocalSocket "+sock+"\nDatabaseDirectory "+db+
		"\nLogFile "+filepath.Join(dir, "clamd.log")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := processNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A clamd of the machine itself would hide whether ours is seen.
	otherClamd := processRunning(before, "clamd")
	daemon := exec.CommandContext(ctx, clamdBin, "-c", conf)
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- daemon.Wait() }()
	var stopOnce sync.Once
	stop := func() {
		stopOnce.Do(func() {
			_ = daemon.Process.Kill()
			<-exited
		})
	}
	defer stop()
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		select {
		case err := <-exited:
			exited <- err // for stop
			log, _ := os.ReadFile(filepath.Join(dir, "clamd.log"))
			t.Fatalf("clamd exited: %v\n%s", err, log)
		case <-ctx.Done():
			t.Fatal("clamd did not open its socket")
		case <-time.After(100 * time.Millisecond):
		}
	}

	p, found, err := clamAV(ctx, db, processNames)
	if err != nil || !found {
		t.Fatalf("clamAV: %v %v", found, err)
	}
	r := evaluate([]product{p}, 3*24*time.Hour, time.Now())
	// freshclam does not run here, so the verdict is a warning, not OK.
	if !p.Active || p.SigVersion != "daily 27273" || r.Status != core.StatusWarning ||
		!strings.Contains(r.Message.EN, "ClamAV (signatures daily 27273, signature age 0.0 days): freshclam is not running") {
		t.Errorf("running clamd: %+v\n%v %q", p, r.Status, r.Message.EN)
	}

	stop()
	if otherClamd {
		t.Skip("another clamd runs on this machine; cannot test a stopped clamd")
	}
	p, _, err = clamAV(ctx, db, processNames)
	if err != nil || p.Active || p.Inactive != "clamd is not running" {
		t.Errorf("stopped clamd: %+v, %v", p, err)
	}
}
