//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/mux"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/server/tlsconf"
	"github.com/wacht-rmm/wacht/internal/store"
)

// TestTerminalThroughNodeKilled: a real agent holds its session with a
// real `wacht serve` (node B); a second node A (a gateway in this test
// process, on the same database with copies of B's key files) opens a
// terminal on it through B, directly node to node. B is killed with
// SIGKILL mid-session: A's stream ends with connection_lost in English and
// German, nothing on A hangs or stays behind, the agent ends the shell,
// and a new stream through A is refused as offline.
func TestTerminalThroughNodeKilled(t *testing.T) {
	db := freshDatabase(t)
	lb := newBalancer(t)
	public := lb.ln.Addr().String()
	dataB, dataA := t.TempDir(), t.TempDir()
	b := startNode(t, dataB, db, public)
	lb.backends = []string{b.addr}
	for _, f := range []string{"secret.key", "action.key"} {
		k, err := os.ReadFile(filepath.Join(dataB, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dataA, f), k, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	enroll := strings.TrimSpace(mustRun(t, nil, "wacht", "token", "create", "--create", "--data", dataB, "--db", db,
		"--client", "Müller GmbH", "--site", "Hannover", "--url", "https://"+public))
	adir := t.TempDir()
	mustRun(t, nil, "wacht-agent", "enroll", "--data", adir, "--token", enroll, "--new-device")
	start(t, "wacht-agent", "run", "--data", adir, "--interval", "1h")

	// Node A.
	ctx := context.Background()
	st, err := store.Open(ctx, db, dataA)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	box, err := seal.ReadKey(filepath.Join(dataA, seal.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := actionkey.Load(filepath.Join(dataA, actionkey.File), nil)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := tlsconf.FingerprintFile(filepath.Join(dataB, "tls", tlsconf.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	gw := gateway.New(gateway.Options{Store: st, ActionKey: signer, Log: slog.New(slog.DiscardHandler), Cluster: st,
		Relay: gateway.RelayOptions{URL: "https://127.0.0.1:1", Key: box.Derive("cluster-relay"), TLS: tlsconf.PeerConfig(fp, "")}})
	defer func() {
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		gw.Hub().Shutdown(sctx)
	}()
	hub := gw.Hub()
	var id int64
	var lastErr error
	waitFor(t, "the agent reachable through node A", 3*time.Minute, func() bool {
		devs, err := st.ListDevices(ctx)
		if err != nil || len(devs) != 1 {
			return false
		}
		id = devs[0].ID
		var list struct{ Entries []json.RawMessage }
		lastErr = hub.Do(ctx, id, protocol.ActionFilesList, protocol.FilesListArgs{Path: adir}, &list)
		if lastErr != nil {
			t.Logf("files-list through node A: %v", lastErr)
		}
		return lastErr == nil && len(list.Entries) > 0
	})

	before := runtime.NumGoroutine()
	t.Setenv("HOME", t.TempDir())
	s, err := hub.OpenStream(ctx, id, protocol.StreamTerminal, protocol.TerminalArgs{Shell: "sh"})
	if err != nil {
		t.Fatal(err)
	}
	var meta protocol.TerminalOpened
	if err := json.Unmarshal(s.Meta, &meta); err != nil || meta.PID <= 0 {
		t.Fatalf("terminal meta %s: %v", s.Meta, err)
	}
	var mu sync.Mutex
	var out bytes.Buffer
	ended := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := s.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				ended <- err
				return
			}
		}
	}()
	if _, err := s.Write(protocol.AppendTermInput(nil, []byte("echo 'Grü''ße' $((6*7))\r"))); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the shell's answer through node A", time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return strings.Contains(out.String(), "Grüße 42\r\n")
	})
	if gone(meta.PID) {
		t.Fatalf("shell %d not running", meta.PID)
	}

	b.proc.stop(t, syscall.SIGKILL)
	select {
	case err := <-ended:
		var ce *mux.CloseError
		if !errors.As(err, &ce) || ce.Code != mux.CodeConnectionLost || ce.Message.EN == "" || ce.Message.DE == "" {
			t.Fatalf("terminal through node A after B was killed: %v, want connection_lost in English and German", err)
		}
		t.Logf("A's stream ended: %v / %s", err, ce.Message.DE)
	case <-time.After(time.Minute):
		t.Fatal("A's stream did not end after B was killed")
	}
	if _, err := s.Write([]byte("x")); err == nil {
		t.Error("write after B died succeeded")
	}
	s.Close()
	waitFor(t, "the agent to end the shell", time.Minute, func() bool { return gone(meta.PID) })
	waitFor(t, "node A's goroutines to settle", time.Minute, func() bool { return runtime.NumGoroutine() <= before })

	// B's row is still fresh, its port closed: refused as offline at once.
	octx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if _, err := hub.OpenStream(octx, id, protocol.StreamTerminal, protocol.TerminalArgs{}); !errors.Is(err, core.ErrOffline) || octx.Err() != nil {
		t.Errorf("stream after B died: %v, want ErrOffline", err)
	}
}

// gone reports whether pid has exited (a zombie counts as exited).
func gone(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) == 0 || f[0] == "Z"
}
