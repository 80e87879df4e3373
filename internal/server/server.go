// Package server wires `wacht serve` together: the store, TLS on one HTTPS
// port, the agent gateway, the REST API and the dashboard, with graceful
// shutdown; and it holds the logic of the admin CLI commands, which work on
// the same store while the server runs.
package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/wacht-rmm/wacht/internal/codesign"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/netdev"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/server/metrics"
	"github.com/wacht-rmm/wacht/internal/server/tlsconf"
	"github.com/wacht-rmm/wacht/internal/server/web"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
)

// Setting keys that `wacht token create` reads.
const (
	SettingServerURL       = service.SettingServerURL
	SettingCertFingerprint = service.SettingCertFingerprint
)

// Defaults.
const (
	DefaultDataDir         = "./wacht-data"
	DefaultListen          = ":8443"
	DefaultShutdownTimeout = 30 * time.Second
	// MaxBodyBytes bounds request bodies of the API and the dashboard
	// unless a handler sets a tighter limit.
	MaxBodyBytes = 1 << 20
)

// Config configures Run. Zero values take the defaults.
type Config struct {
	DataDir    string // default ./wacht-data
	Listen     string // default :8443
	DBURL      string // postgres://…; empty = SQLite in DataDir
	TLSCert    string // PEM certificate file, with TLSKey
	TLSKey     string
	ACMEDomain string // obtain the certificate via ACME (tls-alpn-01)
	URL        string // public URL agents dial; default https://localhost:<port>
	// NodeURL is where the other nodes of a cluster reach this one
	// (https://host:port); default NodeURL's choice.
	NodeURL string
	Log     *slog.Logger

	MaxHandshakes   int           // TLS handshakes computing at once, default one per CPU
	ShutdownTimeout time.Duration // graceful shutdown bound, default 30 s

	// Alerting: offline sweep period (default 10 s) and the back-off
	// bounds of failed notification deliveries (defaults 5 s and 1 h).
	AlertSweep, AlertRetryMin, AlertRetryMax time.Duration
	// AlertGiveUp is how long a failing notification is retried after
	// its creation before it is given up (default 24 h).
	AlertGiveUp time.Duration
	// Heartbeat is the interval told to agents (default 30 s); a device
	// counts as online for core.OnlineWindow(Heartbeat) after its last
	// contact (90 s by default); offline alerts need offline_after above
	// the heartbeat.
	Heartbeat time.Duration
	// MaxUpload bounds an uploaded package file (default
	// blobs.DefaultMaxSize, 4 GiB).
	MaxUpload int64
	// ReleaseKeys are release public key files trusted besides
	// <DataDir>/release.pub (wacht serve --release-key).
	ReleaseKeys []string
	// CodeSign signs MSIs as they are published (wacht serve
	// --codesign-cert/--codesign-key).
	CodeSign codesign.Config
	// MetricsToken, if set, serves the Prometheus metrics at /metrics on
	// the main listener to requests with "Authorization: Bearer
	// <MetricsToken>" (wacht serve --metrics-token-file). MetricsListen,
	// if set, serves them without authentication over plain HTTP on an
	// address of their own, which must be private (--metrics-listen).
	// Without either, /metrics is 404 (docs/monitoring.md).
	MetricsToken, MetricsListen string
}

func (c *Config) defaults() {
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
}

