package store_test

import (
	"context"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/clock"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// Each node runs on its own fake clock, an hour apart: the lease counts
// durations on each node, never compares their clocks.
var (
	clockA = time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC)
	clockB = clockA.Add(time.Hour)
)

// leaders records who runs the job and fails the test if two do at once.
type leaders struct {
	t       *testing.T
	mu      sync.Mutex
	running map[string]bool
	ended   map[string]int
}

func newLeaders(t *testing.T) *leaders {
	return &leaders{t: t, running: map[string]bool{}, ended: map[string]int{}}
}

func (l *leaders) job(name string) func(context.Context) {
	return func(ctx context.Context) {
		l.mu.Lock()
		for other := range l.running {
			l.t.Errorf("%s leads while %s leads", name, other)
		}
		l.running[name] = true
		l.mu.Unlock()
		<-ctx.Done()
		l.mu.Lock()
		delete(l.running, name)
		l.ended[name]++
		l.mu.Unlock()
	}
}

func (l *leaders) state() (running []string, ended map[string]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for n := range l.running {
		running = append(running, n)
	}
	e := map[string]int{}
	for n, c := range l.ended {
		e[n] = c
	}
	return running, e
}

func (l *leaders) leads(name string) bool {
	r, _ := l.state()
	return len(r) == 1 && r[0] == name
}

// pgProxy stands between one node and PostgreSQL on loopback and breaks
// the network the way a partition does: cut closes every connection and
// refuses new ones, freeze lets every connection hang.
type pgProxy struct {
	ln       net.Listener
	target   string
	released chan struct{} // frozen traffic waits for it (the end of the test)
	mu       sync.Mutex
	conns    []net.Conn
	frozen   bool
}

func newPGProxy(t *testing.T, target string) *pgProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &pgProxy{ln: ln, target: target, released: make(chan struct{})}
	t.Cleanup(func() { close(p.released); p.cut() })
	go p.serve()
	return p
}

func (p *pgProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		go p.forward(c)
	}
}

