//go:build !windows

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAutomaticFixEndToEnd: a real agent runs a policy whose script check
// fails; the policy's fix task runs at once, the check runs again and
// passes, and the server stores the fix as a task run and shows it with
// the check's outage.
func TestAutomaticFixEndToEnd(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())
	start(t, "wacht-agent", "run", "--data", e.agentDir)
	var devices []apiDevice
	waitFor(t, "the device online", time.Minute, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online
	})
	dev := devices[0].ID
	dir := t.TempDir()
	script := func(name, body string) int64 {
		var sc struct {
			ID int64 `json:"id"`
		}
		in := map[string]any{"name": name, "language": "sh", "timeout_seconds": 60,
			"params": []map[string]any{{"name": "DIR", "type": "text", "required": true}}, "body": body}
		if st, b := e.send("POST", "/api/v1/scripts", in, &sc); st != 201 {
			t.Fatalf("create script %s: %d %s", name, st, b)
		}
		return sc.ID
	}
	check := script("Marker present", `if [ -f "$DIR/marker" ]; then echo "marker present|files=1;"; exit 0; fi
echo "marker missing|files=0;"; exit 2`)
	fix := script("Make marker", `echo run >> "$DIR/fixes"; touch "$DIR/marker"`)
	policy := e.createPolicy(fmt.Sprintf(`{"name":"Marker","checks":[
		{"name":"marker","type":"script","params":{"script_id":%d,"params":{"DIR":%q}},"schedule":{"class":"24x7","every_minutes":1}}],
		"tasks":[{"name":"make-marker","script_id":%d,"params":{"DIR":%q},"schedule":{"kind":"fix"},"fix_check":"marker","max_per_day":2}]}`,
		check, dir, fix, dir))
	e.assign(fmt.Sprintf("/api/v1/devices/%d/policies", dev), policy)

	type taskRun struct {
		Task      string `json:"task"`
		Trigger   string `json:"trigger"`
		State     string `json:"state"`
		FixCheck  string `json:"fix_check"`
		FixStatus string `json:"fix_status"`
	}
	var fixRun taskRun
	waitFor(t, "the fix's run stored", 3*time.Minute, func() bool {
		var runs []taskRun
		e.api("GET", fmt.Sprintf("/api/v1/devices/%d/runs", dev), &runs)
		for _, r := range runs {
			if r.Task == "make-marker" {
				fixRun = r
				return true
			}
		}
		return false
	})
	if fixRun.Trigger != "fix" || fixRun.State != "done" || fixRun.FixCheck != "marker" || fixRun.FixStatus != "ok" {
		t.Errorf("fix run = %+v; want trigger fix, done, marker ok", fixRun)
	}
	waitFor(t, "the marker check ok", 2*time.Minute, func() bool {
		for _, c := range e.checkStates(dev) {
			if c.Name == "marker" {
				return c.Status == "ok"
			}
		}
		return false
	})
	var outage struct {
		Check string `json:"check"`
		Fix   *struct {
			Task string `json:"task"`
			OK   bool   `json:"ok"`
		} `json:"fix"`
	}
	waitFor(t, "the outage with its fix", 2*time.Minute, func() bool {
		var list []json.RawMessage
		e.api("GET", "/api/v1/outages", &list)
		for _, raw := range list {
			if json.Unmarshal(raw, &outage) == nil && outage.Check == "marker" {
				return outage.Fix != nil
			}
		}
		return false
	})
	if !outage.Fix.OK || outage.Fix.Task != "make-marker" {
		t.Errorf("outage fix = %+v; want make-marker ok", *outage.Fix)
	}
	// The fix ran once: the check passed afterwards.
	if b, _ := os.ReadFile(filepath.Join(dir, "fixes")); string(b) != "run\n" {
		t.Errorf("fix ran %q; want once", b)
	}
}