// Run serves until ctx is cancelled, then shuts down gracefully: it stops
// accepting connections, lets every results batch in flight commit and be
// acked, closes the agent websockets with StatusGoingAway, shuts the HTTP
// server down and closes the store. The listening address is logged as
// msg=listening addr=HOST:PORT.
func Run(ctx context.Context, cfg Config) error {
	cfg.defaults()
	log := cfg.Log
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data folder: %w", err)
	}
	st, err := store.Open(ctx, cfg.DBURL, cfg.DataDir)
	if err != nil {
		return fmt.Errorf("opening store: %w", err)
	}
	defer st.Close()
	// Devices count as online for a few heartbeats (core.OnlineWindow).
	st.SetOnlineWindow(core.OnlineWindow(cfg.Heartbeat))

	raw, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	defer raw.Close()
	publicURL, err := PublicURL(cfg.URL, cfg.ACMEDomain, raw.Addr())
	if err != nil {
		return err
	}
	u, _ := url.Parse(publicURL)
	tlsCfg, fingerprint, err := tlsconf.Setup(tlsconf.Options{
		Dir:        filepath.Join(cfg.DataDir, "tls"),
		ACMEDir:    filepath.Join(cfg.DataDir, "acme"),
		CertFile:   cfg.TLSCert,
		KeyFile:    cfg.TLSKey,
		ACMEDomain: cfg.ACMEDomain,
		Hosts:      []string{u.Hostname()},
	})
	if err != nil {
		return err
	}
	if err := st.SetSetting(ctx, SettingServerURL, publicURL); err != nil {
		return fmt.Errorf("storing server URL: %w", err)
	}
	if err := st.SetSetting(ctx, SettingCertFingerprint, fingerprint); err != nil {
		return fmt.Errorf("storing certificate fingerprint: %w", err)
	}
	// The SPKI pin of the same certificate, for curl in the install
	// commands (service.Commands).
	pin := ""
	if fingerprint != "" && len(tlsCfg.Certificates) > 0 {
		if pin, err = tlsconf.SPKIPin(tlsCfg.Certificates[0].Certificate[0]); err != nil {
			return err
		}
	}
	if err := st.SetSetting(ctx, service.SettingCertPin, pin); err != nil {
		return fmt.Errorf("storing certificate pin: %w", err)
	}

	// Network devices' secrets are sealed with this key; several nodes on
	// one PostgreSQL database need the same file (docs/internals.md).
	box, err := seal.LoadKey(filepath.Join(cfg.DataDir, seal.KeyFile))
	if err != nil {
		return err
	}
	resolver := newResolver(st, log, box)
	if _, err := resolver.Seed(ctx); err != nil {
		return fmt.Errorf("seeding the built-in policies: %w", err)
	}
	// Policies (and later actions) are signed with this key; agents pin its
	// public key. Several nodes need the same file (docs/cluster.md).
	signer, err := actionkey.Load(filepath.Join(cfg.DataDir, actionkey.File), nil)
	if err != nil {
		return err
	}
	probePolicy := netdev.ProbePolicy{Base: resolver, Store: st, Box: box}
	mset := metrics.New()
	alerts := alert.New(alert.Options{Store: st, Log: log, SweepInterval: cfg.AlertSweep, Singleton: st.TrySingleton,
		RetryMin: cfg.AlertRetryMin, RetryMax: cfg.AlertRetryMax, GiveUpAfter: cfg.AlertGiveUp, DeliveryFailed: mset.DeliveryFailed,
		AlertAfter: alert.PolicyAlertAfter(func(ctx context.Context, id int64) (map[string]json.RawMessage, error) {
			_, eff, err := resolver.Effective(ctx, id)
			m := map[string]json.RawMessage{}
			for _, c := range eff.Checks {
				m[c.Name] = c.Params
			}
			return m, err
		}, time.Minute)})
	actx, stopAlerts := context.WithCancel(context.WithoutCancel(ctx))
	alertsDone := make(chan struct{})
	go func() { alerts.Run(actx); close(alertsDone) }()
	defer func() { stopAlerts(); <-alertsDone }() // before the store closes
	// Daily reports and digests: one node of a cluster queues them.
	reports := report.New(report.Options{Store: st, Log: log, Singleton: st.TrySingleton, Nudge: alerts.Nudge})
	rctx, stopReports := context.WithCancel(ctx)
	reportsDone := make(chan struct{})
	go func() { reports.Run(rctx); close(reportsDone) }()
	defer func() { stopReports(); <-reportsDone }() // before the store closes
	hctx, stopHistory := context.WithCancel(ctx)
	historyDone := make(chan struct{})
	go func() { maintainHistory(hctx, st, log); close(historyDone) }()
	defer func() { stopHistory(); <-historyDone }() // before the store closes
	// Website checks of network devices without a probe run here, on one
	// node of a cluster at a time.
	webRunner := &netdev.ServerRunner{Policy: probePolicy, Store: st, Settings: st, Log: log.With("component", "server-checks"),
		OnResults: alerts.OnResults}
	wctx, stopWeb := context.WithCancel(ctx)
	webDone := make(chan struct{})
	go func() {
		st.Lead(wctx, "server-checks", func(ctx context.Context) {
			log.Info("leading", "job", "server-checks")
			webRunner.Run(ctx)
		})
		close(webDone)
	}()
	defer func() { stopWeb(); <-webDone }() // before the store closes
	// Several nodes share PostgreSQL only. They reach each other directly
	// at their node URLs, authenticated with a key derived from
	// secret.key, and verify each other by the certificate they share.
	var cluster gateway.ClusterStore
	var relay gateway.RelayOptions
	if st.Clustered() {
		cluster = st
		nodeURL, err := NodeURL(cfg.NodeURL, cfg.Listen, raw.Addr())
		if err != nil {
			return err
		}
		relay = gateway.RelayOptions{URL: nodeURL, Key: box.Derive("cluster-relay"), TLS: tlsconf.PeerConfig(fingerprint, cfg.ACMEDomain)}
		log.Info("cluster node", "node_url", nodeURL)
	}
	releaseKeys, err := LoadReleaseKeys(cfg.DataDir, cfg.ReleaseKeys)
	if err != nil {
		return err
	}
	if len(releaseKeys) > 0 {
		log.Info("release keys", "fingerprints", releaseKeysInfo(releaseKeys))
	}
	var updates lateUpdates
	// Queued script runs go out when their agent connects (the
	// dispatcher exists once the service does).
	var scripts atomic.Pointer[service.ScriptDispatcher]
	// The service takes the tray apps' support requests once it exists
	// (before the listener opens).
	var support lateSupport
	// Patch policies carry the technicians' decisions and the maintenance
	// windows (issue 19), tray policies the client's branding (issue 20).
	agentPolicy := gateway.TrayPolicies{Base: gateway.PatchPolicies{Base: probePolicy, Store: st}, Store: st}
	gw := gateway.New(gateway.Options{Store: st, Log: log, ActionKey: signer, Policy: agentPolicy, Alerts: alerts, Heartbeat: cfg.Heartbeat,
		Results: netdev.Router{Store: st, Log: log}, Cluster: cluster, Relay: relay, Support: &support,
		ReleaseKeys: releaseKeys, Updates: &updates, Metrics: mset,
		Connected: func(id int64) {
			if d := scripts.Load(); d != nil {
				d.Kick(id)
			}
		}})
	mset.Watch(metrics.Sources{DB: st.SQL(), Sessions: gw.Hub().Sessions, OutboxBacklog: st.OutboxBacklog})
	audits := service.NewAuditQueue(st, log)
	// Uploaded package files; with several nodes every node needs them
	// (docs/cluster.md).
	bs, err := blobs.Open(cfg.DataDir, cfg.MaxUpload)
	if err != nil {
		return err
	}
	handler, svc, err := newHandler(st, gw, log, box, audits, bs, releaseDeps(releaseKeys, cfg.CodeSign),
		func(d *service.Deps) { d.Heartbeat = cfg.Heartbeat })
	if err != nil {
		return err
	}
	support.svc.Store(svc)
	updates.svc.Store(svc)
	// Agent rollouts run on one node at a time.
	octx, stopRollouts := context.WithCancel(ctx)
	rolloutsDone := make(chan struct{})
	go func() { runRollouts(octx, st, svc, log.With("component", "rollouts")); close(rolloutsDone) }()
	defer func() { stopRollouts(); <-rolloutsDone }() // before the store closes
	// Each node removes the package files nobody names from its folder.
	bctx, stopSweep := context.WithCancel(ctx)
	sweepDone := make(chan struct{})
	go func() { sweepBlobs(bctx, svc, log); close(sweepDone) }()
	defer func() { stopSweep(); <-sweepDone }() // before the store closes
	// Each node sends the runs of the agents it holds.
	dispatcher := svc.ScriptDispatcher(service.DispatchOptions{})
	scripts.Store(dispatcher)
	jctx, stopScripts := context.WithCancel(context.WithoutCancel(ctx))
	scriptsDone := make(chan struct{})
	go func() { dispatcher.Run(jctx); close(scriptsDone) }()
	defer func() { stopScripts(); <-scriptsDone }() // before the store closes
	srv := &http.Server{
		Handler:           hsts(metrics.Guard(handler, mset.Handler(), cfg.MetricsToken)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second, // hijacked websockets clear their deadlines
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
		// No HTTP/2: agent websockets need HTTP/1.1 upgrades.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
	}
	ln := tlsconf.NewListener(raw, tlsCfg, tlsconf.ListenerOptions{MaxHandshakes: cfg.MaxHandshakes, Log: log})

	if cfg.MetricsToken != "" {
		log.Info("metrics at /metrics with the bearer token")
	}
	stopMetrics, err := serveMetrics(cfg.MetricsListen, mset.Handler(), log)
	if err != nil {
		return err
	}
	defer stopMetrics()

	if fingerprint != "" {
		log.Info("TLS certificate", "sha256", fingerprint)
	} else {
		log.Info("TLS certificate via ACME", "domain", cfg.ACMEDomain)
	}
	log.Info("listening", "addr", ln.Addr().String(), "url", publicURL)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}

	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	ln.Close() // stop accepting first
	if err := gw.Hub().Shutdown(sctx); err != nil {
		log.Warn("agent sessions did not close in time", "err", err)
	}
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("HTTP shutdown incomplete", "err", err)
	}
	if err := audits.Close(sctx); err != nil {
		log.Error("audit entries left unwritten (logged above)", "err", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
		log.Warn("serve ended", "err", err)
	}
	stopWeb()
	<-webDone
	// Results evaluated by now have their messages in the outbox; the
	// rest are reconciled at the next start.
	stopAlerts()
	<-alertsDone
	log.Info("stopped")
	return nil
}