func (p *pgProxy) forward(c net.Conn) {
	if !p.track(c) {
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(up) {
		return
	}
	go p.pipe(up, c)
	p.pipe(c, up)
}

// track remembers c for cut, or holds it if frozen; false if c is done.
func (p *pgProxy) track(c net.Conn) bool {
	p.mu.Lock()
	p.conns = append(p.conns, c)
	frozen := p.frozen
	p.mu.Unlock()
	if frozen {
		<-p.released
		c.Close()
		return false
	}
	return true
}

// pipe copies from src to dst until either closes; frozen data is dropped
// and the copy waits for the end of the test.
func (p *pgProxy) pipe(dst, src net.Conn) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		p.mu.Lock()
		frozen := p.frozen
		p.mu.Unlock()
		if frozen {
			<-p.released
			return
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *pgProxy) freeze() {
	p.mu.Lock()
	p.frozen = true
	p.mu.Unlock()
}

func (p *pgProxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// leaseNodes opens two nodes on one fresh PostgreSQL schema, node a
// through a proxy that the test can cut or freeze, each on its own fake
// clock.
func leaseNodes(t *testing.T) (a, b *store.DB, ca, cb *clock.Fake, proxy *pgProxy) {
	t.Helper()
	u := storetest.PostgresURL(t)
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	target := pu.Host
	if !strings.Contains(target, ":") {
		target += ":5432"
	}
	proxy = newPGProxy(t, target)
	pu.Host = proxy.ln.Addr().String()
	dir := t.TempDir() // one secret.key for every node
	open := func(u string, c *clock.Fake) *store.DB {
		s, err := store.Open(context.Background(), u, dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		s.SetClock(c)
		return s
	}
	ca, cb = clock.NewFake(clockA), clock.NewFake(clockB)
	return open(pu.String(), ca), open(u, cb), ca, cb, proxy
}

// settle waits until a node has armed pending timers on its clock: a node
// that does not lead waits on one (its next look at the lease), a leader
// on two (its next renewal and its deadline), a leader whose renewal hangs
// on one (its deadline).
func settle(t *testing.T, c *clock.Fake, pending int, what string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := c.WaitPending(ctx, pending); err != nil {
		t.Fatalf("waiting for %s (%d timers pending, want %d): %v", what, c.Pending(), pending, err)
	}
}

// term reads the lease's term from the database: it grows when a node
// takes the lease over.
func term(t *testing.T, s *store.DB, job string) int64 {
	t.Helper()
	var n int64
	if err := s.SQL().QueryRow(`SELECT term FROM cluster_leases WHERE job = $1`, job).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestLeadFencedWhenTheLeaderIsCutOff: the leader's database connection
// dies, or hangs; the leader's job stops leaseHold after its last renewal
// was sent even though no statement answers, and the other node takes
// over only once it has seen the lease unchanged for leaseTTL — later, so
// the two never run the job at once. Time moves only when the test moves
// the nodes' clocks, in renewal steps, one node after the other.
func TestLeadFencedWhenTheLeaderIsCutOff(t *testing.T) {
	for _, mode := range []string{"connection dies", "connection hangs"} {
		t.Run(mode, func(t *testing.T) {
			const job = "server-checks"
			a, b, ca, cb, proxy := leaseNodes(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			l := newLeaders(t)
			var wg sync.WaitGroup
			defer wg.Wait()
			defer proxy.cut() // ends statements that hang before the nodes stop
			defer cancel()
			wg.Go(func() { a.Lead(ctx, job, l.job("a")) })
			waitUntil(t, "a to lead", func() bool { return l.leads("a") })
			settle(t, ca, 2, "a to wait for its first renewal")
			wg.Go(func() { b.Lead(ctx, job, l.job("b")) })
			settle(t, cb, 1, "b to see the lease")
			first := term(t, b, job)

			// A healthy leader renews; the other node keeps seeing new beats
			// and never takes over, however long it waits.
			for range 8 {
				ca.Advance(store.LeaseRenew)
				settle(t, ca, 2, "a to renew")
				cb.Advance(store.LeaseRenew)
				settle(t, cb, 1, "b to look again")
			}
			if !l.leads("a") || term(t, b, job) != first {
				running, _ := l.state()
				t.Fatalf("a healthy leader lost its lease: running %v", running)
			}

			// a's last renewal that succeeded was sent at lastRenewal (a's
			// clock); b saw its beat at seen (b's clock), after it was sent.
			lastRenewal, seen := ca.Now(), cb.Now()
			if mode == "connection dies" {
				proxy.cut()
			} else {
				proxy.freeze()
			}
			stopAt := lastRenewal.Add(store.LeaseHold)
			takeAt := seen.Add(store.LeaseTTL)
			for step := 1; ; step++ {
				ca.Advance(store.LeaseRenew)
				if ca.Now().Before(stopAt) {
					if mode == "connection dies" {
						settle(t, ca, 2, "a to fail to renew and wait for its next try")
					} else {
						settle(t, ca, 1, "a's renewal to hang")
					}
					if !l.leads("a") {
						t.Fatalf("step %d: a stopped before its lease ended", step)
					}
				} else {
					// The deadline fired inside Advance: the job's context
					// has ended, and the job returns.
					waitUntil(t, "a's job to stop at its deadline", func() bool {
						_, ended := l.state()
						return ended["a"] == 1
					})
				}
				cb.Advance(store.LeaseRenew)
				if cb.Now().Before(takeAt) {
					settle(t, cb, 1, "b to look again")
					if n := term(t, b, job); n != first {
						t.Fatalf("step %d: b took over at %v, before the lease it saw at %v expired",
							step, cb.Now().Sub(seen), seen.Sub(clockB))
					}
					continue
				}
				waitUntil(t, "b to take over", func() bool { return l.leads("b") })
				if n := term(t, b, job); n != first+1 {
					t.Errorf("term %d after the takeover, want %d", n, first+1)
				}
				if _, ended := l.state(); ended["a"] != 1 {
					t.Errorf("b leads while a's job has not ended")
				}
				return
			}
		})
	}
}

// TestLeadHandsOverOnShutdown: a leader that shuts down gives its lease
// back after its job returned, and the other node takes over at its next
// look, without waiting for the lease to expire.
func TestLeadHandsOverOnShutdown(t *testing.T) {
	const job = "server-checks"
	a, b, ca, cb, _ := leaseNodes(t)
	l := newLeaders(t)
	ctxA, stopA := context.WithCancel(context.Background())
	defer stopA()
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	doneA := make(chan struct{})
	go func() { a.Lead(ctxA, job, l.job("a")); close(doneA) }()
	waitUntil(t, "a to lead", func() bool { return l.leads("a") })
	settle(t, ca, 2, "a to wait for its first renewal")
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopB()
	wg.Go(func() { b.Lead(ctxB, job, l.job("b")) })
	settle(t, cb, 1, "b to see the lease")
	first := term(t, b, job)

	stopA()
	<-doneA
	if _, ended := l.state(); ended["a"] != 1 {
		t.Fatal("a's job did not end with its node")
	}
	cb.Advance(store.LeaseRenew)
	waitUntil(t, "b to take over", func() bool { return l.leads("b") })
	if n := term(t, b, job); n != first+1 {
		t.Errorf("term %d, want %d", n, first+1)
	}
}

// TestLeadOnSQLite: a single node simply runs the job, again when it
// returns early.
func TestLeadOnSQLite(t *testing.T) {
	s := storetest.NewSQLite(t)
	c := clock.NewFake(clockA)
	s.SetClock(c)
	ctx, cancel := context.WithCancel(context.Background())
	runs := make(chan struct{})
	done := make(chan struct{})
	go func() {
		s.Lead(ctx, "job", func(context.Context) { runs <- struct{}{} })
		close(done)
	}()
	<-runs
	settle(t, c, 1, "the pause after a run that returned early")
	c.Advance(store.LeaseRenew)
	<-runs
	cancel()
	<-done
}
