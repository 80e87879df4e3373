package server

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

var metricsListenRE = regexp.MustCompile(`msg="metrics listening" addr=([0-9.:]+)`)

// scrape fetches url with the bearer token (none if empty) and returns the
// status and, on 200, the parsed metric families.
func scrape(t *testing.T, hc *http.Client, url, token string) (int, map[string]*dto.MetricFamily) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing %s: %v", url, err)
	}
	return resp.StatusCode, fams
}

// value is the value of the family's only series (a gauge, counter or
// untyped metric; a histogram's count), failing if there is not exactly one.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string) float64 {
	t.Helper()
	f := fams[name]
	if f == nil || len(f.Metric) != 1 {
		t.Fatalf("metric %s: %v, want one series", name, f)
	}
	m := f.Metric[0]
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	t.Fatalf("metric %s has no value", name)
	return 0
}

func TestReadMetricsToken(t *testing.T) {
	dir := t.TempDir()
	good, short := filepath.Join(dir, "good"), filepath.Join(dir, "short")
	os.WriteFile(good, []byte("  0123456789abcdef-xyz\n"), 0o600)
	os.WriteFile(short, []byte("0123456789abcde\n\n"), 0o600)
	if tok, err := ReadMetricsToken(good); err != nil || tok != "0123456789abcdef-xyz" {
		t.Errorf("ReadMetricsToken = %q, %v; want the trimmed content", tok, err)
	}
	if tok, err := ReadMetricsToken(short); err == nil {
		t.Errorf("a 15-character token was accepted: %q", tok)
	}
	if _, err := ReadMetricsToken(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing token file was accepted")
	}
}

