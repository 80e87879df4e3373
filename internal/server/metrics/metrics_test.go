package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wacht-rmm/wacht/internal/core"
)

func scrape(t *testing.T, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, Path, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", w.Code, w.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// byLabel maps a family's label value (its only label) to the counter
// value or histogram count.
func byLabel(f *dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for _, m := range f.GetMetric() {
		v := m.GetCounter().GetValue()
		if m.Histogram != nil {
			v = float64(m.GetHistogram().GetSampleCount())
		}
		out[m.GetLabel()[0].GetValue()] = v
	}
	return out
}

func TestEvents(t *testing.T) {
	s := New()
	s.CommandDone(time.Millisecond, nil)
	s.CommandDone(time.Second, fmt.Errorf("command x to device 1: %w", core.ErrOffline))
	s.CommandDone(time.Second, fmt.Errorf("command x to device 1: %w", context.DeadlineExceeded))
	s.CommandDone(time.Second, errors.New("signing failed"))
	s.CommandDone(time.Millisecond, nil)
	s.DeliveryFailed(core.ChannelWebhook)
	s.ResultsCommitted(5, time.Millisecond)
	s.ResultsCommitted(2, time.Millisecond)
	fams := scrape(t, s.Handler())

	want := map[string]float64{"ok": 2, "offline": 1, "timeout": 1, "error": 1}
	if got := byLabel(fams["wacht_command_duration_seconds"]); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("commands by outcome %v, want %v", got, want)
	}
	want = map[string]float64{core.ChannelEmail: 0, core.ChannelWebhook: 1}
	if got := byLabel(fams["wacht_outbox_delivery_failures_total"]); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delivery failures %v, want %v", got, want)
	}
	if v := fams["wacht_results_ingested_total"].GetMetric()[0].GetCounter().GetValue(); v != 7 {
		t.Errorf("results ingested %v, want 7", v)
	}
	if n := fams["wacht_results_batch_commit_seconds"].GetMetric()[0].GetHistogram().GetSampleCount(); n != 2 {
		t.Errorf("%d batch commits, want 2", n)
	}
	if fams["go_goroutines"] == nil {
		t.Error("no Go runtime metrics")
	}
}

// A failed backlog query leaves that one metric out of the scrape.
func TestWatchBacklogFailure(t *testing.T) {
	s := New()
	fail := true
	s.Watch(Sources{Sessions: func() int { return 4 }, OutboxBacklog: func(ctx context.Context) (int, error) {
		if fail {
			return 0, errors.New("database gone")
		}
		return 12, nil
	}})
	fams := scrape(t, s.Handler())
	if fams["wacht_outbox_backlog"] != nil {
		t.Error("backlog reported although its query failed")
	}
	if v := fams["wacht_agent_sessions"].GetMetric()[0].GetGauge().GetValue(); v != 4 {
		t.Errorf("sessions %v, want 4", v)
	}
	fail = false
	if v := scrape(t, s.Handler())["wacht_outbox_backlog"].GetMetric()[0].GetGauge().GetValue(); v != 12 {
		t.Errorf("backlog %v, want 12", v)
	}
}

func TestGuard(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	m := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	const tok = "0123456789abcdef"
	for _, c := range []struct {
		token, path, auth string
		want              int
	}{
		{"", Path, "", http.StatusNotFound},
		{"", Path, "Bearer ", http.StatusNotFound},
		{"", "/login", "", http.StatusTeapot},
		{tok, "/login", "", http.StatusTeapot},
		{tok, Path, "", http.StatusUnauthorized},
		{tok, Path, "Bearer 0123456789abcdeF", http.StatusUnauthorized},
		{tok, Path, "Basic " + tok, http.StatusUnauthorized},
		{tok, Path, tok, http.StatusUnauthorized},
		{tok, Path, "Bearer " + tok, http.StatusOK},
		{tok, Path + "/", "Bearer " + tok, http.StatusTeapot},
	} {
		r := httptest.NewRequest(http.MethodGet, c.path, nil)
		if c.auth != "" {
			r.Header.Set("Authorization", c.auth)
		}
		w := httptest.NewRecorder()
		Guard(next, m, c.token).ServeHTTP(w, r)
		if w.Code != c.want {
			t.Errorf("token %q, %s with %q: %d, want %d", c.token, c.path, c.auth, w.Code, c.want)
		}
		if w.Code == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate")
		}
	}
}
