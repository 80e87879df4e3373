package e2e

import (
	"crypto/rand"
	"crypto/tls"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"

	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// freshDatabase creates an empty PostgreSQL database of its own on the
// server at $WACHT_TEST_POSTGRES (advisory locks and notifications are
// per database, so two clusters under test must not share one) and drops
// it when the test ends. It skips without the variable, except in CI.
func freshDatabase(t *testing.T) string {
	t.Helper()
	base := os.Getenv(storetest.PostgresEnv)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set in CI", storetest.PostgresEnv)
		}
		t.Skipf("%s not set", storetest.PostgresEnv)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "wacht_e2e_" + hex.EncodeToString(b) // hex only: identifiers cannot be bound
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		admin.Close()
		t.Fatalf("creating database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("dropping database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}

// balancer is a TCP load balancer on loopback: each new connection goes
// to the next backend that accepts it (round robin), or only to the one
// pinned backend.
type balancer struct {
	ln       net.Listener
	backends []string
	mu       sync.Mutex
	next     int
	pin      int // -1: round robin
}

func newBalancer(t *testing.T) *balancer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &balancer{ln: ln, pin: -1}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go b.proxy(c)
		}
	}()
	return b
}

func (b *balancer) setPin(i int) {
	b.mu.Lock()
	b.pin = i
	b.mu.Unlock()
}

// order is the backends to try for a new connection.
func (b *balancer) order() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.pin >= 0 {
		return []string{b.backends[b.pin]}
	}
	var out []string
	for i := range b.backends {
		out = append(out, b.backends[(b.next+i)%len(b.backends)])
	}
	b.next++
	return out
}

func (b *balancer) proxy(c net.Conn) {
	defer c.Close()
	for _, addr := range b.order() {
		up, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			continue // dead backend: the next one
		}
		defer up.Close()
		done := make(chan struct{}, 2)
		go func() { io.Copy(up, c); done <- struct{}{} }()
		go func() { io.Copy(c, up); done <- struct{}{} }()
		<-done // either side ended: close both
		return
	}
}

var nodeRE = regexp.MustCompile(`msg="?joined the cluster"?.* node=([0-9a-f-]+)`)

// clusterNode is one `wacht serve` of the cluster.
type clusterNode struct {
	*env
	proc *proc
	id   string
}

func startNode(t *testing.T, data, db, public string) *clusterNode {
	t.Helper()
	p := start(t, "wacht", "serve", "--data", data, "--listen", "127.0.0.1:0", "--db", db, "--url", "https://"+public)
	n := &clusterNode{env: &env{t: t, data: data}, proc: p}
	waitFor(t, "the node to listen and join", 30*time.Second, func() bool {
		out := p.output()
		select {
		case <-p.done:
			t.Fatalf("server exited:\n%s", out)
		default:
		}
		m, j := listenRE.FindStringSubmatch(out), nodeRE.FindStringSubmatch(out)
		if m == nil || j == nil {
			return false
		}
		n.addr, n.id = m[1], j[1]
		return true
	})
	return n
}

