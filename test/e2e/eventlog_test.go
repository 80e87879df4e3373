package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/store"
)

// appendErrors writes n syslog lines that the eventlog check counts.
func appendErrors(t *testing.T, path string, from, n int) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := from; i < from+n; i++ {
		fmt.Fprintf(f, "%s srv-fs01 backup[%d]: error: job %d failed to write to the NAS\n",
			time.Now().Format("2006-01-02T15:04:05.000000-07:00"), 1000+i, i)
	}
}

// countedEvents sums the event counts of every stored eventlog result.
func countedEvents(t *testing.T, data string) (sum float64, runs int) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "", data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	devs, err := db.ListDevices(ctx)
	if err != nil || len(devs) != 1 {
		t.Fatalf("devices: %v %v", devs, err)
	}
	rs, err := db.ListResults(ctx, devs[0].ID, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Check == "eventlog" && r.Value != nil {
			sum += *r.Value
			runs++
		}
	}
	return sum, runs
}

// allowPaths adds paths to the local allowlist in the agent's agent.json,
// as the device's administrator would: a policy may name files beyond the
// built-in defaults only if the device allows them.
func allowPaths(t *testing.T, agentDir string, paths ...string) {
	t.Helper()
	file := filepath.Join(agentDir, "agent.json")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	cfg["allow"] = map[string]any{"paths": paths}
	if b, err = json.Marshal(cfg); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestEventBookmarkAcrossAgentRestart restarts the real agent between two
// batches of log events: every event is counted once, none skipped.
func TestEventBookmarkAcrossAgentRestart(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())
	logFile := filepath.Join(t.TempDir(), "syslog")
	allowPaths(t, e.agentDir, logFile)
	appendErrors(t, logFile, 0, 3)
	checks := fmt.Sprintf(`{"eventlog":{"source":"files","files":[%q],"fail":1000}}`, logFile)
	args := []string{"run", "--data", e.agentDir, "--interval", "1s", "--checks", checks}

	agent := start(t, "wacht-agent", args...)
	waitFor(t, "the first 3 events", 60*time.Second, func() bool { s, _ := countedEvents(t, e.data); return s == 3 })
	agent.stop(t, syscall.SIGTERM)

	appendErrors(t, logFile, 3, 4)
	start(t, "wacht-agent", args...)
	waitFor(t, "all 7 events", 60*time.Second, func() bool { s, _ := countedEvents(t, e.data); return s >= 7 })
	// A few more runs over the same file must not count anything again.
	_, runs := countedEvents(t, e.data)
	waitFor(t, "three more runs", 60*time.Second, func() bool { _, r := countedEvents(t, e.data); return r >= runs+3 })
	if s, _ := countedEvents(t, e.data); s != 7 {
		t.Fatalf("counted %v events across the restart, want exactly 7", s)
	}

	// The real agent's structured events reach the daily report: every
	// event once, with its log, source and text, none read from a message.
	ctx := context.Background()
	db, err := store.Open(ctx, "", e.data)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	devs, err := db.ListDevices(ctx)
	if err != nil || len(devs) != 1 {
		t.Fatalf("devices: %v %v", devs, err)
	}
	c, err := db.GetClient(ctx, devs[0].ClientID)
	if err != nil {
		t.Fatal(err)
	}
	env, err := report.LoadEnv(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	d, err := report.Load(ctx, db, env, c, nil, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range d.Events {
		if ev, ok := protocol.ReadEvents(r.Data); !ok || r.Value == nil || ev.Total != int(*r.Value) {
			t.Fatalf("stored eventlog result without matching structure: value %v, data %s", r.Value, r.Data)
		}
	}
	rep := report.Build(d, "en")
	if rep.EventCount != 7 || len(rep.Events) != 1 || len(rep.Events[0].Events) != 7 || rep.Events[0].More != 0 {
		t.Fatalf("report events %d: %+v", rep.EventCount, rep.Events)
	}
	seen := map[string]bool{}
	for _, ev := range rep.Events[0].Events {
		if ev.Log != logFile || ev.Source != "backup" || ev.Count != 1 || ev.FromMessage {
			t.Errorf("event %+v", ev)
		}
		seen[ev.Text] = true
	}
	for i := range 7 {
		if want := fmt.Sprintf("error: job %d failed to write to the NAS", i); !seen[want] {
			t.Errorf("report lacks %q", want)
		}
	}
}
