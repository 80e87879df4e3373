//go:build linux

// Command bench is the driver behind `make bench`: it starts a real
// `wacht serve` on loopback (SQLite, then PostgreSQL in a fresh schema of
// $WACHT_TEST_POSTGRES), holds N simulated agents with internal/loadsim and
// measures agents held, server RSS and CPU (from /proc/<pid>), batch
// send→ack p99, command round trips to one agent and a broadcast to all,
// sustained ingest with flooding agents, the reconnect storm after a server
// restart (checking afterwards that every result is stored exactly once),
// and the real wacht-agent's own footprint. It prints a Markdown table and
// writes the raw figures as JSON.
//
// Linux only: it reads /proc.
package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/wacht-rmm/wacht/internal/loadsim"
	"github.com/wacht-rmm/wacht/internal/store"
)

type config struct {
	bin          string
	engines      []string
	agents       []int
	pgAgents     []int
	steady       time.Duration
	samples      int
	down         time.Duration
	floodAgents  int
	floodFor     time.Duration
	agentWindow  time.Duration
	out          string
	keep         bool
	maxHandshake int
	broadcast    bool
	fanout       bool
	scriptTook   time.Duration
	storm        bool
	blobAgents   int
	blobMB       int
	blobParallel int
	blobCurl     bool
}

// Run is the figures of one engine at one agent count.
type Run struct {
	Engine          string
	Agents          int
	Connected       int
	ConnectTook     time.Duration
	Analyzed        bool // ANALYZE run after the hold: the PostgreSQL has autovacuum off
	ServerRSSMB     float64
	ServerPeakRSSMB float64
	ServerCPUPct    float64 // of one core, steady state
	LoadsimCPUPct   float64
	ResultsPerSec   float64 // steady state, the 24x7 schedule
	AckP50, AckP99  time.Duration
	CmdP50, CmdP99  time.Duration
	CmdSamples      int
	Broadcast       loadsim.BroadcastResult
	FanOut          FanOut
	IngestPerSec    float64
	IngestAckP99    time.Duration
	IngestServerCPU float64 // % of one core while flooding
	IngestSimCPU    float64 // this process, which encodes the batches
	IngestError     string
	StormTook       time.Duration
	StormBack       int
	StormErrors     map[string]int64
	Stored, Sent    int64 // results in the store vs. produced by the simulator
	ExactlyOnce     bool
	Errors          map[string]int64
}

// AgentFootprint is the real agent's own use.
type AgentFootprint struct {
	Window     time.Duration
	RSSMBAvg   float64
	RSSMBMax   float64
	CPUPct     float64
	BinaryMB   float64
	BinaryPath string
}

