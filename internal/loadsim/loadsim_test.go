package loadsim

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

var wachtBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run()) // the load tests skip and need no binary
	}
	dir, err := os.MkdirTemp("", "wacht-loadsim-bin")
	if err != nil {
		panic(err)
	}
	wachtBin = filepath.Join(dir, "wacht")
	cmd := exec.Command("go", "build", "-o", wachtBin, "github.com/wacht-rmm/wacht/cmd/wacht")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building wacht: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a real `wacht serve` process on a fixed loopback port, so that
// it can be restarted where the agents expect it.
type server struct {
	t          *testing.T
	data, db   string
	addr       string
	mu         sync.Mutex
	log        bytes.Buffer
	cmd        *exec.Cmd
	done       chan struct{}
	apiToken   string
	enrollment string
}

func (s *server) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.Write(b)
}

func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var listening = regexp.MustCompile(`msg="?listening"?`)

func (s *server) start() {
	s.t.Helper()
	args := []string{"serve", "--data", s.data, "--listen", s.addr}
	if s.db != "" {
		args = append(args, "--db", s.db)
	}
	s.mu.Lock()
	s.log.Reset()
	s.mu.Unlock()
	s.cmd = exec.Command(wachtBin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s, s
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	done := make(chan struct{})
	s.done = done
	go func() { s.cmd.Wait(); close(done) }()
	deadline := time.Now().Add(30 * time.Second)
	for !listening.MatchString(s.output()) {
		select {
		case <-done:
			s.t.Fatalf("server exited:\n%s", s.output())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("server did not start:\n%s", s.output())
		}
	}
}

func (s *server) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

// kill ends the server at once (SIGKILL), as a crash or power loss would.
func (s *server) kill() {
	s.cmd.Process.Kill()
	<-s.done
}

func (s *server) admin(args ...string) string {
	s.t.Helper()
	args = append(args, "--data", s.data)
	if s.db != "" {
		args = append(args, "--db", s.db)
	}
	cmd := exec.Command(wachtBin, args...)
	cmd.Env = append(os.Environ(), "WACHT_PASSWORD=correct horse battery staple")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		s.t.Fatalf("wacht %v: %v\n%s", args, err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

func newServer(t *testing.T, db string) *server {
	s := &server{t: t, data: t.TempDir(), db: db, addr: freePort(t)}
	s.start()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server output:\n%s", s.output())
		}
	})
	s.admin("user", "add", "--email", "admin@example.com", "--role", "admin")
	s.apiToken = s.admin("apitoken", "create", "--user", "admin@example.com")
	s.enrollment = s.admin("token", "create", "--create", "--client", "Lasttest GmbH", "--site", "Labor", "--url", "https://"+s.addr)
	return s
}

