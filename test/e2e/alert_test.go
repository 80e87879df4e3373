package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/alerttest"
)

// failingDiskPolicy leaves devices only a disk check, which fails on any
// machine (more than 1 % used) and alerts at the second failure in a row.
const failingDiskPolicy = `{"name":"E2E failing disk","checks":[
	{"name":"disk","type":"disk","params":{"warn":0.5,"fail":1,"alert_after":2},
	 "schedule":{"class":"24x7","every_minutes":1}},
	{"name":"services","exclude":true},{"name":"cpu","exclude":true},{"name":"memory","exclude":true},
	{"name":"eventlog","exclude":true},{"name":"logins","exclude":true},{"name":"smart","exclude":true},
	{"name":"antivirus","exclude":true},{"name":"growth","exclude":true}]}`

// alertFlags make the server's alerting quick for tests: heartbeats every
// second, an offline sweep every half second, retries within a second.
var alertFlags = []string{"--heartbeat", "1s", "--alert-sweep", "500ms", "--alert-retry-min", "200ms", "--alert-retry-max", "1s"}

// startAlertServer is startServer with the quick alerting of alertFlags.
func startAlertServer(t *testing.T, data, listen string) (*proc, string) {
	t.Helper()
	return startServer(t, data, listen, alertFlags...)
}

// newAlertEnv is newEnv with the quick alerting of alertFlags.
func newAlertEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, alertFlags...)
}

