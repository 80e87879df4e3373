package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// The pre-authentication load tests (issue 12, H1 and H2) attack a real
// wacht process on loopback and measure what a user sees meanwhile: API
// requests on fresh connections (each one a new TCP and TLS handshake) must
// answer within maxAPILatency, a bound so generous that only the bug
// exceeds it (it made them take 8-20 s, or time out after 30 s); on a
// shared 2-core machine at load 20 the attacker's burst of 300 TLS
// handshakes delayed single requests by up to 3.2 s. The p50/p99 figures
// (issue 12's target: p99 under 200 ms) are logged for docs/benchmarks.md.
const (
	idleSockets    = 1000
	largeFrames    = 300
	largeFrameSize = 4 << 20
	maxAPILatency  = 5 * time.Second
	maxServerRSS   = 300 << 20
)

// The attacker runs in a process of its own, a copy of this test binary
// started with attackerEnv set to the server's address. Its work (1,300
// connections, 300 TLS handshakes, 300 frames of 4 MiB encrypted) then
// competes with the server for this machine's CPU as a separate attacker
// process would, instead of starving the API probe inside the test's own
// Go scheduler, which measured the test rather than the server. It holds
// idleSockets connections from the start, sends the large frames when
// told ("frames" on its stdin) and answers each step with one JSON line.
const attackerEnv = "WACHT_E2E_ATTACK"

// attackerReport is the attacker's answer to a step.
type attackerReport struct {
	Idle     int            `json:"idle,omitempty"`     // sockets open once ready
	Outcomes map[string]int `json:"outcomes,omitempty"` // how the large frames ended
	Took     time.Duration  `json:"took,omitempty"`     // sending and closing them
	Redials  int64          `json:"redials,omitempty"`  // idle sockets dialled again
}

type attacker struct {
	t   *testing.T
	cmd *exec.Cmd
	in  io.WriteCloser
	out *json.Decoder
}

// startAttacker starts the attacker process against addr and returns once
// its idle sockets are open; the test's cleanup stops it.
func startAttacker(t *testing.T, addr string) *attacker {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), attackerEnv+"="+addr)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &attacker{t: t, cmd: cmd, in: in, out: json.NewDecoder(out)}
	t.Cleanup(a.stop)
	r := a.report()
	t.Logf("%d idle pre-TLS sockets open", r.Idle)
	return a
}

func (a *attacker) report() attackerReport {
	a.t.Helper()
	var r attackerReport
	if err := a.out.Decode(&r); err != nil {
		a.t.Fatalf("reading the attacker's report: %v", err)
	}
	return r
}

// largeFrames has the attacker send its large frames and reports how the
// server ended them.
func (a *attacker) largeFrames() attackerReport {
	a.t.Helper()
	if _, err := io.WriteString(a.in, "frames\n"); err != nil {
		a.t.Fatal(err)
	}
	return a.report()
}

// stop closes the attacker's connections and waits for it to end.
func (a *attacker) stop() {
	if a.in == nil {
		return
	}
	a.in.Close()
	a.in = nil
	var r attackerReport
	if a.out.Decode(&r) == nil {
		a.t.Logf("idle sockets: %d re-dialled after the server closed them", r.Redials)
	}
	if err := a.cmd.Wait(); err != nil {
		a.t.Errorf("attacker: %v", err)
	}
}

// runAttacker is the attacker process's main.
func runAttacker(addr string) int {
	enc := json.NewEncoder(os.Stdout)
	idle, stopIdle := holdIdleSockets(addr, idleSockets)
	enc.Encode(attackerReport{Idle: idle})
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "frames" {
			enc.Encode(sendLargeFrames(addr))
		}
	}
	enc.Encode(attackerReport{Redials: stopIdle()})
	return 0
}