// MinMetricsTokenLen is the shortest bearer token ReadMetricsToken accepts.
const MinMetricsTokenLen = 16

// ReadMetricsToken reads the bearer token of /metrics from a file (wacht
// serve --metrics-token-file), trimmed of surrounding white space.
func ReadMetricsToken(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading the metrics token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < MinMetricsTokenLen {
		return "", fmt.Errorf("the metrics token in %s is shorter than %d characters", path, MinMetricsTokenLen)
	}
	return tok, nil
}

// serveMetrics serves h at metrics.Path over plain HTTP on addr, if set,
// until the returned function is called. The address is logged as
// msg="metrics listening" addr=HOST:PORT.
func serveMetrics(addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listening on %s: %w", addr, err)
	}
	// Only the metrics, unauthenticated: the address is private (documented).
	only := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != metrics.Path {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
	srv := &http.Server{Handler: only, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 60 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
	log.Info("metrics listening", "addr", ln.Addr().String())
	done := make(chan struct{})
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("metrics listener ended", "err", err)
		}
		close(done)
	}()
	return func() { srv.Close(); <-done }, nil
}

// Handler mounts the gateway at /api/agent/, the API at /api/v1/ and the
// dashboard at /, the latter two behind a MaxBodyBytes request body limit,
// and sends Strict-Transport-Security on every HTTPS response.
func Handler(st core.Store, gw *gateway.Gateway, log *slog.Logger) (http.Handler, error) {
	h, _, err := newHandler(st, gw, log, nil, nil, nil)
	return hsts(h), err
}

