//go:build !windows

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDesiredSoftwareConvergesAfterOffline: a policy that wants a package
// present is assigned while the device's agent is stopped; when it comes
// back it downloads and installs the package through the real server and
// reports the check green. A package removed by hand turns the check red
// and is installed again; "absent" removes it.
func TestDesiredSoftwareConvergesAfterOffline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())
	agent := start(t, "wacht-agent", "run", "--data", e.agentDir)
	var devices []apiDevice
	waitFor(t, "the device online", time.Minute, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online
	})
	dev := devices[0].ID
	agent.stop(t, syscall.SIGTERM) // offline while its policy changes
	dir := t.TempDir()
	marker := filepath.Join(dir, "installed")
	pkg, _ := e.uploadPackage(t, "Marker tool", marker, "echo 1.0 > \"$target\"; echo run >> \"$target.runs\"\n")
	check := fmt.Sprintf("software-%d", pkg)
	policy := e.createPolicy(fmt.Sprintf(`{"name":"Marker wanted","checks":[],"software":[{"package":%d,"state":"present"}]}`, pkg))
	e.assign(fmt.Sprintf("/api/v1/devices/%d/policies", dev), policy)

	status := func() string {
		for _, c := range e.checkStates(dev) {
			if c.Name == check {
				return c.Status
			}
		}
		return ""
	}
	start(t, "wacht-agent", "run", "--data", e.agentDir)
	waitFor(t, "the package installed and reported ok", 3*time.Minute, func() bool { return status() == "ok" })
	if b, err := os.ReadFile(marker); err != nil || string(b) != "1.0\n" {
		t.Fatalf("installed file: %q %v", b, err)
	}

	// Removed by hand: red at the next evaluation, then installed again.
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	drifted := time.Now().Add(-time.Second)
	// "Check now": the software check it asks for starts at once; the
	// answer waits for the other checks (the CPU check samples for 30 s),
	// so it is not awaited here.
	req, _ := http.NewRequest("POST", fmt.Sprintf("https://%s/api/v1/devices/%d/run-checks", e.addr, dev), nil)
	req.Header.Set("Authorization", "Bearer "+e.apiToken)
	go func() {
		if resp, err := e.http.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "the drift seen and fixed", 3*time.Minute, func() bool {
		_, err := os.Stat(marker)
		return err == nil && status() == "ok"
	})
	if runs, _ := os.ReadFile(marker + ".runs"); strings.Count(string(runs), "run") != 2 {
		t.Errorf("installer ran %d times, want 2", strings.Count(string(runs), "run"))
	}
	var h struct {
		Results []struct {
			Status  string `json:"status"`
			Message struct {
				EN string `json:"en"`
			} `json:"message"`
		} `json:"results"`
	}
	e.api("GET", fmt.Sprintf("/api/v1/devices/%d/checks/%s/history?since=%s", dev, check, drifted.UTC().Format(time.RFC3339)), &h)
	red := false
	for _, r := range h.Results {
		red = red || r.Status == "failure"
	}
	if !red {
		t.Errorf("the drift was never reported red: %+v", h.Results)
	}

	// Absent: removed, and reported ok.
	if st, b := e.send("PUT", fmt.Sprintf("/api/v1/policies/%d", policy),
		json.RawMessage(fmt.Sprintf(`{"name":"Marker wanted","checks":[],"software":[{"package":%d,"state":"absent"}]}`, pkg)), nil); st != http.StatusOK {
		t.Fatalf("policy absent: %d %s", st, b)
	}
	waitFor(t, "the package removed", 3*time.Minute, func() bool {
		_, err := os.Stat(marker)
		return os.IsNotExist(err) && status() == "ok"
	})
}
