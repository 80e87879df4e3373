//go:build !windows

package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// uploadPackage creates an upload package from def (JSON) and uploads
// content as its file; it returns the package's ID.
func (e *env) uploadPackage(def string, name string, content []byte) int64 {
	e.t.Helper()
	var p struct {
		ID int64 `json:"id"`
	}
	if st, b := e.send("POST", "/api/v1/packages", rawJSON(def), &p); st != http.StatusCreated {
		e.t.Fatalf("create package: %d %s", st, b)
	}
	req, _ := http.NewRequest("PUT", fmt.Sprintf("https://%s/api/v1/packages/%d/file?name=%s", e.addr, p.ID, name), strings.NewReader(string(content)))
	req.Header.Set("Authorization", "Bearer "+e.apiToken)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("upload package file: %d", resp.StatusCode)
	}
	return p.ID
}

type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

// TestDesiredSoftwareConvergesAfterOffline: a policy that wants a package
// present is assigned while the device's agent is stopped; when it comes
// back it downloads and installs the package through the real server and
// reports the check green. A package removed by hand turns the check red
// and is installed again; "absent" removes it.
func TestDesiredSoftwareConvergesAfterOffline(t *testing.T) {
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
	agent.stop(t, syscall.SIGTERM)
	waitFor(t, "the device offline", time.Minute, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && !devices[0].Online
	})

	dir := t.TempDir()
	marker := filepath.Join(dir, "installed")
	installer := []byte("#!/bin/sh\necho 1.0 > \"$1/installed\"\necho run >> \"$1/runs\"\n")
	pkg := e.uploadPackage(fmt.Sprintf(`{"name":"Marker tool","version":"1.0","os":"linux","kind":"upload",
		"install":["sh","{{file}}","{{DIR}}"],"uninstall":["rm","-f","{{DIR}}/installed"],
		"params":[{"name":"DIR","value":%q}],"timeout_seconds":60,
		"detection":{"kind":"file","path":%q}}`, dir, marker), "marker.sh", installer)
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
	waitFor(t, "the drift seen and fixed", 3*time.Minute, func() bool {
		e.send("POST", fmt.Sprintf("/api/v1/devices/%d/run-checks", dev), nil, nil)
		_, err := os.Stat(marker)
		return err == nil && status() == "ok"
	})
	if runs, _ := os.ReadFile(filepath.Join(dir, "runs")); strings.Count(string(runs), "run") != 2 {
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
		rawJSON(fmt.Sprintf(`{"name":"Marker wanted","checks":[],"software":[{"package":%d,"state":"absent"}]}`, pkg)), nil); st != http.StatusOK {
		t.Fatalf("policy absent: %d %s", st, b)
	}
	waitFor(t, "the package removed", 3*time.Minute, func() bool {
		_, err := os.Stat(marker)
		return os.IsNotExist(err) && status() == "ok"
	})
}
