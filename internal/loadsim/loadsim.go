// Package loadsim simulates many Wacht agents in one process for load
// tests: each simulated agent has its own ed25519 key and device, enrolls
// once (cached in a file so that reruns re-attach), holds a real TLS
// websocket session with the signed-challenge handshake, produces about 15
// check results on the 24x7 schedule plus a daily batch into an in-memory
// queue that survives reconnects, sends them in acked batches and answers
// signed actions (verified with the action key pinned at enrollment):
// run-checks, and script runs, which it simulates. It measures what the benchmarks report: agents connected,
// results sent and acked per second, batch send-to-ack latency, command
// round trips through the REST API, and errors by kind.
//
// It reuses the real agent's TLS pinning (agent.NewHTTPClient) and the
// protocol package, and deliberately imports nothing of the server or the
// store, so that it measures the server from outside.
package loadsim

import (
	"container/heap"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wacht-rmm/wacht/internal/agent"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Options configure a simulation. Zero values take the defaults noted.
type Options struct {
	Server string // server URL; default the one in Token (required without Token)
	Token  string // enrollment token; needed for agents not in the cache
	// Fingerprint pins the server certificate when there is no Token
	// (default: the one cached or in the token).
	Fingerprint string

	Agents int // agents in the whole run
	// Index and Of split a run over several processes: this one simulates
	// the agents i with i % Of == Index (default 0 of 1).
	Index, Of int

	Duration time.Duration // producing time; 0 = until the context ends
	Ramp     time.Duration // agents start evenly spread over this (default 30 s)
	Drain    time.Duration // after Duration, wait this long for queues to empty (default 60 s)

	Cache string // agent cache file (required)
	Name  string // prefix of the simulated machine IDs and host names (default "loadsim")

	Interval time.Duration // 24x7 schedule interval (default 5 min)
	Checks   int           // results per round (default 15)
	Daily    int           // results of the once-a-day batch (default 40; negative = none)
	FailRate float64       // share of results crossing a threshold (default 0.02)
	Flood    bool          // ingest test: send full batches back to back
	// Stagger runs each agent's first round at a random time within the
	// first Interval instead of at its start, as agents that have been
	// running for a while are spread: a steady rate from the first minute.
	Stagger bool
	Batch   int // results per batch at most (default protocol.MaxBatch)
	// ScriptDuration is how long a simulated script run takes before it
	// answers exit 0 (default 1 s).
	ScriptDuration time.Duration

	BackoffMin time.Duration // reconnect backoff like the agent's (default 1 s)
	BackoffMax time.Duration // (default 60 s)
	AckTimeout time.Duration // (default 60 s)

	// APIToken enables command round trips through POST
	// /api/v1/devices/{id}/run-checks.
	APIToken       string
	CommandRate    float64       // commands per second to random connected agents
	BroadcastAfter time.Duration // once, after all agents connected plus this; 0 = never

	Live      io.Writer     // live status lines (nil = none)
	LiveEvery time.Duration // default 5 s
	Log       *slog.Logger
}

func (o *Options) defaults() error {
	if o.Agents <= 0 {
		return errors.New("loadsim: number of agents must be positive")
	}
	if o.Of <= 0 {
		o.Of = 1
	}
	if o.Index < 0 || o.Index >= o.Of {
		return fmt.Errorf("loadsim: index %d is not in 0..%d", o.Index, o.Of-1)
	}
	setDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	setDur(&o.Ramp, 30*time.Second)
	setDur(&o.Drain, 60*time.Second)
	setDur(&o.Interval, 5*time.Minute)
	setDur(&o.BackoffMin, time.Second)
	setDur(&o.BackoffMax, 60*time.Second)
	setDur(&o.AckTimeout, 60*time.Second)
	setDur(&o.LiveEvery, 5*time.Second)
	setDur(&o.ScriptDuration, time.Second)
	if o.Cache == "" {
		return errors.New("loadsim: no agent cache file")
	}
	if o.Name == "" {
		o.Name = "loadsim"
	}
	if o.Checks <= 0 {
		o.Checks = len(schedule)
	}
	if o.Daily == 0 {
		o.Daily = 40
	}
	if o.FailRate == 0 {
		o.FailRate = 0.02
	}
	if o.Batch <= 0 || o.Batch > protocol.MaxBatch {
		o.Batch = protocol.MaxBatch
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Sim is one loadsim process's share of a run.
type Sim struct {
	o        Options
	server   string // normalized URL
	fp       string
	secret   string // enrollment token secret
	client   *http.Client
	api      *http.Client
	wsURL    string
	agents   []*simAgent
	cache    *cache
	enrollMu chan struct{} // bounds concurrent enrollments

	stopProducing atomic.Bool
	start         time.Time

	connected  atomic.Int64
	enrolled   atomic.Int64
	reattached atomic.Int64
	produced   atomic.Int64
	sent       atomic.Int64
	acked      atomic.Int64
	batches    atomic.Int64
	commands   atomic.Int64 // commands the agents accepted (signature verified)
	scripts    atomic.Int64 // script runs the agents finished
	scriptDups atomic.Int64 // script requests answered from the journal
	cmdOK      atomic.Int64 // API round trips that succeeded
	cmdFailed  atomic.Int64

	// AckLatency is the time from sending a batch to its ack; CommandRTT the
	// time of one POST run-checks (API → server → agent → back);
	// BroadcastRTT the same for the commands of a broadcast.
	AckLatency, CommandRTT, BroadcastRTT Histogram

	errMu  sync.Mutex
	errors map[string]int64

	bcast atomic.Pointer[BroadcastResult]
}

// New prepares a simulation: it reads the agent cache and raises the
// open-file limit. Nothing is dialled yet.
func New(o Options) (*Sim, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	s := &Sim{o: o, errors: map[string]int64{}, enrollMu: make(chan struct{}, 16)}
	if o.Token != "" {
		tok, err := protocol.ParseToken(o.Token)
		if err != nil {
			return nil, err
		}
		s.secret, s.fp = tok.Secret, tok.Fingerprint
		if o.Server == "" {
			o.Server = tok.URL
		}
	}
	if o.Fingerprint != "" {
		s.fp = o.Fingerprint
	}
	u, err := url.Parse(strings.TrimSpace(o.Server))
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("loadsim: server URL %q is not like https://host:port", o.Server)
	}
	s.server = strings.TrimRight("https://"+u.Host+u.Path, "/")
	s.wsURL = "wss://" + u.Host + strings.TrimRight(u.Path, "/") + protocol.PathWS

	local := 0
	for i := o.Index; i < o.Agents; i += o.Of {
		local++
	}
	// Each agent holds one socket; keep room for API calls and files.
	if lim, err := raiseFileLimit(uint64(local) + 256); err == nil && lim < uint64(local)+64 {
		o.Log.Warn("open-file limit is below the agent count; split the run with --index/--of",
			"limit", lim, "agents", local)
	}
	cached, err := loadCache(o.Cache, s.server)
	if err != nil {
		return nil, err
	}
	if s.cache, err = openCache(o.Cache); err != nil {
		return nil, err
	}
	for i := o.Index; i < o.Agents; i += o.Of {
		a := &simAgent{s: s, idx: i, kick: make(chan struct{}, 1)}
		if e, ok := cached[i]; ok {
			if s.fp == "" {
				s.fp = e.FP
			}
			a.key, a.actionKey, a.fromCache = ed25519.NewKeyFromSeed(e.Seed), e.AK, true
			a.device.Store(e.Device)
		}
		s.agents = append(s.agents, a)
	}
	if s.secret == "" {
		for _, a := range s.agents {
			if a.device.Load() == 0 {
				s.cache.close()
				return nil, fmt.Errorf("loadsim: agent %d is not in the cache %s and there is no --token to enroll it", a.idx, o.Cache)
			}
		}
	}
	s.client = agent.NewHTTPClient(s.fp)
	s.api = agent.NewHTTPClient(s.fp)
	s.api.Transport.(*http.Transport).MaxIdleConnsPerHost = 512
	s.o = o
	return s, nil
}

func (s *Sim) countError(kind string) {
	s.errMu.Lock()
	s.errors[kind]++
	s.errMu.Unlock()
}

// Errors returns the errors counted so far by kind.
func (s *Sim) Errors() map[string]int64 {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	m := make(map[string]int64, len(s.errors))
	for k, v := range s.errors {
		m[k] = v
	}
	return m
}

// Agents is the number of agents this process simulates.
func (s *Sim) Agents() int { return len(s.agents) }

// Connected is the number of agents with a welcomed session right now.
func (s *Sim) Connected() int { return int(s.connected.Load()) }

// Counters are cumulative counts of a running simulation.
type Counters struct {
	Connected, Agents                        int
	Enrolled, Reattached                     int64
	Produced, Sent, Acked, Pending, Batches  int64
	CommandsAnswered, CommandOK, CommandFail int64
	ScriptsRun, ScriptDuplicates             int64
}

// Counters returns the current counts.
func (s *Sim) Counters() Counters {
	c := Counters{
		Connected: s.Connected(), Agents: len(s.agents),
		Enrolled: s.enrolled.Load(), Reattached: s.reattached.Load(),
		Produced: s.produced.Load(), Sent: s.sent.Load(), Acked: s.acked.Load(), Batches: s.batches.Load(),
		CommandsAnswered: s.commands.Load(), CommandOK: s.cmdOK.Load(), CommandFail: s.cmdFailed.Load(),
		ScriptsRun: s.scripts.Load(), ScriptDuplicates: s.scriptDups.Load(),
	}
	c.Pending = c.Produced - c.Acked
	return c
}

// Summary is the outcome of Run.
type Summary struct {
	Counters
	MaxConnected   int
	ConnectedAtEnd int           // when producing ended, before draining
	Elapsed        time.Duration // from start to the end of producing
	SentPerSec     float64
	AckedPerSec    float64
	AckP50, AckP99 time.Duration
	AckMax         time.Duration
	CmdP50, CmdP99 time.Duration
	Broadcast      *BroadcastResult
	Errors         map[string]int64
}

// Run runs the simulation until Duration has passed (or ctx ends), then
// stops producing, waits up to Drain for every queued result to be acked,
// closes the sessions normally and returns the summary.
func (s *Sim) Run(ctx context.Context) (Summary, error) {
	defer s.cache.close()
	s.start = time.Now()
	runCtx, stopAgents := context.WithCancel(context.Background())
	defer stopAgents()
	prodCtx, stopProd := context.WithCancel(ctx)
	defer stopProd()
	if s.o.Duration > 0 {
		var cancel context.CancelFunc
		prodCtx, cancel = context.WithTimeout(prodCtx, s.o.Duration)
		defer cancel()
	}

	var wg sync.WaitGroup
	n := len(s.agents)
	for j, a := range s.agents {
		delay := time.Duration(int64(s.o.Ramp) * int64(j) / int64(n))
		wg.Go(func() { a.run(runCtx, prodCtx, delay) })
	}
	var maxConn atomic.Int64
	var aux sync.WaitGroup
	aux.Go(func() { s.produce(prodCtx) })
	aux.Go(func() { s.live(prodCtx, &maxConn) })
	if s.o.APIToken != "" && s.o.CommandRate > 0 {
		aux.Go(func() { s.commandLoop(prodCtx) })
	}
	if s.o.APIToken != "" && s.o.BroadcastAfter > 0 {
		aux.Go(func() {
			if s.waitAllConnected(prodCtx) && sleepCtx(prodCtx, s.o.BroadcastAfter) {
				r := s.Broadcast(prodCtx)
				s.bcast.Store(&r)
			}
		})
	}
	<-prodCtx.Done()
	s.stopProducing.Store(true)
	aux.Wait()
	elapsed := time.Since(s.start)
	connEnd := s.Connected()
	maxC := max(int(maxConn.Load()), connEnd)

	// Drain: everything produced should be acked before we leave.
	deadline := time.Now().Add(s.o.Drain)
	for s.produced.Load() > s.acked.Load() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	stopAgents()
	wg.Wait()

	sum := Summary{
		Counters: s.Counters(), MaxConnected: maxC, Elapsed: elapsed, ConnectedAtEnd: connEnd,
		AckP50: s.AckLatency.Quantile(0.5), AckP99: s.AckLatency.Quantile(0.99), AckMax: s.AckLatency.Max(),
		CmdP50: s.CommandRTT.Quantile(0.5), CmdP99: s.CommandRTT.Quantile(0.99),
		Broadcast: s.bcast.Load(), Errors: s.Errors(),
	}
	if secs := elapsed.Seconds(); secs > 0 {
		sum.SentPerSec = float64(sum.Sent) / secs
		sum.AckedPerSec = float64(sum.Acked) / secs
	}
	if sum.Pending > 0 {
		return sum, fmt.Errorf("loadsim: %d results still unacked after draining for %v", sum.Pending, s.o.Drain)
	}
	return sum, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (s *Sim) waitAllConnected(ctx context.Context) bool {
	for s.Connected() < len(s.agents) {
		if !sleepCtx(ctx, 100*time.Millisecond) {
			return false
		}
	}
	return true
}

// due is one pending production: a 24x7 round or the daily batch.
type due struct {
	at    time.Time
	a     *simAgent
	daily bool
}

type dueHeap []due

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(due)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// produce runs every agent's schedule from one goroutine: the first round
// when the agent starts (as the real agent runs its checks at start), then
// every Interval, whether connected or not; the daily batch at a random
// time of the day.
func (s *Sim) produce(ctx context.Context) {
	if s.o.Flood {
		return // flood agents produce on demand
	}
	h := make(dueHeap, 0, 2*len(s.agents))
	n := len(s.agents)
	for j, a := range s.agents {
		first := s.start.Add(time.Duration(int64(s.o.Ramp) * int64(j) / int64(n)))
		if s.o.Stagger {
			first = s.start.Add(randDuration(s.o.Interval))
		}
		h = append(h, due{at: first, a: a})
		if s.o.Daily > 0 {
			h = append(h, due{at: s.start.Add(randDuration(24 * time.Hour)), a: a, daily: true})
		}
	}
	heap.Init(&h)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		now := time.Now()
		for len(h) > 0 && !h[0].at.After(now) {
			d := h[0]
			if d.daily {
				d.a.enqueue(makeResults(daily, s.o.Daily, s.o.FailRate, nowMS()))
				d.at = d.at.Add(24 * time.Hour)
			} else {
				d.a.enqueue(makeResults(schedule, s.o.Checks, s.o.FailRate, nowMS()))
				d.at = d.at.Add(s.o.Interval)
			}
			h[0] = d
			heap.Fix(&h, 0)
		}
		t.Reset(time.Until(h[0].at))
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func randDuration(d time.Duration) time.Duration { return rand.N(d) }

// live prints a status line every LiveEvery and tracks the most agents
// connected at once.
func (s *Sim) live(ctx context.Context, maxConn *atomic.Int64) {
	t := time.NewTicker(min(s.o.LiveEvery, time.Second))
	defer t.Stop()
	last, lastAt, lastPrint := s.Counters(), time.Now(), time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		c := s.Counters()
		if int64(c.Connected) > maxConn.Load() {
			maxConn.Store(int64(c.Connected))
		}
		if s.o.Live == nil || time.Since(lastPrint) < s.o.LiveEvery {
			continue
		}
		secs := time.Since(lastAt).Seconds()
		fmt.Fprintf(s.o.Live, "%5.0fs connected %d/%d  results sent %.0f/s acked %.0f/s  pending %d  ack p99 %s  cmd p50/p99 %s/%s  errors %s\n",
			time.Since(s.start).Seconds(), c.Connected, c.Agents,
			float64(c.Sent-last.Sent)/secs, float64(c.Acked-last.Acked)/secs, c.Pending,
			ms(s.AckLatency.Quantile(0.99)), ms(s.CommandRTT.Quantile(0.5)), ms(s.CommandRTT.Quantile(0.99)),
			FormatErrors(s.Errors()))
		last, lastAt, lastPrint = c, time.Now(), time.Now()
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }

// FormatErrors writes errors by kind as "kind=n …", sorted; "none" if empty.
func FormatErrors(m map[string]int64) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	return b.String()
}

// Print writes a summary for people.
func (sum Summary) Print(w io.Writer) {
	fmt.Fprintf(w, "agents:            %d simulated, %d connected at most, %d at the end (%d enrolled now, %d from the cache)\n",
		sum.Agents, sum.MaxConnected, sum.ConnectedAtEnd, sum.Enrolled, sum.Reattached)
	fmt.Fprintf(w, "results:           %d produced, %d sent (%.0f/s), %d acked (%.0f/s), %d unacked, %d batches in %v\n",
		sum.Produced, sum.Sent, sum.SentPerSec, sum.Acked, sum.AckedPerSec, sum.Pending, sum.Batches, sum.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "batch send→ack:    p50 %s  p99 %s  max %s\n", ms(sum.AckP50), ms(sum.AckP99), ms(sum.AckMax))
	fmt.Fprintf(w, "commands:          %d answered by agents; API round trips %d ok, %d failed, p50 %s  p99 %s\n",
		sum.CommandsAnswered, sum.CommandOK, sum.CommandFail, ms(sum.CmdP50), ms(sum.CmdP99))
	fmt.Fprintf(w, "script runs:       %d run, %d answered again from the journal\n", sum.ScriptsRun, sum.ScriptDuplicates)
	if b := sum.Broadcast; b != nil {
		fmt.Fprintf(w, "broadcast:         %d agents in %v (%d ok, %d failed), p50 %s  p99 %s\n",
			b.Agents, b.Took.Round(time.Millisecond), b.OK, b.Failed, ms(b.P50), ms(b.P99))
	}
	fmt.Fprintf(w, "errors:            %s\n", FormatErrors(sum.Errors))
}
