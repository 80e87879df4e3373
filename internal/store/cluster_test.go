package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// twoNodes opens two pools on one fresh PostgreSQL schema, as two server
// nodes would.
func twoNodes(t *testing.T) (a, b *store.DB) {
	t.Helper()
	u := storetest.PostgresURL(t)
	dir := t.TempDir() // one secret.key for every node
	for _, p := range []**store.DB{&a, &b} {
		s, err := store.Open(context.Background(), u, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		*p = s
	}
	return a, b
}

// TestPublishListen: a published message, small or larger than a NOTIFY
// payload may be, reaches every listening node; a node in another schema
// (another installation) hears nothing.
func TestPublishListen(t *testing.T) {
	a, b := twoNodes(t)
	other := storetest.NewPostgres(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var mu sync.Mutex
	got := map[string][]string{}
	var wg sync.WaitGroup
	var ready sync.WaitGroup
	for name, s := range map[string]*store.DB{"a": a, "b": b, "other": other} {
		ready.Add(1)
		wg.Go(func() {
			err := s.Listen(ctx, ready.Done, func(p []byte) {
				mu.Lock()
				got[name] = append(got[name], string(p))
				mu.Unlock()
			})
			if err != nil {
				t.Errorf("%s: listen: %v", name, err)
			}
		})
	}
	ready.Wait()
	large := strings.Repeat("x", 20000)
	for _, p := range []string{"small", large} {
		if err := a.Publish(ctx, []byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, "both messages on both nodes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got["a"]) == 2 && len(got["b"]) == 2
	})
	cancel()
	wg.Wait()
	for _, n := range []string{"a", "b"} {
		if got[n][0] != "small" || got[n][1] != large {
			t.Errorf("%s got %d messages, want small then the large one", n, len(got[n]))
		}
	}
	if len(got["other"]) != 0 {
		t.Errorf("another installation heard %d messages", len(got["other"]))
	}
}

// TestListenEndsWhenItsConnectionDies: a listener whose connection the
// database server drops returns an error (the gateway then listens again),
// and a new listener hears messages again.
func TestListenEndsWhenItsConnectionDies(t *testing.T) {
	a, b := twoNodes(t)
	ctx := context.Background()
	ch, err := a.Channel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	ended := make(chan error, 1)
	go func() { ended <- a.Listen(ctx, func() { close(ready) }, func([]byte) {}) }()
	<-ready
	var killed int
	if err := b.SQL().QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1`,
		"LISTEN "+ch).Scan(&killed); err != nil || killed != 1 {
		t.Fatalf("terminating the listener: %d, %v", killed, err)
	}
	select {
	case err := <-ended:
		if err == nil {
			t.Fatal("Listen returned nil after losing its connection")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Listen did not notice its connection died")
	}
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	again, got := make(chan struct{}), make(chan string, 1)
	go a.Listen(lctx, func() { close(again) }, func(p []byte) { got <- string(p) })
	<-again
	if err := b.Publish(ctx, []byte("wieder da")); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-got:
		if p != "wieder da" {
			t.Fatalf("got %q", p)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the new listener heard nothing")
	}
}

// TestSessions: a device's session is found on its node while that node
// beats; a newer session elsewhere wins over the old node's detach; a dead
// node's sessions are forgotten.
func TestSessions(t *testing.T) {
	s, _ := twoNodes(t)
	ctx := context.Background()
	_, site, err := s.EnsureClientSite(ctx, "Cluster GmbH", "Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tok := core.EnrollmentToken{SecretHash: []byte("secret"), SiteID: site.ID}
	if err := s.CreateEnrollmentToken(ctx, &tok); err != nil {
		t.Fatal(err)
	}
	d := core.Device{Hostname: "pc1", MachineID: "m1", PublicKey: []byte("k"), OS: "linux"}
	if err := s.Enroll(ctx, []byte("secret"), &d, time.Now()); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	alive := now.Add(-time.Minute)
	for _, n := range []string{"node-a", "node-b"} {
		if err := s.NodeBeat(ctx, n, "https://"+n+".example:8443", now, alive); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.SessionNode(ctx, d.ID, alive); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("no session yet: %v, want ErrNotFound", err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.AttachSession(ctx, d.ID, "node-a"))
	must(s.AttachSession(ctx, d.ID, "node-b")) // the agent reconnected to b
	must(s.DetachSession(ctx, d.ID, "node-a")) // a notices its old session ended
	if n, u, err := s.SessionNode(ctx, d.ID, alive); n != "node-b" || u != "https://node-b.example:8443" || err != nil {
		t.Fatalf("session on %q at %q (%v), want node-b at its URL", n, u, err)
	}
	// node-b stops beating; node-a's beat a while later forgets it.
	later := now.Add(2 * time.Minute)
	must(s.NodeBeat(ctx, "node-a", "https://node-a.example:8443", later, later.Add(-time.Minute)))
	if _, _, err := s.SessionNode(ctx, d.ID, later.Add(-time.Minute)); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("session of a dead node: %v, want ErrNotFound", err)
	}
	must(s.AttachSession(ctx, d.ID, "node-a"))
	must(s.NodeLeave(ctx, "node-a"))
	if _, _, err := s.SessionNode(ctx, d.ID, alive); !errors.Is(err, core.ErrNotFound) {
		t.Fatalf("session of a node that left: %v, want ErrNotFound", err)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
