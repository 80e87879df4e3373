package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

func (f *supportFixture) timeEntries(t *testing.T) []core.TimeEntry {
	t.Helper()
	es, err := f.st.ListTimeEntries(context.Background(), core.TimeQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// TestTimeTracking: a technician records time against an outage and a
// support request (the client is theirs), starts and stops a timer, is
// told at the field when the minutes are not a duration, edits and
// deletes an entry; a foreign support request stays hidden.
func TestTimeTracking(t *testing.T) {
	f := newSupportFixture(t)
	ctx := context.Background()
	if err := f.st.ApplyAlertChange(ctx, core.AlertChange{Open: []core.Outage{{Ref: "off", DeviceID: f.device.ID, Kind: core.OutageOffline,
		Severity: core.OutageOffline, OpenedAt: time.Now().Add(-time.Hour)}}}); err != nil {
		t.Fatal(err)
	}
	os, err := f.st.ListOutages(ctx, core.OutageFilter{})
	if err != nil || len(os) != 1 {
		t.Fatalf("outages: %v %v", os, err)
	}
	outage := strconv.FormatInt(os[0].ID, 10)
	b := f.browser(t, "de")
	_, csrf := b.login("tech@example.com", testPassword)

	if p := b.do("GET", "/alerts", nil); !strings.Contains(p.body, `/time/new?outage=`+outage) {
		t.Errorf("the outage row has no link to record time:\n%s", p.body)
	}
	p := b.do("GET", "/time/new?outage="+outage+"&next=/alerts", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, "Störung #"+outage) || !strings.Contains(p.body, "Müller GmbH") {
		t.Fatalf("record time against the outage: %d\n%s", p.status, p.body)
	}
	p = b.do("POST", "/time", url.Values{"csrf": {csrf}, "outage": {outage}, "minutes": {"1:30"}, "note": {"Netzteil getauscht"}, "billable": {"on"}, "next": {"/alerts"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/alerts" {
		t.Fatalf("record: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	printer := strconv.FormatInt(f.ids["printer-1"], 10)
	if p := b.do("GET", "/support/"+printer, nil); !strings.Contains(p.body, `id="sr-time"`) {
		t.Errorf("the support request has no link to record time")
	}
	p = b.do("POST", "/time", url.Values{"csrf": {csrf}, "support": {printer}, "minutes": {"45"}, "next": {"/support/" + printer}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/support/"+printer {
		t.Fatalf("record against the request: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if p := b.do("GET", "/time/new?support="+strconv.FormatInt(f.ids["foreign-1"], 10), nil); p.status != http.StatusNotFound {
		t.Errorf("a foreign support request: %d", p.status)
	}
	if p := b.do("POST", "/time", url.Values{"csrf": {csrf}, "client": {strconv.FormatInt(f.device.ClientID, 10)}, "minutes": {"anderthalb"}}); p.status != http.StatusBadRequest ||
		!strings.Contains(p.body, `id="time-minutes-error"`) || !strings.Contains(p.body, "Stunden und Minuten (1:30)") {
		t.Errorf("bad minutes: %d\n%s", p.status, p.body)
	}
	client := strconv.FormatInt(f.device.ClientID, 10)
	if p := b.do("POST", "/time", url.Values{"csrf": {csrf}, "client": {client}, "action": {"start"}, "note": {"Fernwartung"}}); p.status != http.StatusSeeOther {
		t.Fatalf("start the timer: %d\n%s", p.status, p.body)
	}
	byNote := map[string]core.TimeEntry{}
	for _, e := range f.timeEntries(t) {
		byNote[e.Note] = e
		if e.ClientID != f.device.ClientID || e.User != "tech@example.com" {
			t.Errorf("entry %+v: not the client's or the technician's", e)
		}
	}
	if e := byNote["Netzteil getauscht"]; e.Minutes != 90 || e.OutageID != os[0].ID || !e.Billable {
		t.Errorf("the outage's entry: %+v", e)
	}
	if e := byNote[""]; e.Minutes != 45 || e.SupportID != f.ids["printer-1"] || e.Billable {
		t.Errorf("the request's entry: %+v", e)
	}
	timer := byNote["Fernwartung"]
	if !timer.Running {
		t.Fatalf("the timer's entry: %+v", timer)
	}
	page := b.do("GET", "/clients/"+client, nil)
	if !strings.Contains(page.body, `id="time-stop-`+strconv.FormatInt(timer.ID, 10)+`"`) || !strings.Contains(page.body, "1:30") || !strings.Contains(page.body, "Timer starten") {
		t.Errorf("the client's time card:\n%s", page.body)
	}
	id := strconv.FormatInt(timer.ID, 10)
	if p := b.do("POST", "/time/"+id+"/stop", url.Values{"csrf": {csrf}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/clients/"+client+"#time" {
		t.Fatalf("stop: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if p := b.do("GET", "/time/"+id+"/edit", nil); p.status != http.StatusOK || !strings.Contains(p.body, `value="Fernwartung"`) {
		t.Errorf("edit page: %d\n%s", p.status, p.body)
	}
	if p := b.do("POST", "/time/"+id, url.Values{"csrf": {csrf}, "minutes": {"2:05"}, "note": {"Fernwartung Server"}, "billable": {"on"}}); p.status != http.StatusSeeOther {
		t.Fatalf("edit: %d\n%s", p.status, p.body)
	}
	for _, e := range f.timeEntries(t) {
		if e.ID == timer.ID && (e.Running || e.Minutes != 125 || e.Note != "Fernwartung Server") {
			t.Errorf("after stop and edit: %+v", e)
		}
	}
	if p := b.do("POST", "/time/"+id+"/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d\n%s", p.status, p.body)
	}
	if n := len(f.timeEntries(t)); n != 2 {
		t.Errorf("%d entries after the delete, want 2", n)
	}
	// Read-only users neither see nor record time.
	ro := f.browser(t, "de")
	_, rcsrf := ro.login("readonly@example.com", testPassword)
	if p := ro.do("GET", "/clients/"+client, nil); strings.Contains(p.body, `id="time"`) || strings.Contains(p.body, `id="contract"`) {
		t.Error("a read-only user sees time tracking or the contract")
	}
	if p := ro.do("POST", "/time", url.Values{"csrf": {rcsrf}, "client": {client}, "minutes": {"5"}}); p.status != http.StatusForbidden {
		t.Errorf("read-only records time: %d", p.status)
	}
}

// TestContractAndBillingRun: an administrator saves a contract typed with
// German amounts, is refused an overlapping one at the start field,
// deletes one only after confirming; finalizing needs the confirmation;
// the finalized run downloads as CSV and JSON with the session, and time
// it billed can no longer be changed.
func TestContractAndBillingRun(t *testing.T) {
	f := newSupportFixture(t)
	now := time.Now()
	last := time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, time.UTC)
	client := strconv.FormatInt(f.device.ClientID, 10)
	b := f.browser(t, "en")
	_, csrf := b.login("admin@example.com", testPassword)

	p := b.do("GET", "/clients/"+client, nil)
	for _, want := range []string{`id="contract-none"`, `name="price" value="129.00"`, `name="activation" value="39.00"`, `name="vat" value="19"`,
		`name="start" type="date" value="` + now.Format("2006-01") + `-01"`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the default plan lacks %s", want)
		}
	}
	form := url.Values{"csrf": {csrf}, "plan": {"Rundum"}, "price": {"1.234,56"}, "gross": {"net"}, "activation": {"39,00"}, "hourly": {"95,5"},
		"vat": {"7"}, "period": {"monthly"}, "start": {last.AddDate(0, -1, 0).Format("2006-01-02")},
		"end": {last.AddDate(0, 2, -1).Format("2006-01-02")}, "reactivate": {"6"}}
	if p := b.do("POST", "/clients/"+client+"/contract", form); p.status != http.StatusSeeOther {
		t.Fatalf("save: %d\n%s", p.status, p.body)
	}
	cs, err := f.st.ListContracts(context.Background(), f.device.ClientID)
	if err != nil || len(cs) != 1 {
		t.Fatalf("contracts: %v %v", cs, err)
	}
	if c := cs[0]; c.PriceCents != 123456 || c.Gross || c.ActivationCents != 3900 || c.HourlyRateCents != 9550 || c.VATBasisPoints != 700 || c.Plan != "Rundum" {
		t.Errorf("stored contract: %+v", c)
	}
	if p := b.do("POST", "/clients/"+client+"/contract", form); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="contract-start-error"`) ||
		!strings.Contains(p.body, `value="1.234,56"`) {
		t.Errorf("an overlapping contract: %d\n%s", p.status, p.body)
	}
	form.Set("start", now.AddDate(1, 0, 0).Format("2006-01")+"-01")
	form.Del("end")
	form.Set("price", "-1")
	if p := b.do("POST", "/clients/"+client+"/contract", form); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="contract-price-error"`) {
		t.Errorf("a negative price: %d\n%s", p.status, p.body)
	}
	form.Set("price", "129")
	if p := b.do("POST", "/clients/"+client+"/contract", form); p.status != http.StatusSeeOther {
		t.Fatalf("a second contract: %d\n%s", p.status, p.body)
	}
	cs, _ = f.st.ListContracts(context.Background(), f.device.ClientID)
	second := strconv.FormatInt(cs[len(cs)-1].ID, 10)
	// The card asks with the plan's name and start before it deletes.
	if p := b.do("GET", "/clients/"+client, nil); !strings.Contains(p.body, `id="contract-delete-`+second+`-question"`) || !strings.Contains(p.body, "Delete the contract Rundum, ") {
		t.Errorf("the contract card does not ask before deleting:\n%s", p.body)
	}
	if p := b.do("POST", "/contracts/"+second+"/delete", url.Values{"csrf": {csrf}}); p.status != http.StatusBadRequest {
		t.Fatalf("delete without confirming: %d %q", p.status, p.header.Get("Location"))
	}
	p = b.do("POST", "/contracts/"+second+"/delete", url.Values{"csrf": {csrf}, "next": {"/clients/" + client + "#contract"}, "confirm": {"yes"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/clients/"+client+"?done=contractDeleted#contract" {
		t.Fatalf("delete: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	if cs, _ := f.st.ListContracts(context.Background(), f.device.ClientID); len(cs) != 1 {
		t.Errorf("%d contracts after the delete, want 1", len(cs))
	}

	// 30 minutes last month at 95,50 € net: 47,75 € net, 7 % VAT 3,34 €.
	if p := b.do("POST", "/time", url.Values{"csrf": {csrf}, "client": {client}, "minutes": {"30"}, "billable": {"on"}, "date": {last.AddDate(0, 0, 4).Format("2006-01-02")}}); p.status != http.StatusSeeOther {
		t.Fatalf("record: %d\n%s", p.status, p.body)
	}
	month := last.Format("2006-01")
	p = b.do("GET", "/billing", nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, `value="`+month+`"`) || !strings.Contains(p.body, "€47.75") || !strings.Contains(p.body, "€3.34") {
		t.Errorf("billing preview: %d\n%s", p.status, p.body)
	}
	if p := b.do("GET", "/billing?from="+now.AddDate(1, 0, 0).Format("2006-01"), nil); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="billing-problem"`) {
		t.Errorf("a period in the future: %d", p.status)
	}
	if p := b.do("GET", "/billing?from=2026-13", nil); p.status != http.StatusBadRequest || !strings.Contains(p.body, "YYYY-MM") {
		t.Errorf("a month that is none: %d", p.status)
	}
	fin := url.Values{"csrf": {csrf}, "from": {month}, "to": {month}}
	if p := b.do("POST", "/billing/finalize", fin); p.status != http.StatusBadRequest || !strings.Contains(p.body, `id="finalize-confirm-error"`) {
		t.Errorf("finalize without confirming: %d", p.status)
	}
	fin.Set("confirm", "yes")
	p = b.do("POST", "/billing/finalize", fin)
	loc := p.header.Get("Location")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/billing/runs/") {
		t.Fatalf("finalize: %d %q\n%s", p.status, loc, p.body)
	}
	run := strings.TrimSuffix(strings.TrimPrefix(loc, "/billing/runs/"), "?done=finalized")
	csv := b.do("GET", "/billing/runs/"+run+".csv", nil)
	if csv.status != http.StatusOK || !strings.HasPrefix(csv.body, "\uFEFF") || !strings.Contains(csv.body, "47,75") ||
		!strings.Contains(csv.header.Get("Content-Disposition"), "attachment") {
		t.Errorf("CSV: %d %v\n%s", csv.status, csv.header, csv.body)
	}
	js := b.do("GET", "/billing/runs/"+run+".json", nil)
	var got core.BillingRun
	if err := json.Unmarshal([]byte(js.body), &got); err != nil || strconv.FormatInt(got.ID, 10) != run || got.NetCents < 4775 {
		t.Errorf("JSON: %v %+v", err, got)
	}
	if p := b.do("GET", "/billing/runs/"+run+".txt", nil); p.status != http.StatusNotFound {
		t.Errorf("another format: %d", p.status)
	}
	if p := b.do("GET", "/billing?from="+month, nil); !strings.Contains(p.body, `id="billing-finalized"`) || !strings.Contains(p.body, `name="corrects" value="`+run+`"`) {
		t.Errorf("the finalized period offers no correction:\n%s", p.body)
	}
	es := f.timeEntries(t)
	if len(es) != 1 || strconv.FormatInt(es[0].BilledRunID, 10) != run {
		t.Fatalf("the entry is not billed by the run: %+v", es)
	}
	id := strconv.FormatInt(es[0].ID, 10)
	if p := b.do("GET", "/clients/"+client, nil); strings.Contains(p.body, "/time/"+id+"/edit") || !strings.Contains(p.body, `href="/billing/runs/`+run+`"`) {
		t.Errorf("a billed entry can still be edited on the client page")
	}
	if p := b.do("POST", "/time/"+id+"/delete", url.Values{"csrf": {csrf}, "confirm": {"yes"}}); p.status != http.StatusConflict {
		t.Errorf("deleting a billed entry: %d", p.status)
	}
	// "Korrektur erstellen": a new run replaces the finalized one, which
	// links it.
	fin.Set("corrects", run)
	p = b.do("POST", "/billing/finalize", fin)
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/billing/runs/") || strings.HasPrefix(p.header.Get("Location"), "/billing/runs/"+run+"?") {
		t.Fatalf("correction: %d %q\n%s", p.status, p.header.Get("Location"), p.body)
	}
	correction := strings.TrimSuffix(strings.TrimPrefix(p.header.Get("Location"), "/billing/runs/"), "?done=finalized")
	if p := b.do("GET", "/billing/runs/"+run, nil); !strings.Contains(p.body, `id="run-corrected-by"`) || !strings.Contains(p.body, "/billing/runs/"+correction) {
		t.Errorf("the corrected run does not link its correction:\n%s", p.body)
	}
}
