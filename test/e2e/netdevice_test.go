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

// TestNetworkDeviceThroughProbe creates a network device (127.0.0.1) with a
// ping check watched by a real agent: the probe gets the check in its
// policy, its results land on the network device, secrets never come back
// from the API, and once the probe is killed the network device's status
// is unknown, not OK.
func TestNetworkDeviceThroughProbe(t *testing.T) {
	e := newEnv(t)
	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())
	// Quick CPU and memory checks: a round waits for its slowest check.
	fast := e.createPolicy(`{"name":"E2E quick CPU","checks":[{"name":"cpu","type":"cpu","params":{"window":"200ms"}},{"name":"memory","type":"memory","params":{"window":"0s"}}]}`)
	e.assign("/api/v1/default/policies", fast)
	agent := start(t, "wacht-agent", "run", "--data", e.agentDir, "--interval", "2s")

	var devices []struct {
		ID     int64 `json:"id"`
		SiteID int64 `json:"site_id"`
		Online bool  `json:"online"`
	}
	waitFor(t, "the probe to be online", 60*time.Second, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online
	})
	probe := devices[0]

	const community = "e2e-Geheimnis-4711"
	body := fmt.Sprintf(`{"name":"Router Hannover","address":"127.0.0.1","type":"router","probe_id":%d,"checks":[
		{"name":"ping","type":"ping","params":{"count":1,"timeout_seconds":5}},
		{"name":"uptime","type":"snmp","params":{"template":"uptime","community":%q,"timeout_seconds":2},"schedule":{"class":"24x7","every_minutes":60}}]}`,
		probe.ID, community)
	var nd struct {
		ID         int64               `json:"id"`
		ProbeName  string              `json:"probe_name"`
		SecretsSet map[string][]string `json:"secrets_set"`
	}
	status, resp := e.send("POST", fmt.Sprintf("/api/v1/sites/%d/network-devices", probe.SiteID), json.RawMessage(body), &nd)
	if status != http.StatusCreated {
		t.Fatalf("creating the network device: %d %s", status, resp)
	}
	if strings.Contains(resp, community) || len(nd.SecretsSet["uptime"]) != 1 {
		t.Errorf("create response shows the secret or not its name: %s", resp)
	}
	if fi, err := os.Stat(filepath.Join(e.data, "secret.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret.key: %v, %v; want a 0600 file", fi, err)
	}

	waitFor(t, "a ping result on the network device", 60*time.Second, func() bool {
		return !latest(e.checkStates(nd.ID), "ping").IsZero()
	})
	for _, c := range e.checkStates(nd.ID) {
		t.Logf("network device check %s %q: %s", c.Name, c.Key, c.Status)
		if c.Name == "ping" && c.Status != "ok" {
			t.Errorf("ping of 127.0.0.1 through the probe: %s, want ok", c.Status)
		}
	}
	for _, c := range e.checkStates(probe.ID) {
		if strings.HasPrefix(c.Name, "net-") {
			t.Errorf("the probe itself holds the network device's result %q", c.Name)
		}
	}
	var got struct {
		Status string `json:"status"`
	}
	if code, b := e.send("GET", fmt.Sprintf("/api/v1/network-devices/%d", nd.ID), nil, &got); code != http.StatusOK || strings.Contains(b, community) {
		t.Errorf("GET network device: %d, shows the secret: %v", code, strings.Contains(b, community))
	}
	if got.Status == "unknown" {
		t.Errorf("network device status unknown while the probe is online")
	}

	// Kill the probe without a goodbye: once it counts as offline (90 s
	// without a heartbeat), the network device's status is unknown.
	agent.stop(t, syscall.SIGKILL)
	waitFor(t, "the network device's status to be unknown", 150*time.Second, func() bool {
		var d struct {
			Worst string `json:"worst_status"`
		}
		e.api("GET", fmt.Sprintf("/api/v1/devices/%d", nd.ID), &d)
		return d.Worst == "unknown"
	})
	var after struct {
		Status string `json:"status"`
	}
	e.api("GET", fmt.Sprintf("/api/v1/network-devices/%d", nd.ID), &after)
	if after.Status != "unknown" {
		t.Errorf("network device API status %q after the probe died, want unknown", after.Status)
	}
}
