package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
	webassets "github.com/wacht-rmm/wacht/web"
)

// addDiskHistory stores n earlier results of disk "/" on d, one per
// minute before the seeded one, every tenth a warning.
func addDiskHistory(t testing.TB, f *fixture, n int) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	var rs []core.Result
	for i := 1; i <= n; i++ {
		v := 50 + float64(i%40) + 0.25
		st := core.StatusOK
		if i%10 == 0 {
			st = core.StatusWarning
		}
		rs = append(rs, core.Result{ID: fmt.Sprintf("dh-%d", i), Check: "disk", Key: "/", Status: st, Value: &v, Unit: "%",
			Message: core.Text{EN: fmt.Sprintf("volume / is %.2f%% full", v), DE: fmt.Sprintf("Laufwerk / ist zu %s %% belegt", strings.Replace(fmt.Sprintf("%.2f", v), ".", ",", 1))},
			At:      now.Add(-time.Duration(i) * time.Minute)})
	}
	if err := f.st.SaveResults(context.Background(), f.device.ID, rs); err != nil {
		t.Fatal(err)
	}
}

func TestHistoryPage(t *testing.T) {
	f := newFixture(t)
	addDiskHistory(t, f, 250)
	// An old result, outside 24 h and 7 days, inside 30 days.
	old := 3.5
	if err := f.st.SaveResults(context.Background(), f.device.ID, []core.Result{{ID: "old", Check: "disk", Key: "/",
		Status: core.StatusFailure, Value: &old, Unit: "%", Message: core.Text{EN: "old one", DE: "ein alter"},
		At: time.Now().Add(-10 * 24 * time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	dev := "/devices/" + strconv.FormatInt(f.device.ID, 10)
	hist := dev + "/history?check=disk&key=%2F"

	// The device page links each check to its history.
	b := f.browser(t, "en")
	b.login("readonly@example.com", testPassword)
	p := b.do("GET", dev, nil)
	if !strings.Contains(p.body, `href="`+dev+`/history?check=disk&amp;key=%2f"`) && !strings.Contains(p.body, `href="`+dev+`/history?check=disk&amp;key=%2F"`) {
		t.Errorf("device page has no history link for disk /:\n%s", p.body)
	}
	if !strings.Contains(p.body, `href="`+dev+`/history?check=cpu&amp;key="`) {
		t.Error("device page has no history link for cpu")
	}

	p = b.do("GET", hist, nil)
	if p.status != http.StatusOK {
		t.Fatalf("history page: %d\n%s", p.status, p.body)
	}
	for _, want := range []string{
		`id="history-title">History: Disk`, `<code id="history-key">/</code>`,
		`id="range-24h" class="active" aria-current="page"`, `id="range-7d"`, `id="range-30d"`,
		`volume / is 91.5% full`, `<td class="num">91.5%</td>`, `st-warning`,
		`Showing the latest 200 of 251 results in this period.`,
		`Latest results`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("English history page lacks %q", want)
		}
	}
	if n := strings.Count(p.body, `<tr class="result">`); n != historyTableRows {
		t.Errorf("table rows = %d, want %d", n, historyTableRows)
	}
	if strings.Contains(p.body, "old one") {
		t.Error("24 h range shows a 10-day-old result")
	}
	// Newest first: the seeded current result before the history.
	if i, j := strings.Index(p.body, "91.5% full"), strings.Index(p.body, "volume / is 51.25% full"); i < 0 || j < 0 || i > j {
		t.Errorf("rows not newest first (%d, %d)", i, j)
	}
	if _, err := fs.Stat(webassets.FS, "static/"+uplotFile); err == nil {
		if !strings.Contains(p.body, `id="history-chart"`) || !strings.Contains(p.body, `/static/vendor/uPlot.iife.min.js`) ||
			!strings.Contains(p.body, `/static/history.js`) {
			t.Error("uPlot is built in but the page has no chart")
		}
	}

	p = b.do("GET", hist+"&range=30d", nil)
	if !strings.Contains(p.body, `id="range-30d" class="active"`) || !strings.Contains(p.body, `252 results`) {
		t.Errorf("30-day range: %d", p.status)
	}
	if !strings.Contains(b.do("GET", hist+"&range=30d", nil).body, `href="`+dev+`/history?check=disk&amp;key=%2F&amp;range=7d"`) {
		t.Error("range links do not keep check and key")
	}

	// German: labels, decimal comma, German message, thousands separator.
	de := f.browser(t, "de-DE,de")
	de.login("admin@example.com", testPassword)
	p = de.do("GET", hist, nil)
	for _, want := range []string{`Verlauf: `, `Neueste Ergebnisse`, `24 Stunden`, `7 Tage`, `30 Tage`, `Zeitpunkt`,
		`<td class="num">91,5 %</td>`, `Laufwerk / ist zu 91,5 % belegt`, `Angezeigt werden die neuesten 200 von 251 Ergebnissen`} {
		if !strings.Contains(html.UnescapeString(p.body), want) {
			t.Errorf("German history page lacks %q", want)
		}
	}

	// A check that never reported: an empty table, no chart.
	p = b.do("GET", dev+"/history?check=ping&key=", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="history-none"`) || strings.Contains(p.body, `id="history-chart"`) {
		t.Errorf("unknown check: %d", p.status)
	}
	// No check named: 400; an unknown device: 404.
	if p := b.do("GET", dev+"/history", nil); p.status != http.StatusBadRequest {
		t.Errorf("history without check: %d, want 400", p.status)
	}
	if p := b.do("GET", "/devices/999999/history?check=cpu", nil); p.status != http.StatusNotFound {
		t.Errorf("unknown device: %d, want 404", p.status)
	}
}

// TestHistoryForeignDevice: a user limited to another client gets 404.
func TestHistoryForeignDevice(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	other, _, err := f.st.EnsureClientSite(ctx, "Fremde AG", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	ro := f.users[core.RoleReadOnly]
	if err := f.st.SetUserRole(ctx, ro.ID, core.RoleReadOnly, core.Only(other.ID)); err != nil {
		t.Fatal(err)
	}
	b := f.browser(t, "en")
	b.login("readonly@example.com", testPassword)
	path := "/devices/" + strconv.FormatInt(f.device.ID, 10) + "/history?check=disk&key=%2F"
	if p := b.do("GET", path, nil); p.status != http.StatusNotFound || strings.Contains(p.body, "91.5") {
		t.Errorf("foreign device's history: %d, want 404 without data", p.status)
	}
}

// TestHistoryWithoutUPlot serves assets without static/vendor: the table is
// there, the chart and its scripts are not.
func TestHistoryWithoutUPlot(t *testing.T) {
	assets := fstest.MapFS{}
	err := fs.WalkDir(webassets.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(p, "static/vendor/") {
			return err
		}
		b, err := fs.ReadFile(webassets.FS, p)
		assets[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.NewSQLite(t)
	d, _ := seed(t, st, "pc-01")
	h, err := newServer(Deps{Store: st, Service: service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Commander: &fakeCommander{}})}, assets)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, srv: httptest.NewTLSServer(h), device: d}
	defer f.srv.Close()
	addDiskHistory(t, f, 5)
	b := f.browser(t, "en")
	b.login("admin@example.com", testPassword)
	p := b.do("GET", "/devices/"+strconv.FormatInt(d.ID, 10)+"/history?check=disk&key=%2F", nil)
	if p.status != http.StatusOK || strings.Count(p.body, `<tr class="result">`) != 6 {
		t.Errorf("history without uPlot: %d, %d rows", p.status, strings.Count(p.body, `<tr class="result">`))
	}
	if strings.Contains(p.body, "uPlot") || strings.Contains(p.body, "history.js") || strings.Contains(p.body, `id="history-chart"`) {
		t.Error("page without uPlot references the chart")
	}
}

func TestLangInt(t *testing.T) {
	for _, c := range []struct {
		n      int
		en, de string
	}{{0, "0", "0"}, {999, "999", "999"}, {1000, "1,000", "1.000"}, {1234567, "1,234,567", "1.234.567"}, {-5000, "-5,000", "-5.000"}} {
		if got := langOf(langEN).Int(c.n); got != c.en {
			t.Errorf("en %d = %q, want %q", c.n, got, c.en)
		}
		if got := langOf(langDE).Int(c.n); got != c.de {
			t.Errorf("de %d = %q, want %q", c.n, got, c.de)
		}
	}
}

// TestHistoryTruncated: a period with more results than the API limit says
// so, and the chart data holds exactly the limit, oldest first.
func TestHistoryTruncated(t *testing.T) {
	f := newFixture(t)
	addDiskHistory(t, f, service.MaxHistoryLimit) // plus the seeded one
	b := f.browser(t, "de")
	b.login("admin@example.com", testPassword)
	p := b.do("GET", "/devices/"+strconv.FormatInt(f.device.ID, 10)+"/history?check=disk&key=%2F&range=7d", nil)
	body := html.UnescapeString(p.body)
	if !strings.Contains(body, `id="history-truncated"`) && strings.Contains(body, `id="history-chart"`) {
		t.Error("no note that the chart is truncated")
	}
	if !strings.Contains(body, "die neuesten 200 von 5.000 Ergebnissen") {
		t.Errorf("capped note missing or not German-formatted")
	}
	_, uplotErr := fs.Stat(webassets.FS, "static/"+uplotFile)
	if i := strings.Index(body, `data-series="`); i < 0 && uplotErr == nil {
		t.Error("uPlot is built in but the page has no chart data")
	} else if i >= 0 {
		var s historySeries
		raw := body[i+len(`data-series="`):]
		raw = raw[:strings.Index(raw, `"`+" role=")]
		if err := json.Unmarshal([]byte(raw), &s); err != nil {
			t.Fatalf("chart data: %v", err)
		}
		if len(s.T) != service.MaxHistoryLimit || len(s.V) != len(s.T) || len(s.Status) != len(s.T) || s.Lang != "de" || s.Unit != "%" {
			t.Errorf("chart data: %d times, %d values, %d statuses, lang %q unit %q", len(s.T), len(s.V), len(s.Status), s.Lang, s.Unit)
		}
		for i := 1; i < len(s.T); i++ {
			if s.T[i] < s.T[i-1] {
				t.Fatalf("chart times not ascending at %d", i)
			}
		}
	}
}

// TestHistoryRollups: results past the raw retention appear in the 30-day
// range as hourly summaries, in both languages.
func TestHistoryRollups(t *testing.T) {
	f := newFixture(t)
	hour := time.Now().UTC().Add(-20 * 24 * time.Hour).Truncate(time.Hour)
	var rs []core.Result
	for i, st := range []core.Status{core.StatusOK, core.StatusWarning} {
		v := float64(10 + 20*i)
		rs = append(rs, core.Result{ID: fmt.Sprintf("aged-%d", i), Check: "disk", Key: "/", Status: st,
			Value: &v, Unit: "%", Message: core.Text{EN: "aged raw result"}, At: hour.Add(time.Duration(i+1) * time.Minute)})
	}
	ctx := context.Background()
	if err := f.st.SaveResults(ctx, f.device.ID, rs); err != nil {
		t.Fatal(err)
	}
	if rep, err := f.st.MaintainHistory(ctx, time.Now()); err != nil || rep.RolledUp != 2 {
		t.Fatalf("MaintainHistory = %+v, %v; want 2 results rolled up", rep, err)
	}
	hist := "/devices/" + strconv.FormatInt(f.device.ID, 10) + "/history?check=disk&key=%2F&range=30d"
	b := f.browser(t, "en")
	b.login("readonly@example.com", testPassword)
	p := b.do("GET", hist, nil)
	for _, want := range []string{
		`Hourly summary of 2 results (worst status, mean value); lowest 10%, highest 30%.`,
		`<td class="num">20%</td>`, `st-warning`,
	} {
		if !strings.Contains(html.UnescapeString(p.body), want) {
			t.Errorf("30-day history lacks %q", want)
		}
	}
	if strings.Contains(p.body, "aged raw result") {
		t.Error("the rolled-up raw results are still listed")
	}
	de := f.browser(t, "de-DE,de")
	de.login("admin@example.com", testPassword)
	if p := de.do("GET", hist, nil); !strings.Contains(html.UnescapeString(p.body),
		`Stundenzusammenfassung aus 2 Ergebnissen (schlechtester Status, Mittelwert); niedrigster 10 %, höchster 30 %.`) {
		t.Error("German 30-day history lacks the summary")
	}
}
