package server

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestSignedPoliciesAndReenrollment runs a real server and a real agent on
// loopback: the server creates its action key, the agent pins it at
// enrollment and applies the policy the server signed; enrolling again
// from the same data folder re-keys the same device, while another
// enrollment with the same machine ID but without the key makes a new one.
func TestSignedPoliciesAndReenrollment(t *testing.T) {
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
	fi, err := os.Stat(filepath.Join(data, actionkey.File))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("action key file: %v, %v", fi, err)
	}
	signer, err := actionkey.Load(filepath.Join(data, actionkey.File), nil)
	if err != nil {
		t.Fatal(err)
	}

	agentDir := t.TempDir()
	first, err := agent.Enroll(ctx, tok.String(), "", agentDir, false)
	if err != nil || first.Rekeyed {
		t.Fatalf("first enrollment: %+v, %v", first, err)
	}
	cfg, err := agent.LoadConfig(agentDir)
	if err != nil || !signer.Public().Equal(ed25519.PublicKey(cfg.ActionKey)) {
		t.Fatalf("agent pinned %x, want the server's action key (%v)", cfg.ActionKey, err)
	}
	a, err := agent.New(agent.Options{DataDir: agentDir, Interval: time.Hour, BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	actx, stopAgent := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	var stored struct {
		Revision string    `json:"revision"`
		Issued   time.Time `json:"issued"`
	}
	for i := 0; stored.Issued.IsZero(); i++ {
		if i == 600 { // a hang guard: 30 s
			t.Fatal("the agent applied no signed policy")
		}
		time.Sleep(50 * time.Millisecond)
		if b, err := os.ReadFile(filepath.Join(agentDir, agent.PolicyFile)); err == nil {
			_ = json.Unmarshal(b, &stored)
		}
	}
	stopAgent()
	<-done

	again, err := agent.Enroll(ctx, tok.String(), "", agentDir, false)
	if err != nil || !again.Rekeyed || again.DeviceID != first.DeviceID {
		t.Fatalf("re-enrollment with the key: %+v, %v; want device %d re-keyed", again, err, first.DeviceID)
	}
	lost, err := agent.Enroll(ctx, tok.String(), "", t.TempDir(), false) // same machine, key lost
	if err != nil || lost.Rekeyed || lost.DeviceID == first.DeviceID {
		t.Fatalf("enrollment without the key: %+v, %v; want a new device", lost, err)
	}
	if d, err := st.GetDevice(ctx, lost.DeviceID); err != nil || d.DuplicateOf != first.DeviceID {
		t.Errorf("new device %+v (%v), want duplicate_of %d", d, err, first.DeviceID)
	}
}