// count returns the number of stored results and devices.
func (s *server) count() (results, devices int64) {
	s.t.Helper()
	st, err := store.Open(context.Background(), s.db, s.data)
	if err != nil {
		s.t.Fatal(err)
	}
	defer st.Close()
	db := st.SQL()
	if err := db.QueryRow(`SELECT COUNT(*) FROM check_results`).Scan(&results); err != nil {
		s.t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT COUNT(*) FROM devices`).Scan(&devices); err != nil {
		s.t.Fatal(err)
	}
	return results, devices
}

// restartErrors are what a server restart may cause; anything else (ack
// timeouts, refusals, failed enrollments, protocol errors) is a failure.
func skipShort(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: minutes of simulated agents against a real server")
	}
}

var restartErrors = map[string]bool{
	"dial": true, "handshake": true, "server_going_away": true, "closed_by_server": true, "read": true, "write": true,
}

// slowErrors are what a machine too busy for the load causes while the
// server runs: the simulator skips a command while 64 are in flight, and
// the server closes a session whose batch it could not store (SQLite still
// busy after its 15 s timeout), which the agent sends again. What counts —
// every result stored exactly once, no command failed — is checked apart.
var slowErrors = map[string]bool{"command_backlog": true, "closed_by_server": true}

func TestLoadsimSQLite(t *testing.T) {
	skipShort(t)
	t.Parallel()
	testLoadsim(t, "")
}

func TestLoadsimPostgres(t *testing.T) {
	skipShort(t)
	t.Parallel()
	if os.Getenv(storetest.PostgresEnv) == "" && os.Getenv("CI") != "" {
		t.Fatalf("%s is not set in CI", storetest.PostgresEnv)
	}
	testLoadsim(t, storetest.PostgresURL(t))
}

// waitFor polls cond until it holds or the deadline passes. The test waits
// for states, not for durations, so that a slow, shared machine only
// makes it slower.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runUntil runs sim until done() holds (checked by the caller's waits in
// during), then stops it and returns its summary.
func runUntil(t *testing.T, sim *Sim, during func()) Summary {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var sum Summary
	var err error
	ran := make(chan struct{})
	go func() {
		sum, err = sim.Run(ctx)
		close(ran)
	}()
	func() {
		defer cancel()
		during()
	}()
	<-ran
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// testLoadsim: 50 agents enroll, connect, send results and answer
// commands; a rerun re-attaches from the cache; the server is restarted
// while agents keep producing, and afterwards every result is stored
// exactly once; then it is killed (SIGKILL) during heavy ingest and kept
// down for a while: no result acked before the kill is lost, and after
// its return every result is stored exactly once.
func testLoadsim(t *testing.T, db string) {
	const agents = 50
	srv := newServer(t, db)
	cache := filepath.Join(t.TempDir(), "agents.jsonl")
	base := Options{
		Agents: agents, Cache: cache, Ramp: time.Second, Interval: 500 * time.Millisecond, Daily: -1,
		BackoffMin: 200 * time.Millisecond, BackoffMax: 2 * time.Second, Drain: 60 * time.Second,
		APIToken: srv.apiToken,
	}
	all := func(sim *Sim) func() bool { return func() bool { return sim.Connected() == agents } }

	// First run: enroll everyone, results and commands.
	o := base
	o.Token, o.CommandRate = srv.enrollment, 5
	sim, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	sum := runUntil(t, sim, func() {
		waitFor(t, "all agents to connect", 3*time.Minute, all(sim))
		waitFor(t, "results and commands", 3*time.Minute, func() bool {
			c := sim.Counters()
			return c.Acked >= 2*agents*15 && c.CommandOK >= 3
		})
	})
	t.Logf("first run: %+v", sum)
	if sum.Enrolled != agents || sum.Reattached != 0 {
		t.Errorf("enrolled %d, re-attached %d; want %d, 0", sum.Enrolled, sum.Reattached, agents)
	}
	if sum.Acked != sum.Produced || sum.Pending != 0 {
		t.Errorf("produced %d, acked %d, pending %d", sum.Produced, sum.Acked, sum.Pending)
	}
	if sum.CommandFail != 0 || sum.CommandsAnswered < sum.CommandOK {
		t.Errorf("commands: %d ok, %d failed, %d answered by agents", sum.CommandOK, sum.CommandFail, sum.CommandsAnswered)
	}
	for kind := range sum.Errors {
		if !slowErrors[kind] {
			t.Errorf("unexpected errors: %v", sum.Errors)
			break
		}
	}
	results, devices := srv.count()
	if results != sum.Produced || devices != agents {
		t.Fatalf("store holds %d results of %d devices; want %d results of %d devices", results, devices, sum.Produced, agents)
	}
	total := sum.Produced

	// Second run from the cache alone (no token: it cannot enroll), with
	// the server restarted while the agents keep producing.
	o = base
	o.Server = "https://" + srv.addr
	sim, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	var queued int64
	sum = runUntil(t, sim, func() {
		waitFor(t, "all agents to re-attach", 3*time.Minute, all(sim))
		srv.stop()
		before := sim.Counters().Produced
		waitFor(t, "results produced while the server is down", 3*time.Minute, func() bool {
			return sim.Counters().Produced-before >= 2*agents*15
		})
		queued = sim.Counters().Produced - before
		srv.start()
		waitFor(t, "all agents to reconnect", 5*time.Minute, all(sim))
		acked := sim.Counters().Acked
		waitFor(t, "results acked after the restart", 3*time.Minute, func() bool { return sim.Counters().Acked > acked })
	})
	t.Logf("second run: %+v; %d results produced while the server was down", sum, queued)
	if sum.Enrolled != 0 || sum.Reattached != agents {
		t.Errorf("enrolled %d, re-attached %d; want 0, %d", sum.Enrolled, sum.Reattached, agents)
	}
	if sum.Acked != sum.Produced || sum.Pending != 0 {
		t.Errorf("produced %d, acked %d, pending %d", sum.Produced, sum.Acked, sum.Pending)
	}
	for kind := range sum.Errors {
		if !restartErrors[kind] {
			t.Errorf("unexpected errors: %v", sum.Errors)
		}
	}
	results, devices = srv.count()
	if want := total + sum.Produced; results != want || devices != agents {
		t.Errorf("store holds %d results of %d devices; want exactly %d results of %d devices", results, devices, want, agents)
	}
	total = results

	// Third run: agents producing faster than the server stores (heavy
	// ingest, a growing backlog), the server killed in the middle of it and
	// down for serverDown while they keep producing.
	o = base
	o.Server, o.Interval, o.Batch, o.Drain = "https://"+srv.addr, 250*time.Millisecond, 100, 2*time.Minute
	sim, err = New(o)
	if err != nil {
		t.Fatal(err)
	}
	var ackedAtKill, storedAtKill int64
	sum = runUntil(t, sim, func() {
		waitFor(t, "all agents to re-attach", 3*time.Minute, all(sim))
		acked := sim.Counters().Acked
		waitFor(t, "heavy ingest", 3*time.Minute, func() bool { return sim.Counters().Acked-acked >= 20*agents*15 })
		ackedAtKill = sim.Counters().Acked // a lower bound: acks may still arrive until the kill
		srv.kill()
		storedAtKill, _ = srv.count()
		before := sim.Counters().Produced
		time.Sleep(serverDown)
		if sim.Counters().Produced == before {
			t.Error("agents produced nothing while the server was down")
		}
		srv.start()
		waitFor(t, "all agents to reconnect", 5*time.Minute, all(sim))
		acked = sim.Counters().Acked
		waitFor(t, "results acked after the restart", 3*time.Minute, func() bool { return sim.Counters().Acked > acked })
	})
	t.Logf("third run: %+v; %d acked and %d stored at the kill", sum, ackedAtKill, storedAtKill-total)
	if storedAtKill-total < ackedAtKill {
		t.Errorf("the kill lost acked results: %d acked, %d stored", ackedAtKill, storedAtKill-total)
	}
	if sum.Acked != sum.Produced || sum.Pending != 0 {
		t.Errorf("produced %d, acked %d, pending %d", sum.Produced, sum.Acked, sum.Pending)
	}
	for kind := range sum.Errors {
		if !restartErrors[kind] {
			t.Errorf("unexpected errors: %v", sum.Errors)
		}
	}
	results, devices = srv.count()
	if want := total + sum.Produced; results != want || devices != agents {
		t.Errorf("store holds %d results of %d devices; want exactly %d results of %d devices", results, devices, want, agents)
	}
}

// serverDown is how long the killed server stays away (agents buffer).
const serverDown = 20 * time.Second

func TestScriptFanOutSQLite(t *testing.T) {
	skipShort(t)
	t.Parallel()
	testScriptFanOut(t, "")
}

func TestScriptFanOutPostgres(t *testing.T) {
	skipShort(t)
	t.Parallel()
	if os.Getenv(storetest.PostgresEnv) == "" && os.Getenv("CI") != "" {
		t.Fatalf("%s is not set in CI", storetest.PostgresEnv)
	}
	testScriptFanOut(t, storetest.PostgresURL(t))
}

// testScriptFanOut runs one script through the API on 200 simulated
// agents, which verify the signed requests: every run ends done with exit
// 0 and its own run ID on stdout, each agent ran it once (the short form
// of the fan-out benchmark in internal/loadsim/bench; no timing asserted).
func testScriptFanOut(t *testing.T, db string) {
	const agents = 200
	srv := newServer(t, db)
	sim, err := New(Options{
		Token: srv.enrollment, Agents: agents, Cache: filepath.Join(t.TempDir(), "agents.jsonl"), APIToken: srv.apiToken,
		Ramp: 2 * time.Second, Interval: time.Hour, Daily: -1, ScriptDuration: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var job Job
	sum := runUntil(t, sim, func() {
		waitFor(t, "all agents to connect", 3*time.Minute, func() bool { return sim.Connected() == agents })
		script, err := sim.AddScript(ctx, "Fan-out")
		if err != nil {
			t.Fatal(err)
		}
		client, err := sim.ClientID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		id, runs, err := sim.RunScriptOnClient(ctx, script, client)
		if err != nil || runs != agents {
			t.Fatalf("run on client %d: %d runs, %v; want %d", client, runs, err, agents)
		}
		deadline := time.Now().Add(5 * time.Minute)
		for job.Counts[core.RunDone] < agents {
			if time.Now().After(deadline) {
				t.Fatalf("runs not done in time: %v", job.Counts)
			}
			time.Sleep(500 * time.Millisecond)
			if job, err = sim.Job(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
	})
	if len(job.Runs) != agents {
		t.Fatalf("job has %d runs, want %d", len(job.Runs), agents)
	}
	for _, r := range job.Runs {
		if r.State != core.RunDone || r.ExitCode == nil || *r.ExitCode != 0 || r.Stdout != "loadsim ran "+r.ID+"\n" {
			t.Errorf("run %s on device %d: %s, exit %v, stdout %q", r.ID, r.DeviceID, r.State, r.ExitCode, r.Stdout)
		}
	}
	if sum.ScriptsRun != agents || sum.ScriptDuplicates != 0 {
		t.Errorf("agents ran %d scripts (%d answered again); want %d, 0", sum.ScriptsRun, sum.ScriptDuplicates, agents)
	}
	for kind := range sum.Errors {
		if !slowErrors[kind] {
			t.Errorf("unexpected errors: %v", sum.Errors)
			break
		}
	}
}
