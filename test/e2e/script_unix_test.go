//go:build !windows

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestScriptAgentKilledMidRun: the real wacht-agent is killed (SIGKILL)
// while a script runs; after it starts again the run is reported as
// interrupted and was not run a second time.
func TestScriptAgentKilledMidRun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())
	agent := start(t, "wacht-agent", "run", "--data", e.agentDir, "--checks", `{"memory":{"window":"0s"}}`)
	var devices []apiDevice
	waitFor(t, "the device online", time.Minute, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online
	})
	dir := t.TempDir()
	var sc struct {
		ID int64 `json:"id"`
	}
	body := `{"name":"Lang","language":"sh","timeout_seconds":900,"params":[{"name":"DIR","type":"text"}],
		"body":"echo lief >> \"$DIR/count\"\necho $$ > \"$DIR/pid.tmp\"; mv \"$DIR/pid.tmp\" \"$DIR/pid\"\nsleep 600\n"}`
	if st, _ := e.send("POST", "/api/v1/scripts", json.RawMessage(body), &sc); st != 201 {
		t.Fatalf("create script: %d", st)
	}
	var sub struct {
		JobID int64 `json:"job_id"`
	}
	run := fmt.Sprintf(`{"devices":[%d],"params":{"DIR":%q}}`, devices[0].ID, dir)
	if st, _ := e.send("POST", "/api/v1/scripts/"+strconv.FormatInt(sc.ID, 10)+"/run", json.RawMessage(run), &sub); st != 202 {
		t.Fatalf("run: %d", st)
	}
	var pid int
	waitFor(t, "the script started", time.Minute, func() bool {
		b, err := os.ReadFile(filepath.Join(dir, "pid"))
		pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && pid > 0
	})
	// The script's process group outlives the killed agent; end it when
	// the test ends.
	t.Cleanup(func() { syscall.Kill(-pid, syscall.SIGKILL) })
	agent.stop(t, syscall.SIGKILL)
	start(t, "wacht-agent", "run", "--data", e.agentDir, "--checks", `{"memory":{"window":"0s"}}`)

	type run_ struct {
		State     string            `json:"state"`
		ErrorCode string            `json:"error_code"`
		Error     map[string]string `json:"error"`
		Attempts  int               `json:"attempts"`
	}
	var job struct {
		Runs []run_ `json:"runs"`
	}
	waitFor(t, "the run reported", 2*time.Minute, func() bool {
		job.Runs = nil
		e.api("GET", "/api/v1/jobs/"+strconv.FormatInt(sub.JobID, 10), &job)
		return len(job.Runs) == 1 && job.Runs[0].State != "running" && job.Runs[0].State != "queued" && job.Runs[0].State != "offline-waiting"
	})
	if r := job.Runs[0]; r.State != "interrupted" || r.ErrorCode != "interrupted" || r.Error["de"] == "" || r.Attempts != 2 {
		t.Errorf("run after the agent was killed: %+v", r)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "count")); string(b) != "lief\n" {
		t.Errorf("the script ran %d times", strings.Count(string(b), "lief"))
	}
}
