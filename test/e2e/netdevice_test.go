package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
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
	t.Parallel()
	// Short heartbeats: the killed probe counts as offline seconds later
	// (core.OnlineWindow), not after the default 90 s.
	e := newEnv(t, "--heartbeat", "2s")
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

	// Kill the probe without a goodbye: once it counts as offline (about
	// 8 s without a heartbeat at 2 s heartbeats), the network device's
	// status is unknown.
	agent.stop(t, syscall.SIGKILL)
	waitFor(t, "the network device's status to be unknown", 60*time.Second, func() bool {
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

// TestTrapsThroughProbe: a trap receiver entry on a network device starts
// the probe agent's listener; a link-down trap from real net-snmp fires
// the rule (a failure on the receiver's device), and an unmatched trap
// lands on the network device whose address is the trap's source.
func TestTrapsThroughProbe(t *testing.T) {
	t.Parallel()
	bin, err := exec.LookPath("snmptrap")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("snmptrap (Debian package snmp) is missing in CI")
		}
		t.Skip("snmptrap not installed (apt-get install snmp)")
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target := pc.LocalAddr().String()
	pc.Close()

	e := newEnv(t)
	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())
	fast := e.createPolicy(`{"name":"E2E quick CPU","checks":[{"name":"cpu","type":"cpu","params":{"window":"200ms"}},{"name":"memory","type":"memory","params":{"window":"0s"}}]}`)
	e.assign("/api/v1/default/policies", fast)
	start(t, "wacht-agent", "run", "--data", e.agentDir, "--interval", "2s")
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
	create := func(body string) int64 {
		t.Helper()
		var nd struct {
			ID int64 `json:"id"`
		}
		if status, resp := e.send("POST", fmt.Sprintf("/api/v1/sites/%d/network-devices", probe.SiteID), json.RawMessage(body), &nd); status != http.StatusCreated {
			t.Fatalf("creating a network device: %d %s", status, resp)
		}
		return nd.ID
	}
	receiver := create(fmt.Sprintf(`{"name":"Trap-Empfang","address":"192.0.2.1","type":"other","probe_id":%d,"checks":[
		{"name":"traps","type":"snmptrap","params":{"listen":%q,"communities":["public"],"known_sources":["127.0.0.0/8"],
		 "rules":[{"name":"uplink down","trap_oid":"1.3.6.1.6.3.1.1.5.3"}]}}]}`, probe.ID, target))
	sw := create(`{"name":"Switch","address":"127.0.0.1","type":"switch","checks":[]}`)

	waitFor(t, "the trap listener to run", 60*time.Second, func() bool {
		return !latest(e.checkStates(receiver), "traps").IsZero()
	})
	trap := func(oid string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, bin, "-m", "", "-M", t.TempDir(), "-v", "2c", "-c", "public", target, "", oid,
			"1.3.6.1.2.1.2.2.1.1.2", "i", "2")
		cmd.Env = append(os.Environ(), "MIBS=", "SNMP_PERSISTENT_DIR="+t.TempDir(), "SNMPCONFPATH="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("snmptrap: %v\n%s", err, out)
		}
	}
	trap("1.3.6.1.6.3.1.1.5.3")   // linkDown: the rule
	trap("1.3.6.1.4.1.99999.0.1") // no rule: lands on the switch
	waitFor(t, "the link-down failure and the switch's trap", 60*time.Second, func() bool {
		fired, routed := false, false
		for _, c := range e.checkStates(receiver) {
			fired = fired || (c.Name == "traps" && c.Key == "uplink down" && c.Status == "failure")
		}
		for _, c := range e.checkStates(sw) {
			routed = routed || (c.Name == "traps" && c.Key == "trap 127.0.0.1")
		}
		return fired && routed
	})
}