// newResolver is the resolver of the agents' policies: it sends desired
// software states with the packages' secrets and download tickets, both
// keyed from box.
func newResolver(st policy.FullStore, log *slog.Logger, box *seal.Box) *policy.Resolver {
	return policy.NewResolver(st, log).SetSoftware(service.SoftwareDeps(box))
}

// newHandler is Handler with the key that seals network devices' secrets,
// the queue that writes commands' audit entries and the store of package
// files, which agents download at blobs.Path with tickets keyed from box;
// without HSTS, which its callers add around everything they serve.
func newHandler(st core.Store, gw *gateway.Gateway, log *slog.Logger, box *seal.Box, audits *service.AuditQueue, bs *blobs.Store, opts ...func(*service.Deps)) (http.Handler, *service.Service, error) {
	// One service layer under both transports.
	// The hub is also the service's Remote (signed actions and streams).
	var _ service.Remote = gw.Hub()
	deps := service.Deps{Store: st, Commander: gw.Hub(), Log: log, Secrets: box, Audits: audits, Blobs: bs}
	for _, o := range opts {
		o(&deps)
	}
	svc := service.New(deps)
	apiH := api.New(svc, log)
	webH, err := web.New(web.Deps{Store: st, Service: svc, Log: log})
	if err != nil {
		return nil, nil, fmt.Errorf("building dashboard: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/agent/", gw)
	mux.Handle(api.AgentInstallerPattern, api.AgentInstallers(svc, svc, log))
	if bs != nil && box != nil {
		mux.Handle(blobs.Path, blobs.Handler(bs, blobs.NewTickets(box.Derive(blobs.TicketPurpose)), st, log))
	}
	mux.Handle("/internal/", gw) // between cluster nodes, authenticated by MAC
	mux.Handle("/api/v1/", limitBody(apiH, MaxBodyBytes))
	mux.Handle("/", limitBody(webH, MaxBodyBytes))
	return mux, svc, nil
}

// hstsValue tells browsers to reach this host only over HTTPS for a year.
// It leaves out includeSubDomains: other hosts of the operator's domain are
// not ours to pin.
const hstsValue = "max-age=31536000"

// hsts sends Strict-Transport-Security on every response that went over TLS
// (all of them, since the server listens only for HTTPS); RFC 6797 forbids
// it on plain HTTP.
func hsts(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", hstsValue)
		}
		next.ServeHTTP(w, r)
	})
}

