//go:build linux

package web

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/agent/agenttest"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// wsTerm is a terminal websocket as a benchmark drives it: output is
// collected as it arrives.
type wsTerm struct {
	tb   testing.TB
	c    *websocket.Conn
	mu   sync.Mutex
	cond *sync.Cond
	out  []byte
	err  error
}

func dialTerm(tb testing.TB, ctx context.Context, base string, b *browser, id int64) *wsTerm {
	tb.Helper()
	u := "wss" + strings.TrimPrefix(base, "https") + fmt.Sprintf("/devices/%d/terminal/ws?shell=sh&rows=40&cols=120", id)
	c, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: b.c, HTTPHeader: http.Header{"Origin": {base}}})
	if err != nil {
		tb.Fatal(err)
	}
	c.SetReadLimit(1 << 20)
	t := &wsTerm{tb: tb, c: c}
	t.cond = sync.NewCond(&t.mu)
	go func() {
		for {
			typ, data, err := c.Read(context.Background())
			t.mu.Lock()
			if err != nil {
				t.err = err
			} else if typ == websocket.MessageBinary {
				t.out = append(t.out, data...)
			}
			t.cond.Broadcast()
			t.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	tb.Cleanup(func() { c.CloseNow() })
	return t
}

func (t *wsTerm) send(keys string) {
	if err := t.c.Write(context.Background(), websocket.MessageBinary, append([]byte{'i'}, keys...)); err != nil {
		t.tb.Error(err)
	}
}

// waitFrom waits until s appears in the output at or after from and
// returns the offset after it. The output is dropped up to there, and
// while s is missing all but its length, so that a flood does not
// accumulate in the client (the benchmark measures the server's memory).
func (t *wsTerm) waitFrom(from int, s string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	for {
		if i := bytes.Index(t.out[min(from, len(t.out)):], []byte(s)); i >= 0 {
			t.out = append(t.out[:0], t.out[from+i+len(s):]...)
			return 0
		}
		if keep := len(s); len(t.out) > keep {
			t.out = append(t.out[:0], t.out[len(t.out)-keep:]...)
		}
		if t.err != nil {
			t.tb.Fatalf("waiting for %q: %v; output %q", s, t.err, t.out)
		}
		t.cond.Wait()
	}
}

// ready waits for the shell, then turns it into cat: every key is echoed
// by the terminal itself from then on.
func (t *wsTerm) ready() {
	t.send("echo 'RE''ADY'\r")
	t.waitFrom(0, "READY\r\n")
	t.send("exec cat\r")
	t.waitFrom(0, "exec cat\r\n")
}

// echo types a key and waits for its echo, then erases it (DEL echoes as
// "\b \b") and waits for that: two round trips.
func (t *wsTerm) echo(lat *[]time.Duration) {
	start := time.Now()
	t.send("a")
	t.waitFrom(0, "a")
	mid := time.Now()
	t.send("\x7f")
	t.waitFrom(0, "\b \b")
	*lat = append(*lat, mid.Sub(start), time.Since(mid))
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1)]
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkTerminalEcho: a keystroke's round trip from the websocket
// through the server and the agent's stream to the PTY and back (the
// terminal's own echo), on loopback with an in-process agent.
func BenchmarkTerminalEcho(b *testing.B) {
	f := newTermFixture(b)
	br := (&fixture{srv: f.srv}).browser(b, "en")
	br.login("tech@example.com", testPassword)
	t := dialTerm(b, context.Background(), f.srv.URL, br, f.dev)
	t.ready()
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t.echo(&lat)
	}
	b.ReportMetric(msf(quantile(lat, 0.5)), "p50-ms")
	b.ReportMetric(msf(quantile(lat, 0.99)), "p99-ms")
}

// rss returns the process's resident set in MiB (VmRSS).
func rss() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// liveHeap is the heap the last GC found live, in MiB: unlike RSS it
// leaves out the garbage GOGC lets grow between collections.
func liveHeap() float64 {
	s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return float64(s[0].Value.Uint64()) / (1 << 20)
}

func heap() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / (1 << 20)
}