// sendJSON calls the API with a JSON body.
func (e *env) sendJSON(method, path, body string, out any) int {
	e.t.Helper()
	req, _ := http.NewRequest(method, "https://"+e.addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.apiToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 300 {
		e.t.Fatalf("%s %s: HTTP %d: %s", method, path, resp.StatusCode, b)
	}
	if out != nil && len(bytes.TrimSpace(b)) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
	return resp.StatusCode
}

func alertSettings(smtp *alerttest.Server, offlineAfter int) string {
	return fmt.Sprintf(`{"smtp":{"host":"127.0.0.1","port":%d,"tls":"none","from":"wacht@provider.example"},
		"offline_after_server":%d,"offline_after_workstation":%d,"offline_alert_delay":1,"goodbye_grace":600}`,
		smtp.Port(), offlineAfter, offlineAfter)
}

// mailsFor returns the mails whose body links to device id.
func mailsFor(ms []alerttest.Mail, id int64, subject string) []alerttest.Mail {
	var out []alerttest.Mail
	for _, m := range ms {
		if strings.Contains(m.Body(), fmt.Sprintf("/devices/%d\n", id)) && strings.Contains(m.Header("Subject"), subject) {
			out = append(out, m)
		}
	}
	return out
}

func waitMail(t *testing.T, smtp *alerttest.Server, what string, d time.Duration, id int64, subject string) alerttest.Mail {
	t.Helper()
	var got []alerttest.Mail
	waitFor(t, what, d, func() bool {
		got = mailsFor(smtp.Mails(), id, subject)
		return len(got) > 0
	})
	return got[0]
}

type apiOutbox struct {
	ID          int64      `json:"id"`
	Attempts    int        `json:"attempts"`
	DeliveredAt *time.Time `json:"delivered_at"`
	LastError   string     `json:"last_error"`
}

// TestAlertsEndToEnd: a failing check mails an outage; a server killed
// with undelivered mail (SMTP down) delivers each exactly once after its
// restart; an agent killed without goodbye raises an offline alert, one
// stopped cleanly does not.
func TestAlertsEndToEnd(t *testing.T) {
	t.Parallel()
	smtp := alerttest.Start(t, alerttest.Options{Mode: "none"})
	e := newAlertEnv(t)

	// Offline detection stays out of the way until the last phase.
	e.sendJSON("PUT", "/api/v1/alerts/settings", alertSettings(smtp, 600), nil)
	e.sendJSON("POST", "/api/v1/alerts/recipients", `{"level":"default","channel":"email","target":"noc@provider.example","lang":"de"}`, nil)

	// Every device runs just a disk check that fails, alerting after two
	// failures in a row (alert_after in the policy).
	e.assign("/api/v1/default/policies", e.createPolicy(failingDiskPolicy))

	// 1. A failing check mails an outage, in German, naming the customer.
	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())
	agentA := start(t, "wacht-agent", "run", "--data", e.agentDir, "--interval", "1s")
	var devices []apiDevice
	waitFor(t, "device A", 3*time.Minute, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1
	})
	idA := devices[0].ID
	m := waitMail(t, smtp, "the outage mail of A", 3*time.Minute, idA, "STÖRUNG: disk / auf")
	if m.To[0] != "noc@provider.example" || !strings.Contains(m.Header("Subject"), "(Müller GmbH / Hannover)") ||
		!strings.Contains(m.Body(), "Kunde:      Müller GmbH") || !strings.Contains(m.Body(), "Wert:") {
		t.Errorf("outage mail to %v: %q\n%s", m.To, m.Header("Subject"), m.Body())
	}

	// 2. SMTP down; B's outage waits in the outbox; the server is killed.
	smtp.Stop()
	dirB := t.TempDir()
	mustRun(t, nil, "wacht-agent", "enroll", "--data", dirB, "--token", e.token(), "--new-device")
	agentB := start(t, "wacht-agent", "run", "--data", dirB, "--interval", "1s")
	waitFor(t, "B's undelivered outage mail in the outbox", 3*time.Minute, func() bool {
		var box []apiOutbox
		e.api("GET", "/api/v1/alerts/outbox", &box)
		for _, it := range box {
			if it.DeliveredAt == nil && it.Attempts >= 1 {
				return true
			}
		}
		return false
	})
	e.api("GET", "/api/v1/devices", &devices)
	var idB int64
	for _, d := range devices {
		if d.ID != idA {
			idB = d.ID
		}
	}
	e.server.stop(t, syscall.SIGKILL)
	smtp.Restart()
	e.server, _ = startAlertServer(t, e.data, e.addr)
	waitMail(t, smtp, "B's outage mail after the restart", 3*time.Minute, idB, "STÖRUNG: disk / auf")

	// 3. Offline detection on: A is killed, B stops cleanly.
	e.sendJSON("PUT", "/api/v1/alerts/settings", alertSettings(smtp, 4), nil)
	time.Sleep(3 * time.Second) // the engine's settings cache
	agentA.stop(t, syscall.SIGKILL)
	agentB.stop(t, syscall.SIGTERM)
	killedAt := time.Now()
	off := waitMail(t, smtp, "the offline mail of A", 3*time.Minute, idA, "OFFLINE")
	t.Logf("offline mail %v after the kill (offline_after 4 s + delay 1 s + sweep 0.5 s)", off.At.Sub(killedAt).Round(100*time.Millisecond))
	// B's clean stop is recorded as a shutdown, which the sweep never
	// alerts: once both states are in, no offline mail for B can come.
	var pres []struct {
		DeviceID int64  `json:"device_id"`
		State    string `json:"state"`
	}
	want := map[int64]string{idA: "offline-alerted", idB: "shutdown"}
	waitFor(t, "A offline-alerted and B shut down", 3*time.Minute, func() bool {
		pres = nil
		e.api("GET", "/api/v1/alerts/presence", &pres)
		n := 0
		for _, p := range pres {
			if p.State == want[p.DeviceID] {
				n++
			}
		}
		return n == len(want)
	})
	if got := mailsFor(smtp.Mails(), idB, "OFFLINE"); len(got) != 0 {
		t.Errorf("B stopped cleanly but got %d offline mails", len(got))
	}

	// Every message arrived exactly once.
	seen := map[string]int{}
	for _, m := range smtp.Mails() {
		seen[m.Header("Message-Id")]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("message %s arrived %d times", id, n)
		}
	}
	if len(mailsFor(smtp.Mails(), idB, "STÖRUNG: disk / auf")) != 1 || len(mailsFor(smtp.Mails(), idA, "STÖRUNG: disk / auf")) != 1 {
		t.Errorf("outage mails: A %d, B %d; want 1 each", len(mailsFor(smtp.Mails(), idA, "STÖRUNG: disk / auf")), len(mailsFor(smtp.Mails(), idB, "STÖRUNG: disk / auf")))
	}
}