func limitBody(h http.Handler, n int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody && !streamed(r) {
			r.Body = http.MaxBytesReader(w, r.Body, n)
		}
		h.ServeHTTP(w, r)
	})
}

// streamed reports a file upload (PUT …/devices/{id}/files/content of the
// API or the dashboard): its body streams to the device, bounded by its
// Content-Length, which the agent is told in the signed opening, not by
// MaxBodyBytes; or a package file (PUT /api/v1/packages/{id}/file),
// bounded by Config.MaxUpload; or a published agent file (POST
// /api/v1/agent-files), bounded the same way.
func streamed(r *http.Request) bool {
	if r.Method == http.MethodPost && (r.URL.Path == "/api/v1/agent-files" || r.URL.Path == web.AgentsUploadPath) {
		return true
	}
	return r.Method == http.MethodPut && (strings.HasSuffix(r.URL.Path, "/files/content") ||
		strings.HasPrefix(r.URL.Path, "/api/v1/packages/") && strings.HasSuffix(r.URL.Path, "/file"))
}

// PublicURL is the URL agents dial: explicit if given (it must be https),
// https://<domain> with ACME, else https://localhost:<listening port>.
func PublicURL(explicit, acmeDomain string, addr net.Addr) (string, error) {
	if explicit != "" {
		u, err := url.Parse(explicit)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return "", fmt.Errorf("--url %q must be an https:// URL with a host", explicit)
		}
		return explicit, nil
	}
	if acmeDomain != "" {
		return "https://" + acmeDomain, nil
	}
	port := "443"
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(ta.Port)
	}
	if port == "443" {
		return "https://localhost", nil
	}
	return "https://localhost:" + port, nil
}

// NodeURL is where the other nodes of a cluster reach this one: explicit
// if given (it must be https), else https://<host>:<listening port> with
// the host of --listen, or this machine's host name when --listen names
// no host (":8443", "0.0.0.0:8443").
func NodeURL(explicit, listen string, addr net.Addr) (string, error) {
	if explicit != "" {
		u, err := url.Parse(explicit)
		if err != nil || u.Scheme != "https" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return "", fmt.Errorf("--node-url %q must be an https:// URL with a host and no path", explicit)
		}
		return strings.TrimSuffix(explicit, "/"), nil
	}
	host, _, _ := net.SplitHostPort(listen)
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		h, err := os.Hostname()
		if err != nil {
			return "", fmt.Errorf("naming this node for the other nodes (set --node-url): %w", err)
		}
		host = h
	}
	port := "443"
	if ta, ok := addr.(*net.TCPAddr); ok {
		port = strconv.Itoa(ta.Port)
	}
	return "https://" + net.JoinHostPort(host, port), nil
}

// lateSupport hands support requests to the service, which is built after
// the gateway (it needs the hub); until then it refuses them, and the
// agents send them again.
type lateSupport struct {
	svc atomic.Pointer[service.Service]
}

func (l *lateSupport) ReceiveSupportRequest(ctx context.Context, deviceID int64, r protocol.SupportRequest) (core.SupportRequest, error) {
	svc := l.svc.Load()
	if svc == nil {
		return core.SupportRequest{}, errors.New("the server is starting")
	}
	return svc.ReceiveSupportRequest(ctx, deviceID, r)
}
