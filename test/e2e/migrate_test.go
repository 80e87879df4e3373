package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/store"
)

// TestMigrateToPostgres moves a running installation from SQLite to
// PostgreSQL: `wacht migrate` refuses while the server runs; after the
// server stops it copies everything, and `wacht serve --db` at the same
// address takes over. The agent (never restarted) reconnects without
// enrolling again, the API token, users, devices and policies are there,
// history is complete and goes on, and the audit chain verifies.
func TestMigrateToPostgres(t *testing.T) {
	t.Parallel()
	db := freshDatabase(t)
	e := newEnv(t)
	pw := []string{"WACHT_PASSWORD=" + adminPassword}
	mustRun(t, pw, "wacht", "user", "add", "--data", e.data, "--email", "tech@example.com", "--role", "technician")
	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())
	policy := e.createPolicy(`{"name":"E2E quick CPU","checks":[{"name":"cpu","type":"cpu","params":{"window":"200ms"}},{"name":"memory","type":"memory","params":{"window":"0s"}}]}`)
	e.assign("/api/v1/default/policies", policy)
	start(t, "wacht-agent", "run", "--data", e.agentDir, "--interval", "2s", "--checks", fastChecks)

	var devices []apiDevice
	waitFor(t, "the device to be online", 60*time.Second, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online
	})
	dev := devices[0]
	waitFor(t, "cpu, memory and disk results", 60*time.Second, func() bool {
		cs := e.checkStates(dev.ID)
		return !latest(cs, "cpu").IsZero() && !latest(cs, "memory").IsZero() && !latest(cs, "disk").IsZero()
	})
	// Some history to move (admin commands may open the database while the
	// server runs; migrate may not).
	waitFor(t, "30 results", 60*time.Second, func() bool { return len(storedResults(t, e.data)) >= 30 })

	policyBefore := e.effectivePolicy(dev.ID)
	if _, err := run(t, nil, "wacht", "migrate", "--data", e.data, "--to", db); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("migrate while the server runs: %v, want it refused", err)
	}
	e.server.stop(t, syscall.SIGTERM)
	before := storedResults(t, e.data)

	out := mustRun(t, nil, "wacht", "migrate", "--data", e.data, "--to", db)
	t.Logf("migrate:\n%s", out)
	if !regexp.MustCompile(fmt.Sprintf(`check_results +%d\n`, len(before))).MatchString(out) {
		t.Errorf("migrate summary does not show %d results:\n%s", len(before), out)
	}
	if !strings.Contains(out, "Copied ") {
		t.Errorf("no summary line:\n%s", out)
	}
	verify := mustRun(t, nil, "wacht", "audit", "verify", "--data", e.data, "--db", db)
	if !strings.Contains(verify, "intact") {
		t.Errorf("audit verify after migrate: %s", verify)
	}

	restarted := time.Now()
	e.server, _ = startServer(t, e.data, e.addr, "--db", db)
	waitFor(t, "results after the move to PostgreSQL", 90*time.Second, func() bool {
		return latest(e.checkStates(dev.ID), "cpu").After(restarted)
	})
	devices = nil
	e.api("GET", "/api/v1/devices", &devices) // the old API token still works
	if len(devices) != 1 || devices[0].ID != dev.ID || devices[0].Hostname != dev.Hostname {
		t.Errorf("devices after the move %+v, want %+v alone (no new enrollment)", devices, dev)
	}
	var users []struct {
		Email string `json:"email"`
	}
	e.api("GET", "/api/v1/users", &users)
	if len(users) != 2 {
		t.Errorf("users after the move: %+v, want admin and tech", users)
	}
	if after := e.effectivePolicy(dev.ID); after.Revision != policyBefore.Revision || !strings.Contains(fmt.Sprint(after.Layers), "E2E quick CPU") {
		t.Errorf("effective policy after the move %+v, before %+v", after, policyBefore)
	}

	// Every result of the SQLite history is in PostgreSQL, once.
	ctx := context.Background()
	pg, err := store.Open(ctx, db, e.data)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	rs, err := pg.ListResults(ctx, dev.ID, time.Time{}, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	after := map[string]int{}
	for _, r := range rs {
		after[r.ID]++
	}
	for id := range before {
		if after[id] != 1 {
			t.Errorf("result %s: %d times in PostgreSQL, want once", id, after[id])
		}
	}
	if len(after) <= len(before) {
		t.Errorf("%d results after the move, %d before: history does not go on", len(after), len(before))
	}
	// The copied history went into the default partition; the server's
	// history maintenance moves it into day partitions.
	waitFor(t, "the copied history in day partitions", time.Minute, func() bool {
		var n int
		err := pg.SQL().QueryRowContext(ctx, `SELECT count(*) FROM check_results_default`).Scan(&n)
		return err == nil && n == 0
	})
	verify = mustRun(t, nil, "wacht", "audit", "verify", "--data", e.data, "--db", db)
	if !strings.Contains(verify, "intact") {
		t.Errorf("audit verify with the server on PostgreSQL: %s", verify)
	}
}

// effective is the part of a device's effective policy the test compares.
type effective struct {
	Revision string `json:"revision"`
	Layers   []struct {
		PolicyName string `json:"policy_name"`
	} `json:"layers"`
}

func (e *env) effectivePolicy(id int64) effective {
	e.t.Helper()
	var p effective
	if code := e.api("GET", fmt.Sprintf("/api/v1/devices/%d/effective-policy", id), &p); code != 200 {
		e.t.Fatalf("effective policy: HTTP %d", code)
	}
	return p
}
