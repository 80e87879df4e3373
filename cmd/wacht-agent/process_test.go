//go:build unix

package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// miniServer acks every batch and records what it got.
type miniServer struct {
	pub    ed25519.PublicKey
	mu     sync.Mutex
	ids    map[string]bool
	closes []websocket.StatusCode
	auths  []protocol.Auth // every verified auth
}

func (m *miniServer) authsSeen() []protocol.Auth {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]protocol.Auth(nil), m.auths...)
}

func (m *miniServer) got() (n int, ids map[string]bool, closes []websocket.StatusCode) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp := map[string]bool{}
	for k := range m.ids {
		cp[k] = true
	}
	return len(m.ids), cp, append([]websocket.StatusCode(nil), m.closes...)
}

func (m *miniServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(protocol.MaxMessageBytes) // as the server: the agent's inventory is larger than the default
	ctx := r.Context()
	send := func(typ, id string, data any) {
		b, _ := protocol.Encode(typ, id, data)
		c.Write(ctx, websocket.MessageText, b)
	}
	read := func() (protocol.Envelope, error) {
		_, b, err := c.Read(ctx)
		if err != nil {
			m.mu.Lock()
			m.closes = append(m.closes, websocket.CloseStatus(err))
			m.mu.Unlock()
			return protocol.Envelope{}, err
		}
		return protocol.Decode(b)
	}
	nonce := make([]byte, 32)
	rand.Read(nonce)
	send(protocol.TypeChallenge, "", protocol.Challenge{Nonce: nonce})
	env, err := read()
	var auth protocol.Auth
	if err != nil || protocol.DecodeData(env, &auth) != nil || !protocol.VerifyAuth(m.pub, nonce, auth.DeviceID, auth.Signature) {
		return
	}
	m.mu.Lock()
	m.auths = append(m.auths, auth)
	m.mu.Unlock()
	send(protocol.TypeWelcome, "", protocol.Welcome{DeviceID: auth.DeviceID, HeartbeatSeconds: 30})
	for {
		env, err := read()
		if err != nil {
			return
		}
		if env.Type == protocol.TypeResults {
			var rs protocol.Results
			if protocol.DecodeData(env, &rs) != nil {
				return
			}
			m.mu.Lock()
			for _, r := range rs.Results {
				m.ids[r.ID] = true
			}
			m.mu.Unlock()
			send(protocol.TypeAck, env.ID, protocol.Ack{Stored: len(rs.Results)})
		}
	}
}

// TestRunProcess runs the real binary against a loopback server, stops it
// with SIGTERM and proves that every traced result reached the server or is
// still spooled, and that the websocket was closed normally.
func TestRunProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "wacht-agent")
	build := exec.Command("go", "build", "-o", bin, "-ldflags", "-X main.version=9.9.9-test", ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	if out, _ := exec.Command(bin, "version").Output(); !strings.Contains(string(out), "9.9.9-test") {
		t.Errorf("version %q does not carry the ldflags version", out)
	}

	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	ms := &miniServer{pub: pub, ids: map[string]bool{}}
	srv := httptest.NewTLSServer(ms)
	defer srv.Close()
	data := filepath.Join(tmp, "data")
	if err := agent.SaveKey(data, key); err != nil {
		t.Fatal(err)
	}
	if err := agent.SaveConfig(data, agent.Config{ServerURL: srv.URL, Fingerprint: protocol.Fingerprint(srv.Certificate().Raw), DeviceID: 5}); err != nil {
		t.Fatal(err)
	}
	trace := filepath.Join(tmp, "trace.txt")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "run", "--data", data, "--interval", "1s", "--trace-results", trace,
		"--checks", `{"cpu":{"window":"100ms"},"memory":null}`)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		if n, _, _ := ms.got(); n >= 6 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("server got too few results; agent log:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out, _ := exec.Command(bin, "status", "--data", data).Output(); !strings.Contains(string(out), "Connected:  yes") {
		t.Errorf("status while running:\n%s", out)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("agent exit: %v\n%s", err, stderr.String())
	}

	_, got, closes := ms.got()
	sp, err := agent.OpenSpool(filepath.Join(data, agent.SpoolFile), agent.SpoolLimits{})
	if err != nil {
		t.Fatal(err)
	}
	left, err := sp.Batch(0)
	sp.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range left {
		got[r.ID] = true
	}
	f, err := os.Open(trace)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	traced := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		traced++
		if !got[sc.Text()] {
			t.Errorf("result %s was produced but neither delivered nor spooled", sc.Text())
		}
	}
	if traced < 6 {
		t.Errorf("only %d results traced", traced)
	}
	if len(closes) != 1 || closes[0] != websocket.StatusNormalClosure {
		t.Errorf("close statuses %v, want one normal closure", closes)
	}
	if out, _ := exec.Command(bin, "status", "--data", data).Output(); !strings.Contains(string(out), "not running") {
		t.Errorf("status after stop:\n%s", out)
	}
	statusAfterPIDReuse(t, bin, data)
}

// statusAfterPIDReuse: the agent was killed and another process got its
// PID; status must not call that process the agent.
func statusAfterPIDReuse(t *testing.T, bin, data string) {
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Skip("no sleep(1):", err)
	}
	defer func() { other.Process.Kill(); other.Wait() }()
	path := filepath.Join(data, agent.StateFile)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var st map[string]any
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	st["running"], st["pid"] = true, other.Process.Pid
	if b, err = json.Marshal(st); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(bin, "status", "--data", data).Output()
	if !strings.Contains(string(out), "not running") {
		t.Errorf("status with the agent's PID reused by sleep(1):\n%s", out)
	}
}

func TestStatusStalePID(t *testing.T) {
	p := exec.Command("true")
	if err := p.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	var b strings.Builder
	printState(&b, agent.State{Running: true, PID: p.Process.Pid, Connected: true})
	if !strings.Contains(b.String(), "ended without stopping cleanly") || !strings.Contains(b.String(), "Connected:  no") {
		t.Errorf("stale state shown as live:\n%s", b.String())
	}
}