func main() {
	var c config
	var engines, agents, pgAgents string
	flag.StringVar(&c.bin, "bin", "bin", "folder with the wacht and wacht-agent binaries")
	flag.StringVar(&engines, "engines", "sqlite,postgres", "engines to measure")
	flag.StringVar(&agents, "agents", "0,1000,10000", "agent counts for SQLite (comma-separated; 0 = ingest alone, no agents held; empty = none)")
	flag.StringVar(&pgAgents, "pg-agents", "", "agent counts for PostgreSQL (default: as --agents)")
	flag.DurationVar(&c.steady, "steady", time.Minute, "steady-state measuring window")
	flag.IntVar(&c.samples, "commands", 200, "sequential command round trips to sample")
	flag.DurationVar(&c.down, "down", 5*time.Second, "how long the server stays down in the reconnect storm")
	flag.IntVar(&c.floodAgents, "flood-agents", 20, "agents sending full batches back to back for the ingest figure")
	flag.DurationVar(&c.floodFor, "flood-for", 30*time.Second, "ingest measuring window")
	flag.DurationVar(&c.agentWindow, "agent-window", 10*time.Minute, "how long to watch the real agent (0 = skip)")
	flag.IntVar(&c.maxHandshake, "max-handshakes", 0, "passed to wacht serve --max-handshakes (0 = its default)")
	flag.BoolVar(&c.broadcast, "broadcast", true, "send run-checks to all agents at once (on SQLite at 10,000 agents this overloads the server; see docs/benchmarks.md)")
	flag.BoolVar(&c.fanout, "fanout", true, "run one script on every agent at once (issue 16)")
	flag.DurationVar(&c.scriptTook, "script-duration", time.Second, "how long a simulated script run takes")
	flag.BoolVar(&c.storm, "storm", true, "restart the server and measure the reconnect storm")
	flag.IntVar(&c.blobAgents, "blob-agents", 200, "agents that each download one package file (issue 17; 0 = skip the series)")
	flag.IntVar(&c.blobMB, "blob-mb", 500, "size of that package file in MiB")
	flag.IntVar(&c.blobParallel, "blob-parallel", 200, "package file downloads at most at once (as many as agents: all at once, the worst case)")
	flag.BoolVar(&c.blobCurl, "blob-curl", true, "download the package file with as many curl processes too, the baseline")
	flag.StringVar(&c.out, "out", "bench-results.json", "raw figures as JSON")
	flag.BoolVar(&c.keep, "keep", false, "keep the temporary folders")
	flag.Parse()
	c.engines = strings.Split(engines, ",")
	var err error
	if c.agents, err = ints(agents); err != nil {
		fatal(err)
	}
	c.pgAgents = c.agents
	if pgAgents != "" {
		if c.pgAgents, err = ints(pgAgents); err != nil {
			fatal(err)
		}
	}
	most := 0
	for _, n := range append(append([]int{}, c.agents...), c.pgAgents...) {
		most = max(most, n)
	}
	// The server (a child) and this process each hold one socket per agent.
	if err := raiseNofile(uint64(most)*2 + 4096); err != nil {
		fmt.Fprintln(os.Stderr, "bench: raising the open-file limit:", err)
	}

	var runs []Run
	var blobRuns []BlobRun
	for _, e := range c.engines {
		if e == "" {
			continue // --engines "": the real agent only
		}
		counts := c.agents
		if e == "postgres" {
			counts = c.pgAgents
		}
		for _, n := range counts {
			r, err := benchOne(c, e, n)
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: %s with %d agents: %v\n", e, n, err)
			}
			runs = append(runs, r)
			printRuns(runs)
			save(c.out, runs, blobRuns, nil)
		}
		if c.blobAgents > 0 {
			r, err := benchBlob(c, e)
			if err != nil {
				r.Error = err.Error()
				fmt.Fprintf(os.Stderr, "bench: %s package file: %v\n", e, err)
			}
			blobRuns = append(blobRuns, r)
			printBlobRuns(blobRuns)
			save(c.out, runs, blobRuns, nil)
		}
	}
	var fp *AgentFootprint
	if c.agentWindow > 0 {
		f, err := agentFootprint(c)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: agent footprint:", err)
		} else {
			fp = &f
		}
	}
	if len(runs) > 0 {
		printRuns(runs)
	}
	printBlobRuns(blobRuns)
	if fp != nil {
		fmt.Printf("\nReal agent over %v: RSS %.1f MB average, %.1f MB peak; CPU %.3f %% of a core; binary %.1f MB (%s)\n",
			fp.Window, fp.RSSMBAvg, fp.RSSMBMax, fp.CPUPct, fp.BinaryMB, fp.BinaryPath)
	}
	save(c.out, runs, blobRuns, fp)
}

func ints(s string) ([]int, error) {
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad agent count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "bench:", err)
	os.Exit(1)
}

func save(path string, runs []Run, blobRuns []BlobRun, fp *AgentFootprint) {
	b, _ := json.MarshalIndent(map[string]any{"runs": runs, "package_file": blobRuns, "agent": fp, "machine": machine()}, "", "  ")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
	}
}

func machine() map[string]string {
	m := map[string]string{}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		if i := bytes.Index(b, []byte("model name")); i >= 0 {
			line := b[i:]
			line = line[:bytes.IndexByte(line, '\n')]
			m["cpu"] = strings.TrimSpace(string(line[bytes.IndexByte(line, ':')+1:]))
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m["memory"] = strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	}
	m["cpus"] = strconv.Itoa(runtime.NumCPU())
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m["loadavg_at_end"] = strings.TrimSpace(string(b))
	}
	return m
}

