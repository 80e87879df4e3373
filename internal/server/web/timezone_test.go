package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// A technician in New York sees an outage's start in New York time on the
// alerts page and on the device page, and the footer names the zone.
func TestTimesInUserZone(t *testing.T) {
	f := newAlertsFixture(t)
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetUserTimeZone(context.Background(), f.tech.ID, "America/New_York"); err != nil {
		t.Fatal(err)
	}
	opened := f.outage(t, "disk").OpenedAt
	want := opened.In(ny).Format("Jan 2, 2006, 3:04:05 PM")
	berlin := langOf(langEN).Time(opened) // what a user without a zone sees
	if want == berlin {
		t.Fatalf("New York and Berlin agree on %s", want)
	}
	b := f.browser(t, "en")
	b.login("tech@example.com", testPassword)
	for _, path := range []string{"/alerts", "/devices/" + strconv.FormatInt(f.device.ID, 10)} {
		p := b.do("GET", path, nil)
		if p.status != http.StatusOK {
			t.Fatalf("%s: %d", path, p.status)
		}
		if !strings.Contains(p.body, want) || strings.Contains(p.body, berlin) {
			t.Errorf("%s: want the outage's start %q (New York), not %q (Berlin)", path, want, berlin)
		}
		if !strings.Contains(p.body, `Times in <a href="/account/time-zone" id="tz-name">America/New_York</a>`) {
			t.Errorf("%s: footer does not name the zone", path)
		}
		if strings.Contains(p.body, `id="tz-detect"`) {
			t.Errorf("%s: asks the browser for a zone although the user has one", path)
		}
	}
}

// A maintenance window entered as 22:00 by a user in New York is that
// evening in New York (03:00 UTC the next day), in the user's zone unless
// the form names another, and the list says which zone.
func TestMaintenanceEnteredInUserZone(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	admin, err := f.st.GetUserByEmail(ctx, "admin@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetUserTimeZone(ctx, admin.ID, "America/New_York"); err != nil {
		t.Fatal(err)
	}
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)
	if p := b.do("GET", "/maintenance", nil); !strings.Contains(p.body, `<option value="America/New_York" selected>`) {
		t.Errorf("the new window's zone field is not the user's zone")
	}
	day := strconv.Itoa(time.Now().Year()+1) + "-01-15" // winter: New York is UTC-5
	p := b.do("POST", "/maintenance", url.Values{"csrf": {csrf}, "target": {"device:" + strconv.FormatInt(f.device.ID, 10)},
		"title": {"Server swap"}, "repeat": {""}, "start": {day + "T22:00"}, "end": {day + "T23:30"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", p.status, p.body)
	}
	ms, err := f.st.ListMaintenance(ctx, core.MaintenanceFilter{})
	if err != nil || len(ms) != 1 {
		t.Fatalf("windows: %v, %v", ms, err)
	}
	want := strconv.Itoa(time.Now().Year()+1) + "-01-16 03:00 UTC"
	if got := ms[0].Start.UTC().Format("2006-01-02 15:04 MST"); got != want || ms[0].TimeZone != "America/New_York" {
		t.Errorf("stored start %s in %q, want %s in America/New_York", got, ms[0].TimeZone, want)
	}
	if list := b.do("GET", "/maintenance", nil); !strings.Contains(list.body, "22:00 – ") || !strings.Contains(list.body, "(America/New_York)") {
		t.Errorf("list does not show the window at 22:00 in America/New_York")
	}
}

// The account page saves a zone, refuses an unknown one naming the field,
// and the browser's report counts only while the user has none.
func TestTimeZoneSetting(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	b := f.browser(t, "de")
	_, csrf := b.login("admin@example.com", testPassword)
	p := b.do("GET", "/account/time-zone", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="tz-default"`) || !strings.Contains(p.body, `<select id="time_zone" name="time_zone" required>`) || !strings.Contains(p.body, `<option value="Europe/Berlin" selected>`) ||
		!strings.Contains(p.body, `<option value="Asia/Tokyo">`) || !strings.Contains(p.body, `id="tz-detect"`) || !strings.Contains(p.body, "Zeiten in") {
		t.Fatalf("account page: %d\n%s", p.status, p.body)
	}
	if p := b.do("POST", "/account/time-zone", url.Values{"csrf": {csrf}, "time_zone": {"Mars/Olympus"}}); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, `id="time_zone-error"`) || !strings.Contains(p.body, "„Mars/Olympus“ ist keine IANA-Zeitzone") ||
		!strings.Contains(p.body, `<option value="Mars/Olympus" selected>`) {
		t.Errorf("unknown zone: %d\n%s", p.status, p.body)
	}
	if p := b.do("POST", "/account/time-zone", url.Values{"csrf": {csrf}, "time_zone": {"Asia/Tokyo"}, "auto": {"1"}}); p.status != http.StatusNoContent {
		t.Errorf("browser's zone: %d %s", p.status, p.body)
	}
	if p := b.do("POST", "/account/time-zone", url.Values{"csrf": {csrf}, "time_zone": {"Europe/London"}, "auto": {"1"}}); p.status != http.StatusNoContent {
		t.Errorf("second browser report: %d", p.status)
	}
	u, err := f.st.GetUserByEmail(ctx, "admin@example.com")
	if err != nil || u.TimeZone != "Asia/Tokyo" {
		t.Fatalf("after the browser's reports: %q, %v; want Asia/Tokyo (the first one only)", u.TimeZone, err)
	}
	if p := b.do("POST", "/account/time-zone", url.Values{"csrf": {csrf}, "time_zone": {"America/New_York"}}); p.status != http.StatusSeeOther {
		t.Fatalf("choose: %d %s", p.status, p.body)
	}
	p = b.do("GET", "/account/time-zone?saved=1", nil)
	if !strings.Contains(p.body, "Zeitzone gespeichert.") || !strings.Contains(p.body, `<option value="America/New_York" selected>`) || strings.Contains(p.body, `id="tz-detect"`) {
		t.Errorf("after choosing:\n%s", p.body)
	}
	entries, err := f.st.ListAudit(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var saved []string
	for _, e := range entries {
		if e.Action == "user.set-time-zone" {
			saved = append(saved, e.Detail)
		}
	}
	if strings.Join(saved, " ") != "America/New_York Asia/Tokyo" && strings.Join(saved, " ") != "Asia/Tokyo America/New_York" {
		t.Errorf("audited zone changes: %v", saved)
	}
}
