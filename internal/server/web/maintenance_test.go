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
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
)

// TestMaintenancePages creates, edits and deletes a window through the
// forms; the overview and the device page show the badge while one is
// active; read-only users only read; foreign windows are 404.
func TestMaintenancePages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	own := "client:" + strconv.FormatInt(f.device.ClientID, 10)
	b := f.browser(t, "de")
	_, csrf := b.login("admin@example.com", testPassword)

	list := b.do("GET", "/maintenance", nil)
	if list.status != http.StatusOK || !strings.Contains(list.body, `id="maint-none"`) ||
		!strings.Contains(list.body, `<option value="`+own+`">Müller GmbH</option>`) || !strings.Contains(list.body, `id="nav-maintenance"`) {
		t.Fatalf("empty list: %d\n%s", list.status, list.body)
	}
	// Refused: named fields, in German, nothing stored.
	bad := b.do("POST", "/maintenance", url.Values{"csrf": {csrf}, "target": {own}, "title": {" "}, "repeat": {"weekly"},
		"from": {"25:00"}, "to": {"02:00"}})
	if bad.status != http.StatusBadRequest || !strings.Contains(bad.body, `id="title-error"`) || !strings.Contains(bad.body, `id="from-error"`) ||
		!strings.Contains(bad.body, "mindestens einen Tag wählen") || !strings.Contains(bad.body, `<option value="`+own+`" selected>`) {
		t.Fatalf("invalid form: %d\n%s", bad.status, bad.body)
	}
	// Without the CSRF token nothing happens.
	if p := b.do("POST", "/maintenance", url.Values{"target": {own}, "title": {"x"}, "repeat": {"daily"}, "from": {"01:00"}, "to": {"02:00"}}); p.status != http.StatusForbidden {
		t.Fatalf("POST without csrf: %d", p.status)
	}
	if ws, _ := f.st.ListMaintenance(ctx, core.MaintenanceFilter{}); len(ws) != 0 {
		t.Fatalf("stored after refused posts: %+v", ws)
	}

	// A weekly window not active now (its days are three and four days
	// ahead), then a one-off one active now for the device.
	berlin, _ := time.LoadLocation("Europe/Berlin")
	now := time.Now().In(berlin)
	d1, d2 := (int(now.Weekday())+3)%7, (int(now.Weekday())+4)%7
	p := b.do("POST", "/maintenance", url.Values{"csrf": {csrf}, "target": {own}, "title": {"Patchday"}, "repeat": {"weekly"},
		"weekdays": {strconv.Itoa(d2), strconv.Itoa(d1)}, "from": {"22:00"}, "to": {"02:00"}, "timezone": {""}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/maintenance?done=saved" {
		t.Fatalf("create weekly: %d %s", p.status, p.body)
	}
	days := []string{langOf(langDE).T("maint.wd." + strconv.Itoa(d1)), langOf(langDE).T("maint.wd." + strconv.Itoa(d2))}
	if d1 == 0 { // Monday first
		days[0], days[1] = days[1], days[0]
	}
	dev := "device:" + strconv.FormatInt(f.device.ID, 10)
	p = b.do("POST", "/maintenance", url.Values{"csrf": {csrf}, "target": {dev}, "title": {"Festplattentausch"}, "repeat": {""},
		"start": {now.Add(-time.Hour).Format(dtLayout)}, "end": {now.Add(time.Hour).Format(dtLayout)}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("create one-off: %d %s", p.status, p.body)
	}
	list = b.do("GET", "/maintenance?done=saved", nil)
	for _, want := range []string{"Wartungsfenster gespeichert.", "wöchentlich " + strings.Join(days, ", ") + " 22:00–02:00 (Europe/Berlin)", "Festplattentausch",
		`class="maint-active"`, "jetzt aktiv", "<td>admin@example.com</td>"} {
		if !strings.Contains(list.body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
	if strings.Contains(list.body, "user:admin") {
		t.Error(`the list shows the raw actor "user:admin@example.com", not the user`)
	}
	devPath := "/devices/" + strconv.FormatInt(f.device.ID, 10)
	if dp := b.do("GET", devPath, nil); !strings.Contains(dp.body, `id="maint-badge"`) || !strings.Contains(dp.body, "in Wartung") ||
		!strings.Contains(dp.body, `href="/maintenance?device=`+strconv.FormatInt(f.device.ID, 10)+`"`) {
		t.Errorf("device page lacks the maintenance badge and link:\n%s", dp.body)
	}
	if ov := b.do("GET", "/", nil); !strings.Contains(ov.body, "in Wartung") {
		t.Errorf("overview lacks the maintenance badge")
	}
	if fl := b.do("GET", "/maintenance?device="+strconv.FormatInt(f.device.ID, 10), nil); !strings.Contains(fl.body, `id="maint-filter"`) ||
		strings.Count(fl.body, `<tr id="maint-`) != 2 {
		t.Errorf("device filter: %s", fl.body)
	}

	ws, err := f.st.ListMaintenance(ctx, core.MaintenanceFilter{})
	if err != nil || len(ws) != 2 {
		t.Fatalf("stored: %+v %v", ws, err)
	}
	oneOff := ws[0]
	if oneOff.Title != "Festplattentausch" {
		oneOff = ws[1]
	}
	id := strconv.FormatInt(oneOff.ID, 10)
	ed := b.do("GET", "/maintenance/"+id, nil)
	if ed.status != http.StatusOK || !strings.Contains(ed.body, `action="/maintenance/`+id+`"`) || !strings.Contains(ed.body, `value="Festplattentausch"`) ||
		!strings.Contains(ed.body, `<option value="`+dev+`" selected>`) {
		t.Fatalf("edit form: %d\n%s", ed.status, ed.body)
	}
	up := b.do("POST", "/maintenance/"+id, url.Values{"csrf": {csrf}, "target": {dev}, "title": {"Festplatte getauscht"}, "repeat": {""},
		"start": {now.Add(-2 * time.Hour).Format(dtLayout)}, "end": {now.Add(-time.Hour).Format(dtLayout)}})
	if up.status != http.StatusSeeOther {
		t.Fatalf("update: %d %s", up.status, up.body)
	}
	if dp := b.do("GET", devPath, nil); strings.Contains(dp.body, `id="maint-badge"`) {
		t.Errorf("badge shown after the window ended")
	}
	if del := b.do("POST", "/maintenance/"+id+"/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); del.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", del.status)
	}
	if _, err := f.st.GetMaintenance(ctx, oneOff.ID); err == nil {
		t.Fatal("window still stored after delete")
	}
	for _, action := range []string{"maintenance.create", "maintenance.update", "maintenance.delete"} {
		if len(auditOf(t, f, action)) == 0 {
			t.Errorf("no audit entry %s", action)
		}
	}

	// Read-only users see the list but no form, and may not post.
	ro := f.browser(t, "en")
	_, roCSRF := ro.login("readonly@example.com", testPassword)
	if l := ro.do("GET", "/maintenance", nil); l.status != http.StatusOK || strings.Contains(l.body, `id="maint-form"`) || !strings.Contains(l.body, "Patchday") {
		t.Errorf("read-only list: %d\n%s", l.status, l.body)
	}
	if p := ro.do("POST", "/maintenance", url.Values{"csrf": {roCSRF}, "target": {own}, "title": {"x"}, "repeat": {"daily"}, "from": {"01:00"}, "to": {"02:00"}}); p.status != http.StatusForbidden {
		t.Errorf("read-only POST: %d, want 403", p.status)
	}

	// A technician of this client does not see the other client's window.
	_, other, err := f.st.EnsureClientSite(ctx, "Fremde AG", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().Add(time.Hour)
	foreign := core.Maintenance{Scope: core.LevelSite, TargetID: other.ID, Title: "Geheimes Fenster", Start: time.Now(), End: &end, TimeZone: "Europe/Berlin"}
	if err := f.st.CreateMaintenance(ctx, &foreign); err != nil {
		t.Fatal(err)
	}
	h, _ := authtest.Cost.Hash(testPassword)
	tech := core.User{Email: "tech@example.com", PasswordHash: h, Role: core.RoleTechnician, Scope: core.Only(f.device.ClientID)}
	if err := f.st.CreateUser(ctx, &tech); err != nil {
		t.Fatal(err)
	}
	tb := f.browser(t, "en")
	_, techCSRF := tb.login("tech@example.com", testPassword)
	fid := strconv.FormatInt(foreign.ID, 10)
	if l := tb.do("GET", "/maintenance", nil); strings.Contains(l.body, "Geheimes Fenster") || strings.Contains(l.body, "Fremde AG") || !strings.Contains(l.body, "Patchday") {
		t.Errorf("technician's list shows the foreign window or client:\n%s", l.body)
	}
	for _, c := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/maintenance/" + fid, nil},
		{"POST", "/maintenance/" + fid, url.Values{"csrf": {techCSRF}, "target": {own}, "title": {"x"}, "repeat": {"daily"}, "from": {"01:00"}, "to": {"02:00"}}},
		{"POST", "/maintenance/" + fid + "/delete", url.Values{"csrf": {techCSRF}, "confirm": {"yes"}}},
		{"POST", "/maintenance", url.Values{"csrf": {techCSRF}, "target": {"site:" + strconv.FormatInt(other.ID, 10)}, "title": {"x"}, "repeat": {"daily"}, "from": {"01:00"}, "to": {"02:00"}}},
		{"GET", "/maintenance?client=" + strconv.FormatInt(other.ClientID, 10), nil},
	} {
		if p := tb.do(c.method, c.path, c.form); p.status != http.StatusNotFound {
			t.Errorf("technician %s %s: %d, want 404", c.method, c.path, p.status)
		}
	}
	if got, err := f.st.GetMaintenance(ctx, foreign.ID); err != nil || got.Title != "Geheimes Fenster" {
		t.Errorf("foreign window changed: %+v %v", got, err)
	}
}
