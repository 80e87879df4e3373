package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestCLIUsage(t *testing.T) {
	if code, out, _ := runCLI("version"); code != 0 || !strings.HasPrefix(out, "wacht-agent dev (") {
		t.Errorf("version: %d %q", code, out)
	}
	if code, _, errOut := runCLI("frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: %d %q", code, errOut)
	}
	if code, _, _ := runCLI(); code != 2 {
		t.Errorf("no command: %d", code)
	}
	if code, _, errOut := runCLI("enroll", "--server", "https://x"); code != 2 || !strings.Contains(errOut, "--token is required") {
		t.Errorf("enroll without token: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI("install", "--token", "x", "--disable", "terminal,rootkit"); code != 2 || !strings.Contains(errOut, `"rootkit"`) {
		t.Errorf("install --disable with an unknown capability: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI("install", "--token", "x", "--require-script-signer", "c2hvcnQ="); code != 2 || !strings.Contains(errOut, "public key") {
		t.Errorf("install --require-script-signer with a short key: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI("check"); code != 2 || !strings.Contains(errOut, "--once") {
		t.Errorf("check without --once: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI("run", "-h"); code != 0 || strings.Contains(errOut, "trace-results") || !strings.Contains(errOut, "--interval") {
		t.Errorf("run -h: %d %q (hidden flags must stay hidden)", code, errOut)
	}
	if code, _, errOut := runCLI("run", "--data", t.TempDir()); code != 1 || !strings.Contains(errOut, "not enrolled") {
		t.Errorf("run without enrollment: %d %q", code, errOut)
	}
	if code, _, errOut := runCLI("run", "--checks", `{"nosuch":null}`, "--data", t.TempDir()); code != 2 || !strings.Contains(errOut, "unknown check") {
		t.Errorf("run with unknown check: %d %q", code, errOut)
	}
}

func TestEnrollRefusalIsPrinted(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		json.NewEncoder(w).Encode(protocol.ErrorResponse{Error: "token expired", Code: protocol.EnrollTokenExpired})
	}))
	defer srv.Close()
	tok := protocol.Token{URL: srv.URL, Fingerprint: protocol.Fingerprint(srv.Certificate().Raw), Secret: "s"}.String()
	dir := t.TempDir()
	code, _, errOut := runCLI("enroll", "--token", tok, "--data", dir)
	if code != 1 || !strings.Contains(errOut, "enrollment refused: the token has expired") {
		t.Errorf("enroll: %d %q", code, errOut)
	}
	if _, err := agent.LoadConfig(dir); err == nil {
		t.Error("refused enrollment saved a configuration")
	}
}

func TestStatus(t *testing.T) {
	dir := t.TempDir()
	if code, out, _ := runCLI("status", "--data", dir); code != 0 || !strings.Contains(out, "Enrolled:   no") {
		t.Errorf("status unenrolled: %d %q", code, out)
	}
	if err := agent.SaveConfig(dir, agent.Config{ServerURL: "https://127.0.0.1:9", DeviceID: 17}); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI("status", "--data", dir); code != 0 || !strings.Contains(out, "Device ID:  17") || !strings.Contains(out, "has not run yet") {
		t.Errorf("status before run: %d %q", code, out)
	}
	st := agent.State{Running: true, PID: os.Getpid(), Connected: false, Revoked: true, LastError: "server refused the session (revoked): gone", SpoolLen: 12}
	b, _ := json.Marshal(st)
	if err := os.WriteFile(filepath.Join(dir, agent.StateFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	ub, _ := json.Marshal(agent.UpdateState{From: "1.0", To: "1.1", Phase: agent.PhaseRolledBack,
		Report: &protocol.UpdateReport{Message: core.Text{EN: "The new build 1.1 exited instead of connecting"}}})
	if err := os.WriteFile(filepath.Join(dir, agent.UpdateFile), ub, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI("status", "--data", dir)
	for _, want := range []string{fmt.Sprintf("running (pid %d)", os.Getpid()), "Connected:  no", "12 results waiting", "Revoked:    yes", "Last error: server refused",
		"Release key: none", "Update:     1.0 → 1.1: rolled back (The new build 1.1 exited"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("status missing %q: %d %q", want, code, out)
		}
	}
}

func TestAllowlistCommand(t *testing.T) {
	dir := t.TempDir()
	if code, out, _ := runCLI("allowlist", "--data", dir); code != 0 || !strings.Contains(out, "/usr/bin/journalctl") || !strings.Contains(out, "(none)") {
		t.Errorf("allowlist unenrolled: %d %q", code, out)
	}
	cfg := agent.Config{ServerURL: "https://127.0.0.1:9", DeviceID: 17, Allow: check.Allowlist{Executables: []string{"/opt/restic/restic"}, Paths: []string{"/srv/dumps"}}}
	if err := agent.SaveConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI("allowlist", "--data", dir); code != 0 || !strings.Contains(out, "  /opt/restic/restic\n") || !strings.Contains(out, "  /srv/dumps\n") {
		t.Errorf("allowlist: %d %q", code, out)
	}
	os.WriteFile(filepath.Join(dir, agent.ConfigFile), []byte(`{"server_url":"https://x","device_id":1,"allow":{"paths":["rel"]}}`), 0o600)
	if code, _, errOut := runCLI("allowlist", "--data", dir); code != 1 || !strings.Contains(errOut, "not an absolute path") {
		t.Errorf("bad allowlist: %d %q", code, errOut)
	}
}

func TestPurgeGuard(t *testing.T) {
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "precious.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := purgeData(other); err == nil {
		t.Error("purged a folder that is not the agent's")
	}
	if _, err := os.Stat(filepath.Join(other, "precious.txt")); err != nil {
		t.Error("foreign file deleted")
	}
	data := filepath.Join(t.TempDir(), "agent")
	if err := agent.SaveConfig(data, agent.Config{ServerURL: "https://x", DeviceID: 1}); err != nil {
		t.Fatal(err)
	}
	if err := purgeData(data); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Errorf("data folder still there: %v", err)
	}
	if err := purgeData(data); err != nil {
		t.Errorf("purging a missing folder: %v", err)
	}
}

