//go:build linux

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var certRE = regexp.MustCompile(`msg="TLS certificate" sha256=([0-9a-f]+)`)

// TestBackupRestoreUnderLoad takes `wacht backup` while two agents stream
// results, stops the server, restores the archive into a fresh data folder
// and starts the server on it at the same address. The agents, which kept
// spooling meanwhile, connect to it (the TLS key came back, so the
// certificate they pinned matches) and deliver what they spooled, each
// result stored once.
func TestBackupRestoreUnderLoad(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var traces []string
	for i := range 2 {
		dir, enroll := e.agentDir, []string{"enroll", "--data", e.agentDir, "--token", e.token()}
		if i > 0 {
			dir = t.TempDir()
			enroll = []string{"enroll", "--data", dir, "--token", e.token(), "--new-device"}
		}
		mustRun(t, nil, "wacht-agent", enroll...)
		trace := filepath.Join(t.TempDir(), "trace")
		traces = append(traces, trace)
		start(t, "wacht-agent", "run", "--data", dir, "--interval", "1s", "--trace-results", trace, "--checks", fastChecks)
	}
	// stored reports whether every agent has a result in the data folder.
	stored := func(data string) bool {
		n := storedResults(t, data)
		for _, trace := range traces {
			found := false
			for id := range readTrace(t, trace) {
				found = found || n[id] > 0
			}
			if !found {
				return false
			}
		}
		return true
	}
	waitFor(t, "results of both agents", 60*time.Second, func() bool { return stored(e.data) })

	archive := filepath.Join(t.TempDir(), "wacht-backup.tar.gz")
	before := storedResults(t, e.data)
	began := time.Now()
	out := mustRun(t, nil, "wacht", "backup", "--data", e.data, "--out", archive)
	took := time.Since(began)
	// The server went on storing: the snapshot did not stop it.
	waitFor(t, "results stored after the backup", 60*time.Second, func() bool {
		return len(storedResults(t, e.data)) > len(before)+2
	})
	fi, err := os.Stat(archive)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("archive: %v, %v; want mode 0600", fi, err)
	}
	t.Logf("backup under load: %v, %d bytes: %s", took.Round(time.Millisecond), fi.Size(), strings.TrimSpace(out))
	// The running server's folder is not restored over, even with --force.
	if _, err := run(t, nil, "wacht", "restore", "--in", archive, "--data", e.data, "--force"); err == nil ||
		!strings.Contains(err.Error(), "in use") {
		t.Fatalf("restore over the running server's folder: %v, want an 'in use' refusal", err)
	}

	cert := certRE.FindStringSubmatch(e.server.output())
	e.server.stop(t, syscall.SIGTERM)
	// What the agents produce from now on only the restored server gets.
	var down []map[string]bool
	for _, trace := range traces {
		down = append(down, readTrace(t, trace))
	}
	waitFor(t, "results spooled while the server is down", 60*time.Second, func() bool {
		for i, trace := range traces {
			if len(readTrace(t, trace)) < len(down[i])+3 {
				return false
			}
		}
		return true
	})

	fresh := filepath.Join(t.TempDir(), "restored")
	out = mustRun(t, nil, "wacht", "restore", "--in", archive, "--data", fresh)
	t.Logf("restore: %s", strings.TrimSpace(out))
	e.server, _ = startServer(t, fresh, e.addr)
	if again := certRE.FindStringSubmatch(e.server.output()); cert == nil || again == nil || again[1] != cert[1] {
		t.Fatalf("certificate before the backup %q, after the restore %q: want the same", cert, again)
	}

	var spooled []string
	for i, trace := range traces {
		for id := range readTrace(t, trace) {
			if !down[i][id] {
				spooled = append(spooled, id)
			}
		}
	}
	waitFor(t, "the spooled results to arrive at the restored server", 90*time.Second, func() bool {
		n := storedResults(t, fresh)
		for _, id := range spooled {
			if n[id] == 0 {
				return false
			}
		}
		return true
	})
	var devices []apiDevice
	waitFor(t, "both devices online", 60*time.Second, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 2 && devices[0].Online && devices[1].Online
	})

	produced := map[string]bool{}
	for _, trace := range traces {
		for id := range readTrace(t, trace) {
			produced[id] = true
		}
	}
	n := storedResults(t, fresh)
	for id := range before {
		if n[id] == 0 {
			t.Errorf("result %s, stored before the backup, is not in the restored database", id)
		}
	}
	for id, c := range n {
		if c != 1 {
			t.Errorf("result %s stored %d times", id, c)
		}
		if !produced[id] {
			t.Errorf("stored result %s was never produced by an agent", id)
		}
	}
	t.Logf("%d results stored before the backup and %d spooled while the server was down are in the restored database; %d results there, each once",
		len(before), len(spooled), len(n))
}

// TestBackupRestorePostgres follows docs/operations.md for a server on
// PostgreSQL: `wacht backup --db` for the data folder and pg_dump for the
// database, then pg_restore into an empty database, `wacht restore` into a
// fresh folder, and the server started on both takes its agent back.
func TestBackupRestorePostgres(t *testing.T) {
	t.Parallel()
	src, dst := freshDatabase(t), freshDatabase(t)
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s (Debian package postgresql-client) is missing in CI", tool)
			}
			t.Skipf("%s (Debian package postgresql-client) is missing", tool)
		}
	}
	e := newEnvIn(t, t.TempDir(), src)
	tok := strings.TrimSpace(mustRun(t, nil, "wacht", "token", "create", "--create", "--data", e.data, "--db", src,
		"--client", "Müller GmbH", "--site", "Hannover", "--url", "https://"+e.addr))
	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", tok)
	start(t, "wacht-agent", "run", "--data", e.agentDir, "--interval", "1s", "--checks", fastChecks)
	var devices []apiDevice
	online := func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online
	}
	waitFor(t, "the device online", 60*time.Second, online)

	archive := filepath.Join(t.TempDir(), "wacht-files.tar.gz")
	out := mustRun(t, nil, "wacht", "backup", "--data", e.data, "--db", src, "--out", archive)
	if !strings.Contains(out, "pg_dump") {
		t.Errorf("backup on PostgreSQL does not tell to run pg_dump:\n%s", out)
	}
	dump := filepath.Join(t.TempDir(), "wacht-db.dump")
	if b, err := exec.Command("pg_dump", "--format=custom", "--file", dump, src).CombinedOutput(); err != nil {
		t.Fatalf("pg_dump: %v\n%s", err, b)
	}
	cert := certRE.FindStringSubmatch(e.server.output())
	e.server.stop(t, syscall.SIGTERM)

	if b, err := exec.Command("pg_restore", "--no-owner", "--dbname", dst, dump).CombinedOutput(); err != nil {
		t.Fatalf("pg_restore: %v\n%s", err, b)
	}
	fresh := filepath.Join(t.TempDir(), "restored")
	out = mustRun(t, nil, "wacht", "restore", "--in", archive, "--data", fresh)
	if !strings.Contains(out, "pg_restore") {
		t.Errorf("restore of a PostgreSQL backup does not tell to run pg_restore:\n%s", out)
	}
	restarted := time.Now()
	e.server, _ = startServer(t, fresh, e.addr, "--db", dst)
	if again := certRE.FindStringSubmatch(e.server.output()); cert == nil || again == nil || again[1] != cert[1] {
		t.Fatalf("certificate before the backup %q, after the restore %q: want the same", cert, again)
	}
	waitFor(t, "the agent to reconnect to the restored server", 90*time.Second, func() bool {
		var seen []struct {
			LastSeen time.Time `json:"last_seen"`
		}
		e.api("GET", "/api/v1/devices", &seen)
		return len(seen) == 1 && seen[0].LastSeen.After(restarted)
	})
}
