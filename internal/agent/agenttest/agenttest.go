// Package agenttest runs real agents (internal/agent, in process) against
// a real gateway on loopback, for the server's tests of remote management
// (terminal, files…) that need a device at the other end.
package agenttest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
)

// NewGateway returns a gateway over st that signs with a fresh action key.
func NewGateway(st gateway.Store) *gateway.Gateway {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	return gateway.New(gateway.Options{Store: st, ActionKey: actionkey.NewSigner(key, nil)})
}

// Options of an agent.
type Options struct {
	// Disable locks features on the device (wacht-agent install --disable).
	Disable []string
	// TrayAddress, if set, is the socket (a path in a folder of its own)
	// or pipe the agent serves the tray apps on (trayipc.Dial).
	TrayAddress string
}

// Start enrolls a new agent at the server srv (serving gw under
// /api/agent/) into site siteID of st, runs it until the test ends and
// waits until it is connected. It returns the device's ID.
func Start(t testing.TB, st core.TokenStore, gw *gateway.Gateway, srv *httptest.Server, siteID int64, o Options) int64 {
	t.Helper()
	ctx := context.Background()
	secret := auth.NewSecret("wet_")
	if err := st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), SiteID: siteID}); err != nil {
		t.Fatal(err)
	}
	tok := protocol.Token{URL: srv.URL, Fingerprint: protocol.Fingerprint(srv.Certificate().Raw), Secret: secret}
	dir := t.TempDir()
	er, err := agent.Enroll(ctx, tok.String(), "", dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if o.Disable != nil {
		if err := agent.SetDisabled(dir, o.Disable); err != nil {
			t.Fatal(err)
		}
	}
	if o.TrayAddress != "" {
		cfg, err := agent.LoadConfig(dir)
		if err != nil {
			t.Fatal(err)
		}
		cfg.TrayAddress = o.TrayAddress
		if err := agent.SaveConfig(dir, cfg); err != nil {
			t.Fatal(err)
		}
	}
	a, err := agent.New(agent.Options{DataDir: dir, Checks: []agent.NamedCheck{{Name: "ok", Check: okCheck{}}}, Interval: time.Hour,
		BackoffMin: 10 * time.Millisecond, BackoffMax: 100 * time.Millisecond, Tray: o.TrayAddress != ""})
	if err != nil {
		t.Fatal(err)
	}
	actx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { a.Run(actx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("agent did not stop")
		}
	})
	Wait(t, "agent connected", func() bool { return gw.Hub().Connected(er.DeviceID) })
	return er.DeviceID
}

// Wait polls cond: a hang guard of a minute, not a timing assertion.
func Wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

type okCheck struct{}

func (okCheck) Run(_ context.Context, r check.Reporter) error {
	r.Report(check.Result{Status: core.StatusOK, Message: core.Text{EN: "ok", DE: "ok"}})
	return nil
}
