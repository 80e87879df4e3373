package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

type okCheck struct{}

func (okCheck) Run(_ context.Context, r check.Reporter) error {
	r.Report(check.Result{Status: core.StatusOK, Message: core.Text{EN: "ok", DE: "ok"}})
	return nil
}

// TestRetireUninstallsAgent runs a real server and a real agent on
// loopback: retiring the device through the API sends the agent the
// uninstall command, its Uninstall hook runs, and its session is refused
// afterwards.
func TestRetireUninstallsAgent(t *testing.T) {
	data := t.TempDir()
	srv := start(t, data)
	ctx := context.Background()
	st, err := OpenStore(ctx, data, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tok, _, err := CreateToken(ctx, st, TokenOptions{Create: true, Client: "Müller GmbH", Site: "Hannover", DataDir: data, URL: "https://" + srv.addr}, protocol.Now())
	if err != nil {
		t.Fatal(err)
	}
	agentDir := t.TempDir()
	er, err := agent.Enroll(ctx, tok.String(), "", agentDir, false)
	if err != nil {
		t.Fatal(err)
	}
	var uninstalls atomic.Int32
	a, err := agent.New(agent.Options{
		DataDir: agentDir, Checks: []agent.NamedCheck{{Name: "ok", Check: okCheck{}}}, Interval: time.Hour,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Uninstall: func() { uninstalls.Add(1) },
	})
	if err != nil {
		t.Fatal(err)
	}
	actx, stopAgent := context.WithCancel(ctx)
	defer stopAgent()
	go a.Run(actx)

	waitUntil := func(what string, cond func() bool) {
		t.Helper()
		for range 400 { // a hang guard: 20 s
			if cond() {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("timed out waiting for %s", what)
	}
	waitUntil("agent online", func() bool {
		d, err := st.GetDevice(ctx, er.DeviceID)
		return err == nil && !d.LastSeen.IsZero()
	})

	if _, err := AddUser(ctx, st, "admin@example.com", core.RoleAdmin, "ein langes Passwort", protocol.Now()); err != nil {
		t.Fatal(err)
	}
	secret, _, err := CreateAPIToken(ctx, st, "admin@example.com", "test", 0, protocol.Now())
	if err != nil {
		t.Fatal(err)
	}
	hc := pinnedClient(t, st, 30*time.Second)
	req, _ := http.NewRequest("POST", "https://"+srv.addr+"/api/v1/devices/"+strconv.FormatInt(er.DeviceID, 10)+"/retire", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("retire: %d", resp.StatusCode)
	}
	waitUntil("uninstall hook", func() bool { return uninstalls.Load() == 1 })
	es, _ := st.QueryAudit(ctx, core.AuditQuery{Action: "device.retire"})
	if len(es) != 1 || !strings.Contains(es[0].Detail, "uninstall sent") || es[0].Actor != "user:admin@example.com" {
		t.Errorf("retire audit: %+v", es)
	}
	// The session was ended; the agent's reconnect is refused as retired.
	defer func() {
		if t.Failed() {
			t.Log(srv.logs.String())
		}
	}()
	waitUntil("refusal logged", func() bool { return strings.Contains(srv.logs.String(), `msg="agent session refused"`) })
	if !strings.Contains(srv.logs.String(), "code=retired") {
		t.Error("refused with another code")
	}
	// A retired agent stops trying (others retry every BackoffMax, 200 ms).
	time.Sleep(time.Second)
	if n := strings.Count(srv.logs.String(), `msg="agent session refused"`); n != 1 {
		t.Errorf("%d refused sessions; the retired agent kept reconnecting", n)
	}
}
