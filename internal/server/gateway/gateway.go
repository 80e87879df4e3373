// Package gateway is the server's side of the agent protocol: enrollment
// over HTTPS (POST /api/agent/enroll) and the agent websocket
// (GET /api/agent/ws) with its signed-challenge authentication, results
// ingest (ack only after commit), heartbeats, signed actions (Hub.Do,
// Hub.Command) and flow-controlled streams (Hub.OpenStream), relayed
// directly between the nodes of a cluster (the /internal/ routes). The Hub
// tracks the connected agents and is the api.Commander.
package gateway

import (
	"context"
	"crypto/ed25519"
	"log/slog"
	"net/http"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/preauth"
)

// Store is what the gateway needs from the database.
type Store interface {
	core.TokenStore
	core.DeviceStore
	core.ResultStore
	core.AuditStore
	core.InventoryStore
	core.PatchStore
	// DeviceSupportRequests lists a device's recent support requests
	// (core.SupportStore), which go back to its agent.
	DeviceSupportRequests(ctx context.Context, deviceID int64, since time.Time, limit int) ([]core.SupportRequest, error)
	// TouchDevices records many devices' last contact at once (heartbeats).
	TouchDevices(ctx context.Context, seen map[int64]time.Time) error
}

// Options configure a Gateway. Zero durations take the defaults below.
type Options struct {
	Store Store
	Log   *slog.Logger
	// ActionKey signs every policy push; its public key goes to agents at
	// enrollment and in the welcome. Required.
	ActionKey *actionkey.Signer
	// ActionKeyReload is how often the action key files are re-read to
	// pick up a rotation (default DefaultActionKeyReload; negative: never).
	ActionKeyReload time.Duration
	// Heartbeat is the interval told to agents (default 30 s); a session
	// that sends nothing for three intervals is closed.
	Heartbeat time.Duration
	// AuthTimeout bounds the wait for the agent's auth frame (default 5 s).
	AuthTimeout time.Duration
	// MaxUnauthenticated and MaxUnauthenticatedPerSource cap websockets
	// waiting for their auth frame, in total and per source (IPv4 address,
	// IPv6 /64); beyond a cap the one waiting longest is closed (defaults
	// 2048 and 1024).
	MaxUnauthenticated, MaxUnauthenticatedPerSource int
	// SummaryInterval is how often refused and failed unauthenticated
	// sessions are logged, as one line with counts (default 1 min).
	SummaryInterval time.Duration
	// CommandTimeout applies to Command calls whose context has no deadline
	// (default 30 s).
	CommandTimeout time.Duration
	// EnrollFailures and EnrollRefill size the per-source token bucket for
	// failed enrollments: that many failures at once, one more per refill
	// interval (defaults 10 and 30 s). Beyond it, a valid token still
	// enrolls, while failures are answered slowly (enroll.go).
	EnrollFailures int
	EnrollRefill   time.Duration
	// Now is the clock (default protocol.Now).
	Now func() time.Time
	// Policy, if set, gives each agent its effective policy after welcome
	// and on Hub.PushPolicies.
	Policy PolicySource
	// PolicyResync is how often every connected agent's policy is
	// recomputed and re-sent if changed (default 5 min; negative: never).
	// It catches changes that no PushPolicies announced: a device's new
	// role or site, or a change made on another server node.
	PolicyResync time.Duration
	// Alerts, if set, hears of every committed results batch and of
	// announced goodbyes (the alert engine).
	Alerts AlertHook
	// Results, if set, splits each results batch by the device it is for
	// (a probe agent reports for the network devices it watches).
	Results ResultRouter
	// Cluster, if set, makes this server one node of several on one
	// PostgreSQL database: commands, streams, policy pushes and
	// disconnects reach agents connected to the other nodes
	// (docs/cluster.md). Relay is then required.
	Cluster ClusterStore
	Relay   RelayOptions
	// Support, if set, stores the support requests of the tray apps
	// (issue 20); without it they are not acknowledged.
	Support SupportReceiver
	// Connected, if set, is called when an agent's session on this node
	// has been welcomed (queued script runs go out then); it must not
	// block.
	Connected func(deviceID int64)
	// ReleaseKeys are the release public keys (ed25519) agents pin for
	// their self-updates; sent at enrollment and in every welcome.
	ReleaseKeys []ed25519.PublicKey
	// Updates, if set, records the self-update outcomes agents report
	// when they connect (protocol.Auth.Update).
	Updates UpdateRecorder
	// Metrics, if set, hears of stored results batches and answered
	// commands (metrics.Set implements it).
	Metrics Metrics
}

// Metrics is told what the gateway did, for the Prometheus metrics; its
// methods must be cheap and safe for concurrent use.
type Metrics interface {
	// ResultsCommitted: n results of one batch were stored in took.
	ResultsCommitted(n int, took time.Duration)
	// CommandDone: a command's round trip took took and ended with err.
	CommandDone(took time.Duration, err error)
}

// UpdateRecorder records an agent's report of its newest self-update
// (service.Service implements it); the agent repeats the report until
// welcomed, so recording must be idempotent.
type UpdateRecorder interface {
	RecordUpdate(ctx context.Context, deviceID int64, rep protocol.UpdateReport) error
}

// releaseKeys returns the release keys as the protocol carries them.
func (g *Gateway) releaseKeys() [][]byte {
	if len(g.opts.ReleaseKeys) == 0 {
		return nil
	}
	out := make([][]byte, len(g.opts.ReleaseKeys))
	for i, k := range g.opts.ReleaseKeys {
		out[i] = []byte(k)
	}
	return out
}