func printRuns(runs []Run) {
	ms := func(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) }
	fmt.Println()
	fmt.Println("| engine | agents held | server RSS MB (peak) | server CPU % of a core | results/s (24x7) | batch ack p50 / p99 ms | command p50 / p99 ms | broadcast to all | script to all: dispatched / done s (lost; server CPU s, RSS peak MB) | ingest results/s (ack p99 ms; CPU server/loadsim %) | reconnect storm | stored exactly once | errors |")
	fmt.Println("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, r := range runs {
		fmt.Printf("| %s | %d / %d (in %.0f s) | %.0f (%.0f) | %.1f | %.0f | %s / %s | %s / %s | %d/%d in %.2f s (p99 %s ms) | %d: %.1f / %.1f (%d; %.1f, %.0f) | %.0f (%s; %.0f/%.0f) | %d/%d back in %.1f s (errors: %s) | %v (%d of %d) | %s |\n",
			r.Engine, r.Connected, r.Agents, r.ConnectTook.Seconds(), r.ServerRSSMB, r.ServerPeakRSSMB, r.ServerCPUPct,
			r.ResultsPerSec, ms(r.AckP50), ms(r.AckP99), ms(r.CmdP50), ms(r.CmdP99),
			r.Broadcast.OK, r.Broadcast.Agents, r.Broadcast.Took.Seconds(), ms(r.Broadcast.P99),
			r.FanOut.Runs, r.FanOut.Dispatched.Seconds(), r.FanOut.Done.Seconds(), r.FanOut.Lost, r.FanOut.ServerCPUSec, r.FanOut.ServerPeakRSSMB,
			r.IngestPerSec, ms(r.IngestAckP99), r.IngestServerCPU, r.IngestSimCPU, r.StormBack, r.Agents, r.StormTook.Seconds(), loadsim.FormatErrors(r.StormErrors),
			r.ExactlyOnce, r.Stored, r.Sent, loadsim.FormatErrors(r.Errors))
	}
}

// server is a `wacht serve` child process.
type server struct {
	bin, data, db, addr string
	maxHandshake        int
	cmd                 *exec.Cmd
	logFile             *os.File
	done                chan struct{}
	mu                  sync.Mutex
	log                 bytes.Buffer
}

func (s *server) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// Keep the tail only: at 10,000 agents the info log is large.
	if s.log.Len() > 4<<20 {
		tail := append([]byte(nil), s.log.Bytes()[s.log.Len()-(1<<20):]...)
		s.log.Reset()
		s.log.Write(tail)
	}
	return s.log.Write(b)
}