// TestTwoNodes: two real server nodes on one PostgreSQL database behind a
// TCP load balancer, agents on both. A command and a policy change given to
// node A reach an agent connected to node B; node A is killed: its agents
// reconnect to B through the balancer, commands reach them, and the
// server-side website checks, which A led, go on on B.
func TestTwoNodes(t *testing.T) {
	t.Parallel()
	db := freshDatabase(t)
	lb := newBalancer(t)
	public := lb.ln.Addr().String()

	dataA, dataB := t.TempDir(), t.TempDir()
	a := startNode(t, dataA, db, public)
	// Every node needs the same certificate (agents pin it), the same key
	// for sealed secrets and the same action key (agents pin it too).
	for _, f := range []string{"tls/cert.pem", "tls/key.pem", "secret.key", "action.key"} {
		b, err := os.ReadFile(filepath.Join(dataA, f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dataB, f)), 0o700)
		if err := os.WriteFile(filepath.Join(dataB, f), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	b := startNode(t, dataB, db, public)
	lb.backends = []string{a.addr, b.addr}

	pw := []string{"WACHT_PASSWORD=correct horse battery"}
	mustRun(t, pw, "wacht", "user", "add", "--data", dataA, "--db", db, "--email", "admin@example.com", "--role", "admin")
	token := strings.TrimSpace(mustRun(t, nil, "wacht", "apitoken", "create", "--data", dataA, "--db", db, "--user", "admin@example.com"))
	for _, n := range []*clusterNode{a, b} {
		n.apiToken = token
		n.http = &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	}
	enroll := strings.TrimSpace(mustRun(t, nil, "wacht", "token", "create", "--create", "--data", dataA, "--db", db,
		"--client", "Müller GmbH", "--site", "Hannover", "--url", "https://"+public))
	// Quick checks only: the built-in template's services check runs every
	// init script's status on a host without systemd, and four agents doing
	// that every 2 s can keep run-checks past the command timeout.
	fast := a.createPolicy(`{"name":"E2E quick","checks":[{"name":"cpu","type":"cpu","params":{"window":"200ms"}},{"name":"memory","type":"memory","params":{"window":"0s"}},
		{"name":"services","exclude":true},{"name":"eventlog","exclude":true},{"name":"logins","exclude":true},{"name":"smart","exclude":true},{"name":"antivirus","exclude":true}]}`)
	a.assign("/api/v1/default/policies", fast)

	sessions := func() map[int64]string {
		conn, err := sql.Open("pgx", db)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		rows, err := conn.Query(`SELECT device_id, node_id FROM agent_sessions`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[int64]string{}
		for rows.Next() {
			var id int64
			var node string
			rows.Scan(&id, &node)
			m[id] = node
		}
		return m
	}
	on := func(node string) []int64 {
		var ids []int64
		for id, n := range sessions() {
			if n == node {
				ids = append(ids, id)
			}
		}
		return ids
	}
	// Two agents on each node: the balancer is pinned while they connect.
	for i, n := range []*clusterNode{a, b} {
		lb.setPin(i)
		for j := range 2 {
			dir := t.TempDir()
			mustRun(t, nil, "wacht-agent", "enroll", "--data", dir, "--token", enroll, "--new-device")
			start(t, "wacht-agent", "run", "--data", dir, "--interval", "2s")
			waitFor(t, fmt.Sprintf("agent %d on node %d", j, i), 60*time.Second, func() bool { return len(on(n.id)) == j+1 })
		}
	}
	lb.setPin(-1)
	onA, onB := on(a.id), on(b.id)

	// A command through A's API reaches an agent on B.
	if code := a.api("POST", fmt.Sprintf("/api/v1/devices/%d/run-checks", onB[0]), nil); code != http.StatusOK {
		t.Fatalf("run-checks through node A on an agent of node B: HTTP %d", code)
	}
	// A policy change through A reaches it within seconds (the periodic
	// resync is minutes away).
	extra := a.createPolicy(`{"name":"E2E cluster","checks":[{"name":"memory-cluster","type":"memory","params":{"window":"0s"}}]}`)
	a.assign("/api/v1/default/policies", fast, extra)
	waitFor(t, "the new check's result from the agent on B", 60*time.Second, func() bool {
		return !latest(a.checkStates(onB[0]), "memory-cluster").IsZero()
	})

	// A website check of a network device without a probe: the leading
	// node (A, started first) runs it.
	var hits atomic.Int32
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("Willkommen"))
	}))
	defer site.Close()
	var devs []struct {
		SiteID int64 `json:"site_id"`
	}
	a.api("GET", "/api/v1/devices", &devs)
	// The test site is on the server's own loopback, which server-run
	// checks reach only when an administrator allows the exact address.
	if code, resp := a.send("PUT", "/api/v1/settings/server-checks", json.RawMessage(`{"allow":["127.0.0.1/32"]}`), nil); code != http.StatusOK {
		t.Fatalf("allowing 127.0.0.1 for server-run checks: %d %s", code, resp)
	}
	body := fmt.Sprintf(`{"name":"Shop","address":"127.0.0.1","type":"website","checks":[{"name":"shop","type":"website","params":{"url":%q,"contains":"Willkommen"}}]}`, site.URL+"/")
	if code, resp := a.send("POST", fmt.Sprintf("/api/v1/sites/%d/network-devices", devs[0].SiteID), json.RawMessage(body), nil); code != http.StatusCreated {
		t.Fatalf("creating the website: %d %s", code, resp)
	}
	waitFor(t, "node A to run the website check", 90*time.Second, func() bool { return hits.Load() > 0 })
	if !strings.Contains(a.proc.output(), "job=server-checks") || strings.Contains(b.proc.output(), "job=server-checks") {
		t.Fatal("node A should lead the server-side checks, node B not")
	}

	// Kill A. Its agents come back through the balancer to B; commands
	// reach them; B takes over the website checks.
	before := hits.Load()
	a.proc.stop(t, syscall.SIGKILL)
	waitFor(t, "A's agents to reconnect to B", 90*time.Second, func() bool { return len(on(b.id)) == 4 })
	for _, id := range onA {
		if code := b.api("POST", fmt.Sprintf("/api/v1/devices/%d/run-checks", id), nil); code != http.StatusOK {
			t.Errorf("run-checks on device %d after failover: HTTP %d", id, code)
		}
	}
	waitFor(t, "node B to lead and run the website check", 60*time.Second, func() bool {
		return hits.Load() > before && strings.Contains(b.proc.output(), "job=server-checks")
	})
	// The balancer's health check: B answers, without credentials.
	resp, err := b.http.Get("https://" + b.addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz on B: %d", resp.StatusCode)
	}
	t.Logf("agents on A %v moved to B (%v before); website checked %d times", onA, onB, hits.Load())
}

// insecureTLS is for the test's API client: the nodes' certificate is
// self-signed.
func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }
