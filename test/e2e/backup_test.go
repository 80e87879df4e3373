package e2e

import (
	"os"
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