// TestMetrics scrapes a real server, with the bearer token on the main
// listener and without on a listener of its own, while an agent connects
// and sends results; and checks that the Grafana dashboard queries only
// metrics the server has.
func TestMetrics(t *testing.T) {
	data := t.TempDir()
	const token = "metrics-token-for-the-test"
	srv := startConfig(t, Config{DataDir: data, MetricsToken: token, MetricsListen: "127.0.0.1:0"})
	m := metricsListenRE.FindStringSubmatch(srv.logs.String())
	if m == nil {
		t.Fatalf("metrics listener not logged:\n%s", srv.logs.String())
	}
	ctx := context.Background()
	st, err := OpenStore(ctx, data, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hc := pinnedClient(t, st, 10*time.Second)
	main, private := "https://"+srv.addr+"/metrics", "http://"+m[1]+"/metrics"

	for _, tok := range []string{"", "wrong", token + "x", strings.ToUpper(token)} {
		if code, _ := scrape(t, hc, main, tok); code != http.StatusUnauthorized {
			t.Errorf("main listener with token %q: %d, want 401", tok, code)
		}
	}
	code, fams := scrape(t, hc, main, token)
	if code != http.StatusOK {
		t.Fatalf("main listener with the token: %d", code)
	}
	// /metrics is answered over HTTPS like every other route: with HSTS.
	if resp, err := hc.Get(main); err != nil {
		t.Fatal(err)
	} else if resp.Body.Close(); resp.Header.Get("Strict-Transport-Security") != hstsValue {
		t.Errorf("/metrics without HSTS: %q", resp.Header.Get("Strict-Transport-Security"))
	}
	if v := value(t, fams, "wacht_agent_sessions"); v != 0 {
		t.Errorf("wacht_agent_sessions = %v before any agent connected", v)
	}
	for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "wacht_outbox_backlog",
		"go_sql_open_connections", "go_sql_max_open_connections", "go_sql_wait_count_total"} {
		if fams[name] == nil {
			t.Errorf("metric %s missing", name)
		}
	}
	if l := fams["go_sql_open_connections"].GetMetric()[0].GetLabel(); len(l) != 1 || l[0].GetValue() != "wacht" {
		t.Errorf("go_sql_open_connections labels %v, want db_name=wacht", l)
	}
	if v := value(t, fams, "wacht_outbox_backlog"); v != 0 {
		t.Errorf("wacht_outbox_backlog = %v on a new server", v)
	}

	// An agent enrolls, connects and sends a batch of two results.
	tok, _, err := CreateToken(ctx, st, TokenOptions{Create: true, Client: "Metrik AG", Site: "Kassel", DataDir: data}, protocol.Now())
	if err != nil {
		t.Fatal(err)
	}
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	body, _ := json.Marshal(protocol.EnrollRequest{Token: tok.Secret, PublicKey: pub, Hostname: "pc1", OS: "linux", MachineID: "m1"})
	resp, err := hc.Post("https://"+srv.addr+protocol.PathEnroll, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var er protocol.EnrollResponse
	json.NewDecoder(resp.Body).Decode(&er)
	resp.Body.Close()
	if er.DeviceID == 0 {
		t.Fatalf("enroll: %d", resp.StatusCode)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(wctx, "wss://"+srv.addr+protocol.PathWS, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	// readUntil reads envelopes until one of type typ.
	readUntil := func(typ string) protocol.Envelope {
		t.Helper()
		for {
			_, b, err := conn.Read(wctx)
			if err != nil {
				t.Fatalf("waiting for %s: %v", typ, err)
			}
			env, err := protocol.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if env.Type == typ {
				return env
			}
		}
	}
	write := func(typ, id string, v any) {
		t.Helper()
		b, _ := protocol.Encode(typ, id, v)
		if err := conn.Write(wctx, websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	var ch protocol.Challenge
	protocol.DecodeData(readUntil(protocol.TypeChallenge), &ch)
	write(protocol.TypeAuth, "", protocol.Auth{DeviceID: er.DeviceID, Signature: protocol.SignAuth(key, ch.Nonce, er.DeviceID)})
	readUntil(protocol.TypeWelcome)
	_, fams = scrape(t, hc, private, "")
	if v := value(t, fams, "wacht_agent_sessions"); v != 1 {
		t.Errorf("wacht_agent_sessions = %v with one agent connected", v)
	}
	write(protocol.TypeResults, "b1", protocol.Results{Results: []core.Result{
		{ID: "r1", Check: "cpu", Status: core.StatusOK, At: protocol.Now()},
		{ID: "r2", Check: "disk", Status: core.StatusOK, At: protocol.Now()}}})
	if env := readUntil(protocol.TypeAck); env.ID != "b1" {
		t.Fatalf("ack %s, want b1", env.ID)
	}
	if code, _ := scrape(t, hc, "http://"+m[1]+"/login", ""); code != http.StatusNotFound {
		t.Errorf("the metrics listener serves /login: %d, want 404", code)
	}
	// The private listener needs no token; both serve the same registry.
	for _, url := range []string{private, main} {
		code, fams := scrape(t, hc, url, token)
		if code != http.StatusOK {
			t.Fatalf("%s: %d", url, code)
		}
		if v := value(t, fams, "wacht_results_ingested_total"); v != 2 {
			t.Errorf("%s: wacht_results_ingested_total = %v, want 2", url, v)
		}
		if v := value(t, fams, "wacht_results_batch_commit_seconds"); v != 1 {
			t.Errorf("%s: %v batch commits observed, want 1", url, v)
		}
	}

	// Every metric the dashboard queries is in the scrape.
	_, fams = scrape(t, hc, private, "")
	for _, name := range dashboardMetrics(t) {
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if f := fams[strings.TrimSuffix(name, suffix)]; f != nil && (f.GetType() == dto.MetricType_HISTOGRAM || f.GetType() == dto.MetricType_SUMMARY) {
				base = strings.TrimSuffix(name, suffix)
			}
		}
		if fams[base] == nil {
			t.Errorf("the dashboard queries %s, which the server does not export", name)
		}
	}
}

var metricNameRE = regexp.MustCompile(`\b(?:wacht|go|process)_[a-z_]+\b`)

// dashboardMetrics lists the metric names in the expressions of
// docs/grafana-dashboard.json's panels.
func dashboardMetrics(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "docs", "grafana-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	var names []string
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("dashboard panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			names = append(names, metricNameRE.FindAllString(tg.Expr, -1)...)
		}
	}
	if len(names) == 0 {
		t.Fatal("the dashboard queries no metrics")
	}
	return names
}
