// Package metrics is the server's Prometheus instrumentation (issue 24):
// one registry of its own (not the global default) with the Go runtime,
// the process, the database pool, the agent sessions of this node, result
// ingest, command latency and the notification outbox, and the handler
// that serves it, guarded by a bearer token or on a listener of its own.
package metrics

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Path is where the metrics are served.
const Path = "/metrics"

// Set holds the registry and the metrics the server's parts feed. Its
// methods are safe for concurrent use.
type Set struct {
	reg              *prometheus.Registry
	results          prometheus.Counter
	commit           prometheus.Histogram
	commands         *prometheus.HistogramVec
	deliveryFailures *prometheus.CounterVec
}

// New returns a set with the Go runtime and process collectors and the
// metrics that are fed by events; Watch adds the ones read on demand.
func New() *Set {
	s := &Set{
		reg: prometheus.NewRegistry(),
		results: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wacht_results_ingested_total",
			Help: "Check results stored from agent batches on this node (a redelivered batch counts again).",
		}),
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wacht_results_batch_commit_seconds",
			Help:    "Time to store one agent results batch (all its transactions) before the ack.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14), // 1 ms … 8 s
		}),
		commands: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wacht_command_duration_seconds",
			Help:    "Time from sending a command to an agent to its answer, by outcome (ok, offline, timeout, error).",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14), // 5 ms … 41 s
		}, []string{"outcome"}),
		deliveryFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wacht_outbox_delivery_failures_total",
			Help: "Failed notification delivery attempts (each is retried later), by channel.",
		}, []string{"channel"}),
	}
	// The labels exist before the first event, so dashboards show zeros.
	for _, o := range []string{"ok", "offline", "timeout", "error"} {
		s.commands.WithLabelValues(o)
	}
	for _, c := range []string{core.ChannelEmail, core.ChannelWebhook} {
		s.deliveryFailures.WithLabelValues(c)
	}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		s.results, s.commit, s.commands, s.deliveryFailures)
	return s
}

// Sources are what Watch reads at each scrape.
type Sources struct {
	// DB is the store's connection pool (go_sql_* with db_name="wacht").
	DB *sql.DB
	// Sessions counts the authenticated agent sessions on this node.
	Sessions func() int
	// OutboxBacklog counts the notifications still to be delivered (not
	// delivered, not given up).
	OutboxBacklog func(ctx context.Context) (int, error)
}

// outboxTimeout bounds the backlog query of one scrape.
const outboxTimeout = 5 * time.Second

// Watch registers the metrics read at each scrape; call it once.
func (s *Set) Watch(src Sources) {
	if src.DB != nil {
		s.reg.MustRegister(collectors.NewDBStatsCollector(src.DB, "wacht"))
	}
	if src.Sessions != nil {
		s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wacht_agent_sessions",
			Help: "Agents connected to this node (authenticated sessions).",
		}, func() float64 { return float64(src.Sessions()) }))
	}
	if src.OutboxBacklog != nil {
		s.reg.MustRegister(&backlog{count: src.OutboxBacklog, desc: prometheus.NewDesc("wacht_outbox_backlog",
			"Notifications queued and still to be delivered, given-up ones left out (all nodes share the outbox).", nil, nil)})
	}
}

// backlog queries the store at each scrape; a failed query leaves the
// metric out (an absent series, not a false zero).
type backlog struct {
	count func(ctx context.Context) (int, error)
	desc  *prometheus.Desc
}

func (b *backlog) Describe(ch chan<- *prometheus.Desc) { ch <- b.desc }

func (b *backlog) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), outboxTimeout)
	defer cancel()
	n, err := b.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(b.desc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(b.desc, prometheus.GaugeValue, float64(n))
}

// ResultsCommitted counts a stored results batch of n results that took
// took to commit (the gateway calls it).
func (s *Set) ResultsCommitted(n int, took time.Duration) {
	s.results.Add(float64(n))
	s.commit.Observe(took.Seconds())
}

// CommandDone records a command's round trip and its outcome.
func (s *Set) CommandDone(took time.Duration, err error) {
	s.commands.WithLabelValues(outcome(err)).Observe(took.Seconds())
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, core.ErrOffline):
		return "offline"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	default:
		return "error"
	}
}

// DeliveryFailed counts a failed notification delivery attempt.
func (s *Set) DeliveryFailed(channel string) {
	s.deliveryFailures.WithLabelValues(channel).Inc()
}

// Handler serves the registry in the Prometheus exposition format, without
// any access check (Guard adds one). A metric that cannot be read (the
// backlog query failed) is left out; the rest is still served.
func (s *Set) Handler() http.Handler {
	return promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{Registry: s.reg, ErrorHandling: promhttp.ContinueOnError})
}

// Guard serves Path from metrics to requests that carry
// "Authorization: Bearer <token>" (compared in constant time) and answers
// 401 to others; with an empty token Path is 404, as if it did not exist.
// Every other path goes to next.
func Guard(next, metrics http.Handler, token string) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != Path {
			next.ServeHTTP(w, r)
			return
		}
		if token == "" {
			http.NotFound(w, r)
			return
		}
		got := []byte(strings.TrimSpace(r.Header.Get("Authorization")))
		if subtle.ConstantTimeCompare(got, want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		metrics.ServeHTTP(w, r)
	})
}