// holdIdleSockets keeps n TCP connections open to addr that never send a
// TLS ClientHello; one the server closes is dialled again, as an attacker
// would. It returns once all n were connected once, with how many are open,
// and a function that closes them all and says how many were re-dialled.
func holdIdleSockets(addr string, n int) (open int, stop func() int64) {
	var (
		mu      sync.Mutex
		conns   = map[net.Conn]bool{}
		stopped bool
		wg      sync.WaitGroup
		first   sync.WaitGroup
		redials atomic.Int64
	)
	first.Add(n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for dial := 0; ; dial++ {
				c, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if dial == 0 {
					first.Done()
				} else {
					redials.Add(1)
				}
				if err != nil {
					time.Sleep(100 * time.Millisecond)
					continue
				}
				mu.Lock()
				if stopped {
					mu.Unlock()
					c.Close()
					return
				}
				conns[c] = true
				mu.Unlock()
				c.Read(make([]byte, 1)) // until the server closes it
				mu.Lock()
				delete(conns, c)
				done := stopped
				mu.Unlock()
				c.Close()
				if done {
					return
				}
			}
		}()
		if i%100 == 99 {
			time.Sleep(10 * time.Millisecond) // let the accept loop keep up
		}
	}
	first.Wait()
	mu.Lock()
	open = len(conns)
	mu.Unlock()
	return open, func() int64 {
		mu.Lock()
		stopped = true
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
		return redials.Load()
	}
}

// apiProbe sends API requests one after another, each on a new connection,
// alternating the unauthenticated health check and an authenticated list,
// until the returned function is called; that returns every request's
// latency and the failures.
func apiProbe(t *testing.T, e *env) (stop func() ([]time.Duration, []string)) {
	t.Helper()
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
	quit := make(chan struct{})
	var (
		lat   []time.Duration
		fails []string
		done  = make(chan struct{})
	)
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-quit:
				return
			case <-time.After(20 * time.Millisecond):
			}
			path := "/healthz"
			if i%2 == 1 {
				path = "/api/v1/devices"
			}
			req, _ := http.NewRequest("GET", "https://"+e.addr+path, nil)
			req.Header.Set("Authorization", "Bearer "+e.apiToken)
			t0 := time.Now()
			resp, err := hc.Do(req)
			d := time.Since(t0)
			lat = append(lat, d)
			if err != nil {
				fails = append(fails, fmt.Sprintf("GET %s: %v after %v", path, err, d.Round(time.Millisecond)))
				continue
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				fails = append(fails, fmt.Sprintf("GET %s: HTTP %d", path, resp.StatusCode))
			}
		}
	}()
	var once sync.Once
	stop = func() ([]time.Duration, []string) {
		once.Do(func() { close(quit); <-done })
		return lat, fails
	}
	t.Cleanup(func() { stop() })
	return stop
}

// checkLatency logs p50, p99 and the maximum and fails on a failed request
// or one slower than maxAPILatency.
func checkLatency(t *testing.T, what string, lat []time.Duration, fails []string) {
	t.Helper()
	for _, f := range fails {
		t.Error(f)
	}
	if len(lat) == 0 {
		t.Fatalf("%s: no API requests made", what)
	}
	s := slices.Clone(lat)
	slices.Sort(s)
	q := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))].Round(time.Millisecond) }
	t.Logf("%s: %d API requests, p50 %v, p99 %v, max %v", what, len(s), q(0.50), q(0.99), s[len(s)-1].Round(time.Millisecond))
	if slow := s[len(s)-1]; slow > maxAPILatency {
		t.Errorf("%s: slowest API request took %v, want under %v", what, slow.Round(time.Millisecond), maxAPILatency)
	}
}

// procStatus returns a field of /proc/<pid>/status in bytes (VmRSS, VmHWM).
func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// TestIdlePreTLSSockets: 1,000 TCP connections that never send a
// ClientHello must not stall the API or keep a new agent out (H1).
func TestIdlePreTLSSockets(t *testing.T) {
	e := newEnv(t)
	defer startAttacker(t, e.addr).stop()

	probe := apiProbe(t, e)

	mustRun(t, nil, "wacht-agent", "enroll", "--data", e.agentDir, "--token", e.token())
	t0 := time.Now()
	start(t, "wacht-agent", "run", "--data", e.agentDir, "--interval", "2s", "--checks", fastChecks)
	var devices []apiDevice
	waitFor(t, "the new agent to connect", 20*time.Second, func() bool {
		devices = nil
		e.api("GET", "/api/v1/devices", &devices)
		return len(devices) == 1 && devices[0].Online
	})
	t.Logf("new agent online after %v", time.Since(t0).Round(time.Millisecond))
	time.Sleep(3 * time.Second) // keep measuring for a while
	lat, fails := probe()
	checkLatency(t, fmt.Sprintf("%d idle pre-TLS sockets", idleSockets), lat, fails)
}

