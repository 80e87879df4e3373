package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// allowProbe is a check that reads the file its parameters name, as the
// log and backup checks do.
type allowProbe struct {
	Path string `json:"path"`
}

func (p allowProbe) Run(_ context.Context, r check.Reporter) error {
	if err := check.Readable(p.Path); err != nil {
		return err
	}
	b, err := os.ReadFile(p.Path)
	if err != nil {
		return err
	}
	r.Report(check.Result{Status: core.StatusOK, Message: core.Text{EN: string(b), DE: string(b)}})
	return nil
}

func init() {
	spec := &check.Spec{Name: "allowprobe", Params: []check.Param{{Name: "path", Type: check.Text, Privileged: check.ReadPath}}}
	check.Register(spec, func(raw json.RawMessage) (check.Check, error) {
		var p allowProbe
		err := spec.Decode(raw, &p)
		return p, err
	})
}

// TestLocalAllowlist: agent.json's "allow" decides what a policy's check
// may read on this device; anything else is an error result that says so
// in English and German, never OK.
func TestLocalAllowlist(t *testing.T) {
	dir := t.TempDir()
	logs := filepath.Join(dir, "logs")
	os.MkdirAll(logs, 0o700)
	os.WriteFile(filepath.Join(logs, "app.log"), []byte("allowed line"), 0o600)
	os.WriteFile(filepath.Join(dir, "shadow"), []byte("secret line"), 0o600)
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	if err := SaveKey(dir, key); err != nil {
		t.Fatal(err)
	}
	cfg := Config{ServerURL: "https://127.0.0.1:1", DeviceID: 1, Allow: check.Allowlist{Paths: []string{logs}}}
	if err := SaveConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	a, err := New(Options{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer a.spool.Close()
	defer check.SetAllowlist(check.Allowlist{})
	q := func(s string) json.RawMessage { b, _ := json.Marshal(map[string]string{"path": s}); return b }
	plan := planFromPolicy(protocol.Policy{Revision: "r1", Checks: []core.PolicyCheck{
		{Name: "ok", Type: "allowprobe", Params: q(filepath.Join(logs, "app.log")), Schedule: core.Schedule{Class: core.Schedule24x7}},
		{Name: "shadow", Type: "allowprobe", Params: q(filepath.Join(dir, "shadow")), Schedule: core.Schedule{Class: core.Schedule24x7}},
	}}, a)
	var checks []NamedCheck
	for _, p := range plan {
		checks = append(checks, p.NamedCheck)
	}
	rs := a.runner.Run(context.Background(), checks)
	if len(rs) != 2 || rs[0].Status != core.StatusOK || rs[0].Message.EN != "allowed line" {
		t.Fatalf("allowed file: %+v", rs)
	}
	r := rs[1]
	if r.Status != core.StatusError || strings.Contains(r.Message.EN, "secret") ||
		!strings.Contains(r.Message.EN, "local configuration does not allow reading") ||
		!strings.Contains(r.Message.DE, "lokale Konfiguration des Agenten erlaubt nicht") || !strings.Contains(r.Message.DE, "Die Prüfung konnte nicht") {
		t.Errorf("file outside the allowlist: %+v", r)
	}
}