// BenchmarkTerminals100 opens 100 terminals on one server node (25 real
// in-process agents, 4 terminals each, 13 technicians) while
// $WACHT_BENCH_SIM_AGENTS (default 10,000) simulated agents of
// wacht-loadsim, a separate process, are held by the same node; it
// reports the process's memory (server, the 25 agents and the 100
// websocket clients together), the echo round trip with all 100
// terminals typing at once, and memory while all 100 run `yes`. One
// iteration is the whole run.
func BenchmarkTerminals100(b *testing.B) {
	sims := 10000
	if v := os.Getenv("WACHT_BENCH_SIM_AGENTS"); v != "" {
		sims, _ = strconv.Atoi(v)
	}
	// Built before the fixture points HOME (and so the build cache)
	// elsewhere.
	bin := filepath.Join(b.TempDir(), "wacht-loadsim")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/wacht-rmm/wacht/cmd/wacht-loadsim").CombinedOutput(); err != nil {
		b.Fatalf("building wacht-loadsim: %v\n%s", err, out)
	}
	f := newTermFixture(b)
	ctx := context.Background()
	c, site, err := f.st.EnsureClientSite(ctx, "Müller GmbH", "Zentrale")
	if err != nil {
		b.Fatal(err)
	}
	if sims > 0 {
		startLoadsim(b, f, bin, site.ID, sims)
	}
	base := rss()
	baseHeap := heap()
	agents := make([]int64, 25)
	for i := range agents {
		agents[i] = agenttest.Start(b, f.st, f.gw, f.srv, site.ID, agenttest.Options{})
	}
	h, _ := auth.HashPassword(testPassword)
	var users []*browser
	for i := range 13 {
		u := core.User{Email: fmt.Sprintf("t%d@example.com", i), PasswordHash: h, Role: core.RoleTechnician, Scope: core.Only(c.ID)}
		if err := f.st.CreateUser(ctx, &u); err != nil {
			b.Fatal(err)
		}
		br := (&fixture{srv: f.srv}).browser(b, "en")
		br.login(u.Email, testPassword)
		users = append(users, br)
	}
	withAgents := rss()
	terms := make([]*wsTerm, 100)
	var wg sync.WaitGroup
	for i := range terms {
		terms[i] = dialTerm(b, ctx, f.srv.URL, users[i/8], agents[i/4])
		wg.Go(func() {
			terms[i].send("echo 'RE''ADY'\r")
			terms[i].waitFrom(0, "READY\r\n")
		})
	}
	wg.Wait()
	open := rss()
	openHeap := heap()

	// Every terminal floods its output; the clients read all of it.
	for _, t := range terms {
		t.send("yes | head -c 2000000; echo 'DO''NE'\r")
	}
	peak, peakLive := open, liveHeap()
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
				peak, peakLive = max(peak, rss()), max(peakLive, liveHeap())
			}
		}
	}()
	floodStart := time.Now()
	for _, t := range terms {
		wg.Go(func() { t.waitFrom(0, "DONE\r\n") })
	}
	wg.Wait()
	flood := time.Since(floodStart)
	close(done)
	<-sampled

	for _, t := range terms {
		wg.Go(func() {
			t.send("exec cat\r")
			t.waitFrom(0, "exec cat\r\n")
		})
	}
	wg.Wait()
	lats := make([][]time.Duration, len(terms))
	b.ResetTimer()
	for b.Loop() {
		for i, t := range terms {
			wg.Go(func() {
				for range 20 {
					t.echo(&lats[i])
				}
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	b.ReportMetric(float64(sims), "sim-agents")
	b.ReportMetric(msf(quantile(all, 0.5)), "echo-p50-ms")
	b.ReportMetric(msf(quantile(all, 0.99)), "echo-p99-ms")
	b.ReportMetric(base, "rss-held-MiB")
	b.ReportMetric(openHeap-baseHeap, "heap-25-agents+100-terms-MiB")
	b.ReportMetric(peak-open, "rss-yes-growth-MiB")
	b.ReportMetric(peakLive-openHeap, "live-heap-yes-growth-MiB")
	b.ReportMetric(200/flood.Seconds(), "yes-MB/s")
	b.Logf("RSS: %d simulated agents held %.0f MiB; +25 agents and 13 sessions %.0f MiB; +100 terminals %.0f MiB; peak during yes %.0f MiB (%v for 100 × 2 MB); heap in use (after GC) %.0f → %.0f MiB, live heap at most %.0f MiB during yes",
		sims, base, withAgents, open, peak, flood.Round(time.Millisecond), baseHeap, openHeap, peakLive)
	if n := f.svc.OpenTerminals(agents[0]); n != protocol.MaxTerminals {
		b.Errorf("terminals on the first agent: %d", n)
	}
}

// startLoadsim runs wacht-loadsim with n agents enrolled into site until
// the benchmark ends, and waits until all are connected.
func startLoadsim(b *testing.B, f *termFixture, bin string, site int64, n int) {
	b.Helper()
	dir := b.TempDir()
	secret := auth.NewSecret("wet_")
	if err := f.st.CreateEnrollmentToken(context.Background(), &core.EnrollmentToken{SecretHash: auth.HashSecret(secret), SiteID: site}); err != nil {
		b.Fatal(err)
	}
	tok := protocol.Token{URL: f.srv.URL, Fingerprint: protocol.Fingerprint(f.srv.Certificate().Raw), Secret: secret}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "--token", tok.String(), "--agents", strconv.Itoa(n), "--ramp", (time.Duration(max(5, n/200)) * time.Second).String(),
		"--cache", filepath.Join(dir, "cache.jsonl"), "--stagger", "--drain", "1s")
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cancel(); cmd.Wait() })
	rx := regexp.MustCompile(`connected (\d+)/(\d+)`)
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if testing.Verbose() {
			fmt.Fprintln(os.Stderr, sc.Text())
		}
		if m := rx.FindStringSubmatch(sc.Text()); m != nil && m[1] == strconv.Itoa(n) {
			go func() {
				for sc.Scan() {
				}
			}()
			return
		}
	}
	b.Fatalf("wacht-loadsim ended before %d agents connected", n)
}
