//go:build !windows

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDeployUploadedPackage: an uploaded installer (a shell script) is
// deployed by the real wacht to the real wacht-agent as a job: the job
// ends done with the package detected as installed, then an uninstall job
// removes it. An installer whose file was changed on the server's disk
// after its upload is refused by the agent (hash check) and never runs.
func TestDeployUploadedPackage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())
	start(t, "wacht-agent", "run", "--data", e.agentDir, "--checks", `{"memory":{"window":"0s"}}`)
	var devices []apiDevice
	waitFor(t, "the device online", time.Minute, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online
	})
	dir := t.TempDir()
	installed := filepath.Join(dir, "installed")
	installer := "echo 1.0 > \"$target\"\n"
	id, _ := e.uploadPackage(t, "Testagent", installed, installer)

	job := e.deploy(t, id, "install", devices[0].ID)
	r := e.waitRun(t, job)
	if r.State != "done" || r.Meaning != "ok" || r.SWState != "installed" || r.ExitCode == nil || *r.ExitCode != 0 || r.Action != "package_install" || r.PackageName != "Testagent" {
		t.Fatalf("install run: %+v", r)
	}
	if b, err := os.ReadFile(installed); err != nil || string(b) != "1.0\n" {
		t.Fatalf("the installer did not run: %q %v", b, err)
	}
	var j struct {
		Action         string         `json:"action"`
		PackageName    string         `json:"package_name"`
		PackageVersion string         `json:"package_version"`
		Counts         map[string]int `json:"counts"`
	}
	e.api("GET", "/api/v1/jobs/"+strconv.FormatInt(job, 10), &j)
	if j.Action != "package_install" || j.PackageName != "Testagent" || j.PackageVersion != "1.0" || j.Counts["done"] != 1 {
		t.Errorf("job: %+v", j)
	}

	job = e.deploy(t, id, "uninstall", devices[0].ID)
	if r = e.waitRun(t, job); r.State != "done" || r.SWState != "absent" {
		t.Fatalf("uninstall run: %+v", r)
	}
	if _, err := os.Stat(installed); !os.IsNotExist(err) {
		t.Errorf("still installed after the uninstall: %v", err)
	}

	// The second package's file is changed on the server's disk, size
	// kept: the agent refuses it and runs nothing.
	evil := filepath.Join(dir, "evil")
	good := "echo 2.0 > \"$target\"\n#" + strings.Repeat("-", 300) + "\n"
	id, sum := e.uploadPackage(t, "Zweitagent", filepath.Join(dir, "zweit"), good)
	bad := "touch " + evil + "\n"
	bad += strings.Repeat("#", len(good)-len(bad)-1) + "\n"
	blob := filepath.Join(e.data, "blobs", "sha256", sum[:2], sum)
	if err := os.Chmod(blob, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(blob, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	job = e.deploy(t, id, "install", devices[0].ID)
	if r = e.waitRun(t, job); r.State != "failed" || !strings.Contains(r.Error["en"]+r.ErrorCode, "hash") {
		t.Errorf("tampered installer: %+v", r)
	}
	if _, err := os.Stat(evil); !os.IsNotExist(err) {
		t.Errorf("the tampered installer ran: %v", err)
	}
}

type pkgRun struct {
	State       string            `json:"state"`
	Action      string            `json:"action"`
	PackageName string            `json:"package_name"`
	Meaning     string            `json:"meaning"`
	SWState     string            `json:"sw_state"`
	SWVersion   string            `json:"sw_version"`
	ExitCode    *int              `json:"exit_code"`
	ErrorCode   string            `json:"error_code"`
	Error       map[string]string `json:"error"`
}

// uploadPackage creates an upload package whose installer is body (run
// as sh {{file}} with the parameter target in its environment; uninstall
// removes target), detected by the file target, and uploads it; it
// returns its ID and the file's SHA-256.
func (e *env) uploadPackage(t *testing.T, name, target, body string) (int64, string) {
	t.Helper()
	def := map[string]any{"name": name, "version": "1.0", "os": "linux", "kind": "upload",
		"install": []string{"sh", "{{file}}"}, "uninstall": []string{"rm", "-f", "{{target}}"},
		"params":    []map[string]any{{"name": "target", "value": target}},
		"detection": map[string]any{"kind": "file", "path": target}, "timeout_seconds": 120}
	var p struct {
		ID     int64  `json:"id"`
		SHA256 string `json:"sha256"`
	}
	if st, b := e.send("POST", "/api/v1/packages", def, &p); st != http.StatusCreated {
		t.Fatalf("create package: %d %s", st, b)
	}
	req, _ := http.NewRequest("PUT", fmt.Sprintf("https://%s/api/v1/packages/%d/file?name=install.sh", e.addr, p.ID), bytes.NewReader([]byte(body)))
	req.Header.Set("Authorization", "Bearer "+e.apiToken)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &p) != nil || len(p.SHA256) != 64 {
		t.Fatalf("upload: %d %s", resp.StatusCode, b)
	}
	return p.ID, p.SHA256
}

// deploy queues the package's install or uninstall on the device.
func (e *env) deploy(t *testing.T, pkg int64, action string, device int64) int64 {
	t.Helper()
	var sub struct {
		JobID int64 `json:"job_id"`
		Runs  int   `json:"runs"`
	}
	body := map[string]any{"action": action, "devices": []int64{device}}
	if st, b := e.send("POST", "/api/v1/packages/"+strconv.FormatInt(pkg, 10)+"/deploy", body, &sub); st != http.StatusAccepted || sub.Runs != 1 {
		t.Fatalf("deploy %s: %d %s", action, st, b)
	}
	return sub.JobID
}

// waitRun waits until the job's only run has finished and returns it.
func (e *env) waitRun(t *testing.T, job int64) pkgRun {
	t.Helper()
	var j struct {
		Runs []pkgRun `json:"runs"`
	}
	waitFor(t, "the package run finished", 2*time.Minute, func() bool {
		j.Runs = nil
		e.api("GET", "/api/v1/jobs/"+strconv.FormatInt(job, 10), &j)
		return len(j.Runs) == 1 && !strings.Contains("queued running offline-waiting", j.Runs[0].State)
	})
	return j.Runs[0]
}