func TestPrintTable(t *testing.T) {
	rs := []core.Result{
		{Check: "disk", Key: "/", Status: core.StatusWarning, Value: check.Float(85.24), Unit: "%",
			Message: core.Text{EN: "Disk / is 85.2 % full", DE: "Datenträger / ist zu 85,2 % belegt"}, At: time.Now()},
		{Check: "cpu", Status: core.StatusUnsupported, Message: core.Text{EN: "unsupported"}},
	}
	var en, de bytes.Buffer
	printTable(&en, rs, "en")
	printTable(&de, rs, "de")
	lines := strings.Split(strings.TrimSpace(en.String()), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "CHECK") || !strings.Contains(lines[1], "WARNING") || !strings.Contains(lines[1], "85.2 %") {
		t.Errorf("table:\n%s", en.String())
	}
	if !strings.Contains(de.String(), "85,2 %") || !strings.Contains(de.String(), "Datenträger") || !strings.Contains(de.String(), "unsupported") {
		t.Errorf("German table:\n%s", de.String())
	}
}

func TestParseChecks(t *testing.T) {
	cs, err := parseChecks(`{"memory":null,"cpu":{"window":"1s"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Name != "cpu" || cs[1].Name != "memory" {
		t.Errorf("checks %+v", cs)
	}
	if _, err := parseChecks(`{"cpu":{"warn":99,"fail":1}}`); err == nil {
		t.Error("bad params accepted")
	}
}

func TestInventoryCLI(t *testing.T) {
	code, out, errOut := runCLI("inventory", "--json")
	if code != 0 {
		t.Fatalf("inventory --json: %d %s", code, errOut)
	}
	var inv core.Inventory
	if err := json.Unmarshal([]byte(out), &inv); err != nil {
		t.Fatalf("inventory --json is not an inventory: %v", err)
	}
	if inv.Hardware.Memory.TotalBytes == 0 || inv.System.OSName == "" || inv.Software == nil {
		t.Errorf("inventory --json: %+v", inv)
	}
	if want := protocol.NormalizeInventory(inv); !reflect.DeepEqual(want, inv) {
		t.Error("inventory --json is not normalized")
	}
	// The summary lists every gap with its reason, and still exits 0.
	code, out, errOut = runCLI("inventory")
	if code != 0 {
		t.Fatalf("inventory: %d %s", code, errOut)
	}
	for _, want := range []string{"CPU:", "Memory:", "System:", fmt.Sprintf("%d programs", len(inv.Software))} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	for _, g := range inv.Missing {
		if !strings.Contains(out, "Missing:      "+g.Part+": ") {
			t.Errorf("summary lacks gap %s:\n%s", g.Part, out)
		}
	}
	if code, _, _ := runCLI("inventory", "extra"); code != 2 {
		t.Errorf("inventory with an argument: %d", code)
	}
}

func TestPrintInventoryGaps(t *testing.T) {
	var b bytes.Buffer
	inv := core.Inventory{
		Hardware: core.Hardware{Memory: core.Memory{TotalBytes: 8 << 30}, Batteries: []core.Battery{{Name: "BAT0", DesignMWh: 50000, FullChargeMWh: 30000, HealthPercent: 60}}},
		Software: []core.Program{{Name: "a"}, {Name: "b"}},
		Missing:  []core.InventoryGap{{Part: core.PartMemory, Error: "memory modules unknown: dmidecode needs root"}},
	}
	if err := printInventory(&b, inv); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Memory:       8.0 GiB in 0 modules", "BAT0 health 60%", "2 programs", "Missing:      hardware.memory: memory modules unknown: dmidecode needs root"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, b.String())
		}
	}
}