// TestLargeUnauthenticatedFrames: 300 websockets that each send one 4 MiB
// text frame instead of authenticating, next to 1,000 idle pre-TLS sockets,
// must be closed early without the server's memory growing and without
// stalling the API (H2; the target scenario).
func TestLargeUnauthenticatedFrames(t *testing.T) {
	e := newEnv(t)
	pid := e.server.cmd.Process.Pid
	att := startAttacker(t, e.addr)
	defer att.stop()
	before := procStatus(t, pid, "VmRSS")
	logLines := strings.Count(e.server.output(), "\n")

	probe := apiProbe(t, e)
	r := att.largeFrames()
	outcomes := r.Outcomes
	t.Logf("%d large frames sent and closed within %v", largeFrames, r.Took.Round(time.Millisecond))
	time.Sleep(2 * time.Second) // the API keeps answering afterwards too
	lat, fails := probe()

	peak := procStatus(t, pid, "VmHWM")
	t.Logf("server RSS before %d MB, peak %d MB, now %d MB; outcomes %v",
		before>>20, peak>>20, procStatus(t, pid, "VmRSS")>>20, outcomes)
	for o, n := range outcomes {
		if o != "too big" && o != "refused" && o != "reset" {
			t.Errorf("%d large frames ended with %q, want the server to close them early (too big, refused or reset)", n, o)
		}
	}
	// One summary line per interval, not a line per connection (L10).
	if n := strings.Count(e.server.output(), "\n") - logLines; n > 10 {
		t.Errorf("the server logged %d lines during the attack, want a summary", n)
	}
	if peak > maxServerRSS {
		t.Errorf("server peak RSS %d MB, want under %d MB", peak>>20, maxServerRSS>>20)
	}
	checkLatency(t, fmt.Sprintf("%d idle pre-TLS sockets and %d 4-MiB unauthenticated frames", idleSockets, largeFrames), lat, fails)
}

// sendLargeFrames sends the large frames at once, one websocket each, and
// reports how the server ended them.
func sendLargeFrames(addr string) attackerReport {
	// A well-formed auth envelope padded to 4 MiB, so that only its size
	// is wrong.
	pad := strings.Repeat("x", largeFrameSize-200)
	frame := []byte(`{"v":1,"type":"auth","data":{"device_id":1,"hostname":"` + pad + `"}}`)
	var (
		mu       sync.Mutex
		outcomes = map[string]int{}
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	t0 := time.Now()
	for range largeFrames {
		wg.Add(1)
		go func() {
			defer wg.Done()
			outcome := largeFrame(ctx, hc, "wss://"+addr+protocol.PathWS, frame)
			mu.Lock()
			outcomes[outcome]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	return attackerReport{Outcomes: outcomes, Took: time.Since(t0)}
}

// largeFrame opens an agent websocket, sends frame instead of an auth
// answer and reports how the server ended the connection.
func largeFrame(ctx context.Context, hc *http.Client, url string, frame []byte) string {
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusServiceUnavailable {
			return "refused"
		}
		return "dial: " + err.Error()
	}
	defer conn.CloseNow()
	conn.SetReadLimit(1 << 20)
	werr := conn.Write(ctx, websocket.MessageText, frame)
	for {
		_, _, err := conn.Read(ctx)
		if err == nil {
			continue // the challenge
		}
		switch code := websocket.CloseStatus(err); {
		case code == websocket.StatusMessageTooBig:
			return "too big"
		case code != -1:
			return fmt.Sprintf("closed %d", code)
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			return "timeout"
		case werr != nil || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset") || strings.Contains(err.Error(), "EOF"):
			return "reset"
		default:
			return "error: " + err.Error()
		}
	}
}
