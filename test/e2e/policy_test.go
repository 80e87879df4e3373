package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// send is env.api with a JSON body; it returns the status and the body.
func (e *env) send(method, path string, body, out any) (int, string) {
	e.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		e.t.Fatal(err)
	}
	req, _ := http.NewRequest(method, "https://"+e.addr+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+e.apiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(rb, out); err != nil {
			e.t.Fatalf("%s %s: decoding %s: %v", method, path, rb, err)
		}
	}
	return resp.StatusCode, string(rb)
}

// createPolicy creates a policy from JSON and returns its ID.
func (e *env) createPolicy(body string) int64 {
	e.t.Helper()
	var p struct {
		ID int64 `json:"id"`
	}
	if status, b := e.send("POST", "/api/v1/policies", json.RawMessage(body), &p); status != http.StatusCreated {
		e.t.Fatalf("creating policy: %d %s", status, b)
	}
	return p.ID
}

func (e *env) assign(path string, ids ...int64) {
	e.t.Helper()
	if status, b := e.send("PUT", path, map[string]any{"policy_ids": ids}, nil); status != http.StatusOK {
		e.t.Fatalf("PUT %s: %d %s", path, status, b)
	}
}

type stateOf struct {
	Name   string    `json:"name"`
	Key    string    `json:"key"`
	Status string    `json:"status"`
	At     time.Time `json:"at"`
}

func (e *env) checkStates(id int64) []stateOf {
	e.t.Helper()
	var cs []stateOf
	e.api("GET", fmt.Sprintf("/api/v1/devices/%d/checks", id), &cs)
	return cs
}

// latest returns the newest result time of the named check (zero if none).
func latest(cs []stateOf, name string) time.Time {
	var t time.Time
	for _, c := range cs {
		if c.Name == name && c.At.After(t) {
			t = c.At
		}
	}
	return t
}

// TestPolicyInheritanceReachesAgent assigns policies at the default, client
// and device levels through the API and watches a real agent follow them:
// the client policy excludes memory (no more memory results after the
// push), the device policy overrides disk's thresholds (disk fails).
func TestPolicyInheritanceReachesAgent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())

	// Default level: make the template's CPU and memory checks quick (their
	// 30 s averages would slow the test down).
	fast := e.createPolicy(`{"name":"E2E quick CPU","checks":[{"name":"cpu","type":"cpu","params":{"window":"200ms"}},{"name":"memory","type":"memory","params":{"window":"0s"}}]}`)
	e.assign("/api/v1/default/policies", fast)

	// --interval replaces every 24x7 interval of the policy.
	start(t, "wacht-agent", "run", "--data", e.agentDir, "--interval", "2s")

	var devices []struct {
		ID       int64 `json:"id"`
		ClientID int64 `json:"client_id"`
		Online   bool  `json:"online"`
	}
	waitFor(t, "the device to be online", 60*time.Second, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online
	})
	dev := devices[0]
	waitFor(t, "cpu, memory and disk results from the template", 60*time.Second, func() bool {
		cs := e.checkStates(dev.ID)
		return !latest(cs, "cpu").IsZero() && !latest(cs, "memory").IsZero() && !latest(cs, "disk").IsZero()
	})
	for _, c := range e.checkStates(dev.ID) {
		if c.Name == "disk" && c.Status == "failure" {
			t.Fatalf("disk fails before the override (%s); the test cannot tell the override", c.Key)
		}
	}

	// Client level excludes memory; device level overrides disk so that
	// every volume fails (0 % is the failure threshold).
	client := e.createPolicy(`{"name":"Kanzlei Müller","checks":[{"name":"memory","exclude":true}]}`)
	device := e.createPolicy(`{"name":"PC override","checks":[{"name":"disk","type":"disk","params":{"warn":0,"fail":0},"schedule":{"class":"24x7","every_minutes":1}}]}`)
	e.assign(fmt.Sprintf("/api/v1/clients/%d/policies", dev.ClientID), client)
	e.assign(fmt.Sprintf("/api/v1/devices/%d/policies", dev.ID), device)
	assigned := time.Now()

	var eff struct {
		Revision string `json:"revision"`
		Checks   []struct {
			Name   string `json:"name"`
			Source struct {
				Level      string `json:"level"`
				PolicyName string `json:"policy_name"`
			} `json:"source"`
		} `json:"checks"`
		Excluded []struct {
			Name string `json:"name"`
		} `json:"excluded"`
	}
	if code := e.api("GET", fmt.Sprintf("/api/v1/devices/%d/effective-policy", dev.ID), &eff); code != http.StatusOK {
		t.Fatalf("effective policy: HTTP %d", code)
	}
	sources := map[string]string{}
	for _, c := range eff.Checks {
		sources[c.Name] = c.Source.Level + "/" + c.Source.PolicyName
	}
	if sources["memory"] != "" || sources["cpu"] != "default/E2E quick CPU" || sources["disk"] != "device/PC override" || len(eff.Excluded) != 1 || eff.Excluded[0].Name != "memory" {
		t.Fatalf("effective policy %+v", eff)
	}

	// The push reaches the running agent within seconds; it stores it.
	var stored protocol.Policy
	waitFor(t, "the agent to store the new policy", 30*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(e.agentDir, "policy.json"))
		return err == nil && json.Unmarshal(b, &stored) == nil && stored.Revision == eff.Revision
	})
	t.Logf("the agent stored the pushed policy %v after the assignment", time.Since(assigned).Round(time.Millisecond))
	for _, c := range stored.Checks {
		if c.Name == "memory" {
			t.Fatalf("the agent's policy still has memory: %+v", stored.Checks)
		}
	}

	// Disk now fails on every volume: the override's thresholds.
	waitFor(t, "disk to fail with the device's thresholds", 30*time.Second, func() bool {
		n, failing := 0, 0
		for _, c := range e.checkStates(dev.ID) {
			if c.Name == "disk" && c.Status != "unsupported" {
				n++
				if c.Status == "failure" {
					failing++
				}
			}
		}
		return n > 0 && failing == n
	})
	// Memory is no longer reported while cpu goes on.
	memAt := latest(e.checkStates(dev.ID), "memory")
	cpuAt := latest(e.checkStates(dev.ID), "cpu")
	waitFor(t, "three more cpu runs", 30*time.Second, func() bool {
		return latest(e.checkStates(dev.ID), "cpu").Sub(cpuAt) >= 6*time.Second
	})
	if got := latest(e.checkStates(dev.ID), "memory"); !got.Equal(memAt) {
		t.Errorf("memory reported again at %v after its exclusion (last before %v)", got, memAt)
	}
}