func (s *server) start() error {
	args := []string{"serve", "--data", s.data, "--listen", s.addr, "--log-level", "warn"}
	if s.db != "" {
		args = append(args, "--db", s.db)
	}
	if s.maxHandshake > 0 {
		args = append(args, "--max-handshakes", strconv.Itoa(s.maxHandshake))
	}
	s.mu.Lock()
	s.log.Reset()
	s.mu.Unlock()
	s.cmd = exec.Command(filepath.Join(s.bin, "wacht"), args...)
	s.cmd.Stdout, s.cmd.Stderr = s, s
	// Also to a file next to the data folder, for a look after --keep.
	if f, err := os.OpenFile(s.data+".log", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err == nil {
		s.logFile = f // closed by stop, after the child's output is copied
		s.cmd.Stdout, s.cmd.Stderr = io.MultiWriter(s, f), io.MultiWriter(s, f)
	}
	if err := s.cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	s.done = done
	go func() { s.cmd.Wait(); close(done) }()
	// With --log-level warn the listening line is not logged: poll the port.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return fmt.Errorf("server exited: %s", s.output())
		default:
		}
		if c, err := net.DialTimeout("tcp", s.addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("server did not start listening")
}

func (s *server) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

func (s *server) stop() {
	if s.cmd == nil {
		return
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	if s.logFile != nil {
		s.logFile.Close()
		s.logFile = nil
	}
}

func (s *server) pid() int { return s.cmd.Process.Pid }

func (s *server) admin(args ...string) (string, error) {
	args = append(args, "--data", s.data)
	if s.db != "" {
		args = append(args, "--db", s.db)
	}
	cmd := exec.Command(filepath.Join(s.bin, "wacht"), args...)
	cmd.Env = append(os.Environ(), "WACHT_PASSWORD=bench bench bench bench")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("wacht %v: %v: %s", args, err, errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// pgSchema creates a fresh schema and returns the URL using it and a drop
// function.
func pgSchema() (string, func(), error) {
	base := os.Getenv("WACHT_TEST_POSTGRES")
	if base == "" {
		return "", nil, errors.New("WACHT_TEST_POSTGRES is not set")
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	b := make([]byte, 6)
	for i := range b {
		b[i] = byte(rand.N(256))
	}
	schema := "wacht_bench_" + hex.EncodeToString(b)
	// Hex digits only: identifiers cannot be bound as parameters.
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		db.Close()
		return "", nil, err
	}
	u, _ := url.Parse(base)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		db.Close()
	}, nil
}

// analyzeWithoutAutovacuum analyzes the tables of the URL's schema when the
// server runs with autovacuum off (test servers often do): the planner then
// still has the statistics of the empty tables and answers every batch with
// whole-table scans, which no production server with its default
// autovacuum does for long.
func analyzeWithoutAutovacuum(dbURL string) (bool, error) {
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		return false, err
	}
	defer db.Close()
	var on string
	if err := db.QueryRow(`SHOW autovacuum`).Scan(&on); err != nil {
		return false, err
	}
	if on == "on" {
		return false, nil
	}
	rows, err := db.Query(`SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`)
	if err != nil {
		return false, err
	}
	var tables []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			rows.Close()
			return false, err
		}
		tables = append(tables, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	for _, t := range tables {
		// Names from the catalogue; identifiers cannot be bound as parameters.
		if _, err := db.Exec(`ANALYZE ` + pgx.Identifier{t}.Sanitize()); err != nil {
			return false, err
		}
	}
	return true, nil
}

// startBenchServer starts a fresh server for one run in a new temporary
// folder (kept with --keep), on SQLite or a new PostgreSQL schema, with an
// administrator's API token and an enrollment token; done stops it and
// removes what it made.
func startBenchServer(c config, engine, prefix string, maxHandshake int) (srv *server, tmp, api, tok string, done func(), err error) {
	var undo []func()
	done = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	defer func() {
		if err != nil {
			done()
		}
	}()
	if tmp, err = os.MkdirTemp("", prefix); err != nil {
		return
	}
	if !c.keep {
		undo = append(undo, func() { os.RemoveAll(tmp) })
	}
	addr, err := freeAddr()
	if err != nil {
		return
	}
	srv = &server{bin: c.bin, data: filepath.Join(tmp, "server"), addr: addr, maxHandshake: maxHandshake}
	if engine == "postgres" {
		u, drop, perr := pgSchema()
		if err = perr; err != nil {
			return
		}
		undo = append(undo, drop)
		srv.db = u
	}
	if err = srv.start(); err != nil {
		return
	}
	undo = append(undo, srv.stop)
	if _, err = srv.admin("user", "add", "--email", "bench@example.com", "--role", "admin"); err != nil {
		return
	}
	if api, err = srv.admin("apitoken", "create", "--user", "bench@example.com"); err != nil {
		return
	}
	tok, err = srv.admin("token", "create", "--create", "--client", "Bench GmbH", "--site", "Labor", "--url", "https://"+addr, "--expires", "0")
	return
}

func benchOne(c config, engine string, n int) (r Run, err error) {
	r = Run{Engine: engine, Agents: n}
	fmt.Fprintf(os.Stderr, "\n== %s, %d agents\n", engine, n)
	srv, tmp, api, tok, done, err := startBenchServer(c, engine, "wacht-bench-", c.maxHandshake)
	if err != nil {
		return r, err
	}
	defer done()

	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	if n == 0 {
		// Ingest alone: only the flooding agents.
		s0, t := cpuTicks(srv.pid()), time.Now()
		r.IngestPerSec, r.IngestAckP99, err = flood(context.Background(), c, tok, tmp, log)
		r.IngestServerCPU = float64(cpuTicks(srv.pid())-s0) / clkTck / time.Since(t).Seconds() * 100
		r.ServerRSSMB, r.ServerPeakRSSMB = rssMB(srv.pid())
		fmt.Fprintf(os.Stderr, "bench: ingest alone %.0f results/s, server CPU %.0f %%\n", r.IngestPerSec, r.IngestServerCPU)
		return r, err
	}
	sim, err := loadsim.New(loadsim.Options{
		Token: tok, Agents: n, Cache: filepath.Join(tmp, "agents.jsonl"), APIToken: api,
		Ramp: max(5*time.Second, time.Duration(n)*time.Second/200), Drain: 2 * time.Minute, Stagger: true,
		ScriptDuration: c.scriptTook, Live: os.Stderr, LiveEvery: 10 * time.Second, Log: log,
	})
	if err != nil {
		return r, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	var sum loadsim.Summary
	var runErr error
	ran := make(chan struct{})
	go func() {
		sum, runErr = sim.Run(ctx)
		close(ran)
	}()
	defer func() {
		cancel()
		<-ran
	}()

	// Hold: everyone connects (enrollment included).
	t0 := time.Now()
	if !waitFor(func() bool { return sim.Connected() == n }, max(5*time.Minute, time.Duration(n)*30*time.Millisecond)) {
		r.Connected = sim.Connected()
		return r, fmt.Errorf("only %d of %d agents connected", r.Connected, n)
	}
	r.ConnectTook, r.Connected = time.Since(t0), n
	fmt.Fprintf(os.Stderr, "bench: %d agents connected in %v\n", n, r.ConnectTook.Round(time.Second))
	if srv.db != "" {
		if r.Analyzed, err = analyzeWithoutAutovacuum(srv.db); err != nil {
			return r, err
		}
		if r.Analyzed {
			fmt.Fprintln(os.Stderr, "bench: PostgreSQL has autovacuum off; ran ANALYZE as it would have")
		}
	}

	// Steady state on the 24x7 schedule.
	if c.steady > 0 {
		steady(c, &r, srv, sim)
	}
	r.ServerRSSMB, r.ServerPeakRSSMB = rssMB(srv.pid())

	// Commands: one agent at a time, then all at once.
	sim.CommandRTT.Reset()
	sim.CommandSample(ctx, c.samples)
	r.CmdP50, r.CmdP99, r.CmdSamples = sim.CommandRTT.Quantile(0.5), sim.CommandRTT.Quantile(0.99), int(sim.CommandRTT.Count())
	if c.broadcast {
		r.Broadcast = sim.Broadcast(ctx)
	}
	fmt.Fprintf(os.Stderr, "bench: commands p50 %v p99 %v; broadcast %+v\n", r.CmdP50, r.CmdP99, r.Broadcast)

	// One script on every agent (issue 16).
	if c.fanout {
		if r.FanOut, err = fanOut(ctx, srv, sim); err != nil {
			return r, err
		}
		f := r.FanOut
		fmt.Fprintf(os.Stderr, "bench: script on %d agents: queued in %v, dispatched in %v (median %v), done in %v (median %v), lost %d; server CPU %.1f s, RSS peak %.0f MB\n",
			f.Runs, f.Queued.Round(time.Millisecond), f.Dispatched.Round(time.Millisecond), f.StartedP50, f.Done.Round(time.Millisecond), f.FinishedP50,
			f.Lost, f.ServerCPUSec, f.ServerPeakRSSMB)
	}

	// Sustained ingest: flooding agents next to the held ones.
	if c.floodAgents > 0 {
		s0, p0, t := cpuTicks(srv.pid()), cpuTicks(os.Getpid()), time.Now()
		r.IngestPerSec, r.IngestAckP99, err = flood(ctx, c, tok, tmp, log)
		if err != nil {
			// Recorded, not fatal: the storm is still worth measuring.
			r.IngestError = err.Error()
			fmt.Fprintln(os.Stderr, "bench: ingest:", err)
		}
		secs := time.Since(t).Seconds()
		r.IngestServerCPU = float64(cpuTicks(srv.pid())-s0) / clkTck / secs * 100
		r.IngestSimCPU = float64(cpuTicks(os.Getpid())-p0) / clkTck / secs * 100
		if err != nil {
			return r, err
		}
		fmt.Fprintf(os.Stderr, "bench: ingest %.0f results/s, server CPU %.0f %%, loadsim CPU %.0f %%\n", r.IngestPerSec, r.IngestServerCPU, r.IngestSimCPU)
	}

	// Reconnect storm: restart the server; agents keep producing meanwhile.
	if c.storm {
		if err := storm(c, &r, srv, sim, n); err != nil {
			return r, err
		}
	}
	// Let the queued results drain, then stop and count.
	time.Sleep(5 * time.Second)
	cancel()
	<-ran
	r.Errors = sum.Errors
	r.Sent = sum.Produced
	if runErr != nil {
		return r, runErr
	}
	srv.stop()
	st, err := store.Open(context.Background(), srv.db, srv.data)
	if err != nil {
		return r, err
	}
	defer st.Close()
	// The held agents' results only (their host names start with
	// loadsim-), not the flooding agents'.
	q := `SELECT COUNT(*) FROM check_results r JOIN devices d ON d.id = r.device_id WHERE d.hostname LIKE $1`
	if err := st.SQL().QueryRow(q, "loadsim-%").Scan(&r.Stored); err != nil {
		return r, err
	}
	r.ExactlyOnce = r.Stored == r.Sent
	return r, nil
}

// storm stops the server for c.down and measures how long the agents
// take to be back after its start.
func storm(c config, r *Run, srv *server, sim *loadsim.Sim, n int) error {
	srv.stop()
	time.Sleep(c.down)
	e0 := sim.Errors()
	if err := srv.start(); err != nil {
		return err
	}
	t1 := time.Now()
	waitFor(func() bool { return sim.Connected() == n }, 5*time.Minute)
	r.StormTook, r.StormBack = time.Since(t1), sim.Connected()
	r.StormErrors = diff(sim.Errors(), e0)
	fmt.Fprintf(os.Stderr, "bench: %d agents back in %v, errors %v\n", r.StormBack, r.StormTook.Round(time.Millisecond), r.StormErrors)
	return nil
}

// steady measures the steady state on the 24x7 schedule over c.steady.
func steady(c config, r *Run, srv *server, sim *loadsim.Sim) {
	sim.AckLatency.Reset()
	cpu0, self0, c0, w0 := cpuTicks(srv.pid()), cpuTicks(os.Getpid()), sim.Counters(), time.Now()
	time.Sleep(c.steady)
	secs := time.Since(w0).Seconds()
	cpu1, self1, c1 := cpuTicks(srv.pid()), cpuTicks(os.Getpid()), sim.Counters()
	r.ServerCPUPct = float64(cpu1-cpu0) / clkTck / secs * 100
	fmt.Fprintf(os.Stderr, "bench: steady %.0f results/s, server CPU %.1f %%\n", float64(c1.Acked-c0.Acked)/secs, r.ServerCPUPct)
	r.LoadsimCPUPct = float64(self1-self0) / clkTck / secs * 100
	r.ResultsPerSec = float64(c1.Acked-c0.Acked) / secs
	r.AckP50, r.AckP99 = sim.AckLatency.Quantile(0.5), sim.AckLatency.Quantile(0.99)
}

func flood(ctx context.Context, c config, tok, tmp string, log *slog.Logger) (float64, time.Duration, error) {
	warm := 5 * time.Second
	sim, err := loadsim.New(loadsim.Options{
		Token: tok, Agents: c.floodAgents, Name: "flood", Cache: filepath.Join(tmp, "flood.jsonl"),
		Flood: true, Ramp: time.Second, Duration: warm + c.floodFor, Log: log,
	})
	if err != nil {
		return 0, 0, err
	}
	var runErr error
	ran := make(chan struct{})
	go func() {
		_, runErr = sim.Run(ctx)
		close(ran)
	}()
	time.Sleep(warm)
	sim.AckLatency.Reset()
	a0, t0 := sim.Counters().Acked, time.Now()
	time.Sleep(c.floodFor)
	rate := float64(sim.Counters().Acked-a0) / time.Since(t0).Seconds()
	p99 := sim.AckLatency.Quantile(0.99)
	<-ran
	return rate, p99, runErr
}

func diff(now, before map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for k, v := range now {
		if d := v - before[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}

func waitFor(cond func() bool, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// clkTck is USER_HZ, 100 on every Linux architecture Go supports.
const clkTck = 100.0

// cpuTicks is utime+stime of a process in clock ticks.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// rssMB returns VmRSS and VmHWM (peak) in MB, 0 if the process is gone.
func rssMB(pid int) (rss, peak float64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	return parseStatus(b)
}

// parseStatus reads VmRSS and VmHWM from a /proc/<pid>/status in MB.
func parseStatus(b []byte) (rss, peak float64) {
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, _ := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss = kb / 1024
		case "VmHWM:":
			peak = kb / 1024
		}
	}
	return rss, peak
}

func raiseNofile(want uint64) error {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return err
	}
	if r.Cur >= want {
		return nil
	}
	r.Cur = want
	r.Max = max(r.Max, want)
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
}

// agentFootprint runs the real wacht-agent with its default checks against
// a fresh SQLite server for the window and samples /proc every second.
func agentFootprint(c config) (AgentFootprint, error) {
	f := AgentFootprint{Window: c.agentWindow, BinaryPath: filepath.Join(c.bin, "wacht-agent")}
	fi, err := os.Stat(f.BinaryPath)
	if err != nil {
		return f, err
	}
	f.BinaryMB = float64(fi.Size()) / (1 << 20)
	tmp, err := os.MkdirTemp("", "wacht-bench-agent-")
	if err != nil {
		return f, err
	}
	if !c.keep {
		defer os.RemoveAll(tmp)
	}
	addr, err := freeAddr()
	if err != nil {
		return f, err
	}
	srv := &server{bin: c.bin, data: filepath.Join(tmp, "server"), addr: addr}
	if err := srv.start(); err != nil {
		return f, err
	}
	defer srv.stop()
	tok, err := srv.admin("token", "create", "--create", "--client", "Bench GmbH", "--site", "Labor", "--url", "https://"+addr)
	if err != nil {
		return f, err
	}
	data := filepath.Join(tmp, "agent")
	if out, err := exec.Command(f.BinaryPath, "enroll", "--data", data, "--token", tok).CombinedOutput(); err != nil {
		return f, fmt.Errorf("enrolling the agent: %v: %s", err, out)
	}
	cmd := exec.Command(f.BinaryPath, "run", "--data", data)
	var logb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logb, &logb
	if err := cmd.Start(); err != nil {
		return f, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	fmt.Fprintf(os.Stderr, "\n== real agent for %v\n", c.agentWindow)
	pid := cmd.Process.Pid
	c0, t0 := cpuTicks(pid), time.Now()
	var sum float64
	var n int
	for time.Since(t0) < c.agentWindow {
		time.Sleep(time.Second)
		rss, _ := rssMB(pid)
		if rss == 0 {
			return f, fmt.Errorf("agent exited: %s", logb.String())
		}
		sum += rss
		n++
		f.RSSMBMax = max(f.RSSMBMax, rss)
	}
	f.RSSMBAvg = sum / float64(n)
	f.CPUPct = float64(cpuTicks(pid)-c0) / clkTck / time.Since(t0).Seconds() * 100
	return f, nil
}