// ResultRouter assigns a batch from one agent to devices; results it
// leaves out are dropped (acked, not stored).
type ResultRouter interface {
	Route(ctx context.Context, deviceID int64, rs []core.Result) (map[int64][]core.Result, error)
}

// AlertHook receives what the alert engine needs from agent sessions.
type AlertHook interface {
	// OnResults is called after a batch committed, before the ack; it
	// must not block (the ack must not wait for notifications).
	OnResults(deviceID int64, rs []core.Result)
	// Goodbye records an announced shutdown, reboot or service stop.
	Goodbye(ctx context.Context, deviceID int64, reason string) error
}

// Defaults.
const (
	DefaultHeartbeat      = core.DefaultHeartbeat
	DefaultAuthTimeout    = 5 * time.Second
	DefaultCommandTimeout = 30 * time.Second
	DefaultPolicyResync   = 5 * time.Minute
	// A websocket takes up to about 70 KB, so the caps bound those waiting
	// for their auth frame to about 140 MB in all. The per-source cap is
	// high enough for a reconnect storm of 10,000 agents behind one
	// address on a saturated server (docs/benchmarks.md).
	DefaultMaxUnauthenticated          = 2048
	DefaultMaxUnauthenticatedPerSource = 1024
	DefaultSummaryInterval             = time.Minute
	writeTimeout                       = 10 * time.Second
	maxEnrollBody                      = 64 << 10
	// maxAuthBytes is the read limit until the agent authenticated; its
	// auth frame takes under 1 KiB.
	maxAuthBytes = 4 << 10
)

// Gateway serves the agent routes.
type Gateway struct {
	opts     Options
	log      *slog.Logger
	hub      *Hub
	throttle *throttle
	mux      *http.ServeMux
	seen     *seenBuffer
	waiting  *preauth.Pool  // websockets waiting for their auth frame
	refused  *preauth.Tally // refused and failed unauthenticated sessions
}

// New returns a Gateway. Mount it so that it sees full paths
// (protocol.PathEnroll and protocol.PathWS).
func New(o Options) *Gateway {
	if o.ActionKey == nil {
		panic("gateway: Options.ActionKey is required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.AuthTimeout <= 0 {
		o.AuthTimeout = DefaultAuthTimeout
	}
	if o.MaxUnauthenticated <= 0 {
		o.MaxUnauthenticated = DefaultMaxUnauthenticated
	}
	if o.MaxUnauthenticatedPerSource <= 0 {
		o.MaxUnauthenticatedPerSource = DefaultMaxUnauthenticatedPerSource
	}
	if o.SummaryInterval <= 0 {
		o.SummaryInterval = DefaultSummaryInterval
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = DefaultCommandTimeout
	}
	if o.EnrollFailures <= 0 {
		o.EnrollFailures = 10
	}
	if o.EnrollRefill <= 0 {
		o.EnrollRefill = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = protocol.Now
	}
	log := o.Log.With("component", "gateway")
	g := &Gateway{
		opts:     o,
		log:      log,
		hub:      newHub(log, o.CommandTimeout, o.ActionKey, o.Metrics),
		throttle: newThrottle(o.EnrollFailures, o.EnrollRefill),
		mux:      http.NewServeMux(),
		waiting:  preauth.NewPool(o.MaxUnauthenticated, o.MaxUnauthenticatedPerSource),
		refused:  preauth.NewTally(log, "agent sessions refused or failed before authentication", o.SummaryInterval),
	}
	g.seen = newSeenBuffer(o.Store.TouchDevices, log)
	g.hub.running.Add(1) // Shutdown waits for the last flush
	go func() {
		defer g.hub.running.Done()
		g.seen.run(core.SeenFlush(o.Heartbeat), g.hub.stopped)
		g.refused.Close() // the last summary
	}()
	if o.Cluster != nil {
		if o.Relay.URL == "" || len(o.Relay.Key) < 32 || o.Relay.TLS == nil {
			panic("gateway: Options.Relay needs a URL, a 32-byte key and a TLS configuration with Cluster")
		}
		g.hub.node = newNode(g.hub, o.Cluster, o.Relay)
		go g.hub.node.run()
	}
	if o.Policy != nil && o.PolicyResync >= 0 {
		every := o.PolicyResync
		if every == 0 {
			every = DefaultPolicyResync
		}
		go g.hub.resyncPolicies(every)
	}
	if o.ActionKeyReload >= 0 {
		every := o.ActionKeyReload
		if every == 0 {
			every = DefaultActionKeyReload
		}
		go g.hub.reloadActionKeys(g, every)
	}
	g.mux.HandleFunc("POST "+protocol.PathEnroll, g.enroll)
	g.mux.HandleFunc("GET "+protocol.PathWS, g.serveWS)
	// Between the nodes of a cluster (relay.go), authenticated by MAC.
	g.mux.HandleFunc("POST /internal/v1/relay/command", g.serveRelayCommand)
	g.mux.HandleFunc("GET /internal/v1/relay/stream", g.serveRelayStream)
	g.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such agent route", "not_found")
	})
	return g
}

// Hub returns the registry of connected agents (the api.Commander).
func (g *Gateway) Hub() *Hub { return g.hub }

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) { g.mux.ServeHTTP(w, r) }
