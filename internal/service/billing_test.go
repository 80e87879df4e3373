package service

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// billingNow is the billing tests' clock: December 2026 has begun, so
// November is the last full month.
var billingNow = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

// enrollAt enrolls a machine of the fixture device's site at a time.
func enrollAt(t *testing.T, f *remoteFixture, host string, at time.Time) core.Device {
	t.Helper()
	ctx := context.Background()
	secret := []byte("secret-" + host)
	if err := f.st.CreateEnrollmentToken(ctx, &core.EnrollmentToken{SecretHash: secret, SiteID: f.dev.SiteID}); err != nil {
		t.Fatal(err)
	}
	d := core.Device{Hostname: host, OS: "linux", MachineID: "mid-" + host, PublicKey: []byte("key-" + host)}
	if err := f.st.Enroll(ctx, secret, &d, at); err != nil {
		t.Fatal(err)
	}
	return d
}

func conflictField(err error) string {
	var bc *BillingConflictError
	if !errors.As(err, &bc) || !errors.Is(err, core.ErrConflict) || bc.Text.DE == "" || bc.Text.EN == "" {
		return ""
	}
	return bc.Field
}

func validContract(client int64) core.Contract {
	c := core.DefaultContract(client, "2026-01-01")
	return c
}

func TestContractRules(t *testing.T) {
	f := newRemoteFixture(t)
	f.svc.Now = func() time.Time { return billingNow }
	ctx := context.Background()
	client := f.dev.ClientID

	for _, u := range []core.User{f.tech, f.readonly, f.foreign, {}} {
		if _, err := f.svc.ClientContract(ctx, u, client); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("%q read the contract: %v", u.Email, err)
		}
		if _, err := f.svc.PutContract(ctx, u, validContract(client)); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("%q stored a contract: %v", u.Email, err)
		}
	}

	v, err := f.svc.ClientContract(ctx, f.admin, client)
	if err != nil {
		t.Fatal(err)
	}
	if v.Current != nil || len(v.Contracts) != 0 || v.Suggested == nil || v.Suggested.Start != "2026-12-01" ||
		v.Suggested.PriceCents != 12900 || v.Suggested.ActivationCents != 3900 || !v.Suggested.Gross || v.Suggested.VATBasisPoints != 1900 {
		t.Errorf("without a contract: %+v (suggested %+v)", v, v.Suggested)
	}

	for _, c := range []struct {
		name  string
		edit  func(*core.Contract)
		field string
	}{
		{"no plan", func(c *core.Contract) { c.Plan = "  " }, "plan"},
		{"negative price", func(c *core.Contract) { c.PriceCents = -1 }, "price_cents"},
		{"price over 10 million €", func(c *core.Contract) { c.PriceCents = MaxContractCents + 1 }, "price_cents"},
		{"negative activation", func(c *core.Contract) { c.ActivationCents = -3900 }, "activation_cents"},
		{"negative hourly rate", func(c *core.Contract) { c.HourlyRateCents = -1 }, "hourly_rate_cents"},
		{"VAT over 100 %", func(c *core.Contract) { c.VATBasisPoints = 10001 }, "vat_basis_points"},
		{"negative VAT", func(c *core.Contract) { c.VATBasisPoints = -1 }, "vat_basis_points"},
		{"weekly", func(c *core.Contract) { c.Period = "weekly" }, "period"},
		{"bad start", func(c *core.Contract) { c.Start = "2026-13-01" }, "start"},
		{"end before start", func(c *core.Contract) { c.End = "2025-12-31" }, "end"},
		{"bad end", func(c *core.Contract) { c.End = "31.12.2026" }, "end"},
		{"reactivate too long", func(c *core.Contract) { c.ReactivateMonths = 121 }, "reactivate_months"},
		{"unknown client", func(c *core.Contract) { c.ClientID = 999999 }, "client_id"},
	} {
		ct := validContract(client)
		c.edit(&ct)
		_, err := f.svc.PutContract(ctx, f.admin, ct)
		if got := fieldsOf(err); !slices.Equal(got, []string{c.field}) {
			t.Errorf("%s: fields %v (%v), want %s", c.name, got, err, c.field)
		}
	}

	ct := validContract(client)
	ct.Plan, ct.End = " Basis ", "2026-06-30"
	stored, err := f.svc.PutContract(ctx, f.admin, ct)
	if err != nil {
		t.Fatal(err)
	}
	if stored.ID == 0 || stored.Plan != "Basis" || stored.UpdatedBy != "user:admin@example.com" {
		t.Errorf("stored %+v", stored)
	}
	if a := lastAudit(t, f); a.Action != "contract.put" || !strings.Contains(a.Detail, "price_cents=12900") || !strings.Contains(a.Detail, "new") {
		t.Errorf("audit %+v", a)
	}

	// Overlap: refused with the other contract named.
	over := validContract(client)
	over.Start = "2026-06-01"
	_, err = f.svc.PutContract(ctx, f.admin, over)
	if conflictField(err) != "start" || !strings.Contains(err.Error(), "2026-01-01") {
		t.Errorf("overlap: %v", err)
	}
	if text, ok := Reason(err); !ok || !strings.Contains(text.DE, "überschneidet") {
		t.Errorf("overlap reason %v %v", text, ok)
	}
	// Directly after it: fine, and in force today.
	over.Start = "2026-07-01"
	next, err := f.svc.PutContract(ctx, f.admin, over)
	if err != nil {
		t.Fatal(err)
	}
	v, err = f.svc.ClientContract(ctx, f.admin, client)
	if err != nil || v.Current == nil || v.Current.ID != next.ID || v.Suggested != nil || len(v.Contracts) != 2 {
		t.Errorf("view %+v, %v", v, err)
	}
	// Replacing: an ID of another client is unknown.
	stored.ClientID = f.dev.ClientID + 1
	if _, err := f.svc.PutContract(ctx, f.admin, stored); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("contract moved to another client: %v", err)
	}
	stored.ClientID = client
	stored.HourlyRateCents = 12000
	if got, err := f.svc.PutContract(ctx, f.admin, stored); err != nil || got.ID != stored.ID || got.HourlyRateCents != 12000 {
		t.Errorf("replace: %+v %v", got, err)
	}
	if a := lastAudit(t, f); !strings.Contains(a.Detail, "replaced") {
		t.Errorf("audit %+v", a)
	}

	if err := f.svc.DeleteContract(ctx, f.tech, stored.ID); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("technician deleted a contract: %v", err)
	}
	if err := f.svc.DeleteContract(ctx, f.admin, stored.ID); err != nil {
		t.Fatal(err)
	}
	if a := lastAudit(t, f); a.Action != "contract.delete" || a.Target != target("contract", stored.ID) {
		t.Errorf("audit %+v", a)
	}
	if err := f.svc.DeleteContract(ctx, f.admin, stored.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("deleted twice: %v", err)
	}
}

func TestBillingRunRules(t *testing.T) {
	f := newRemoteFixture(t)
	f.svc.Now = func() time.Time { return billingNow }
	ctx := context.Background()
	client := f.dev.ClientID
	enrollAt(t, f, "srv-01", time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC))
	if _, err := f.svc.PutContract(ctx, f.admin, validContract(client)); err != nil {
		t.Fatal(err)
	}
	work, err := f.svc.RecordTime(ctx, f.tech, core.TimeEntry{ClientID: client, StartedAt: time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC),
		Minutes: 90, Note: "Drucker eingerichtet", Billable: true})
	if err != nil {
		t.Fatal(err)
	}

	if _, err := f.svc.BillingPreview(ctx, f.tech, "", ""); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("technician previewed: %v", err)
	}
	for _, c := range []struct{ from, to, field string }{
		{"2027-01-01", "2027-01-31", "from"},
		{"2026-11-02", "2026-11-30", "from"},
		{"2026-11-01", "2026-11-29", "to"},
		{"2026-11-01", "2026-10-31", "to"},
		{"1.11.2026", "", "from"},
	} {
		if _, err := f.svc.BillingPreview(ctx, f.admin, c.from, c.to); !slices.Equal(fieldsOf(err), []string{c.field}) {
			t.Errorf("preview %s – %s: %v, want field %s", c.from, c.to, err, c.field)
		}
	}
	_, err = f.svc.BillingPreview(ctx, f.admin, "2027-01-01", "")
	if err == nil || !strings.Contains(err.Error(), "future") {
		t.Errorf("future: %v", err)
	}

	p, err := f.svc.BillingPreview(ctx, f.admin, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if p.ID != 0 || p.From != "2026-11-01" || p.To != "2026-11-30" || p.Corrects != 0 || len(p.Bills) != 1 {
		t.Fatalf("preview %+v", p)
	}
	b := p.Bills[0]
	if b.ClientID != client || b.ClientName != "Müller GmbH" {
		t.Errorf("bill %+v", b)
	}
	kinds := map[string]core.BillLine{}
	var net, vat, gross int64
	for _, l := range b.Lines {
		kinds[l.Kind] = l
		net, vat, gross = net+l.NetCents, vat+l.VATCents, gross+l.GrossCents
	}
	if kinds[core.LineInstallations].Quantity != 16 || kinds[core.LineActivations].Quantity != 1 ||
		kinds[core.LineTime].Quantity != 90 || kinds[core.LineTime].TimeEntryID != work.ID {
		t.Errorf("lines %+v", b.Lines)
	}
	if net != p.NetCents || vat != p.VATCents || gross != p.GrossCents || gross == 0 || net+vat != gross {
		t.Errorf("totals %d/%d/%d, lines %d/%d/%d", p.NetCents, p.VATCents, p.GrossCents, net, vat, gross)
	}

	// The current month has not ended: a preview, no finalizing.
	if _, err := f.svc.BillingPreview(ctx, f.admin, "2026-12-01", ""); err != nil {
		t.Errorf("preview of the current month: %v", err)
	}
	if _, err := f.svc.FinalizeBilling(ctx, f.admin, "2026-12-01", "2026-12-31", 0); !slices.Equal(fieldsOf(err), []string{"to"}) {
		t.Errorf("finalize the current month: %v", err)
	}
	if _, err := f.svc.FinalizeBilling(ctx, f.tech, "", "", 0); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("technician finalized: %v", err)
	}

	run, err := f.svc.FinalizeBilling(ctx, f.admin, "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if run.ID == 0 || run.GrossCents != p.GrossCents || run.CreatedBy != "user:admin@example.com" {
		t.Errorf("run %+v", run)
	}
	if a := lastAudit(t, f); a.Action != "billing.finalize" || !strings.Contains(a.Detail, "from=2026-11-01 to=2026-11-30") {
		t.Errorf("audit %+v", a)
	}
	// The billed time entry cannot change.
	for name, err := range map[string]error{
		"update": func() error {
			_, err := f.svc.UpdateTimeEntry(ctx, f.tech, core.TimeEntry{ID: work.ID, Minutes: 10})
			return err
		}(),
		"delete": f.svc.DeleteTimeEntry(ctx, f.tech, work.ID),
	} {
		if conflictField(err) != "id" {
			t.Errorf("%s of a billed entry: %v", name, err)
		}
	}

	// Finalized once; again only as a correction.
	_, err = f.svc.FinalizeBilling(ctx, f.admin, "2026-11-01", "2026-11-30", 0)
	if conflictField(err) != "from" || !strings.Contains(err.Error(), "corrects") {
		t.Errorf("second finalize: %v", err)
	}
	if _, err := f.svc.FinalizeBilling(ctx, f.admin, "", "", 999999); !slices.Equal(fieldsOf(err), []string{"corrects"}) {
		t.Errorf("correct an unknown run: %v", err)
	}
	p, err = f.svc.BillingPreview(ctx, f.admin, "", "")
	if err != nil || p.Corrects != run.ID || p.GrossCents != run.GrossCents {
		t.Errorf("preview of a finalized period: corrects %d, %d cents gross (the run: %d), %v", p.Corrects, p.GrossCents, run.GrossCents, err)
	}
	if _, err := f.svc.FinalizeBilling(ctx, f.admin, "2026-10-01", "2026-10-31", run.ID); !slices.Equal(fieldsOf(err), []string{"corrects"}) {
		t.Errorf("correction over another period: %v", err)
	}
	fix, err := f.svc.FinalizeBilling(ctx, f.admin, "", "", run.ID)
	if err != nil || fix.Corrects != run.ID {
		t.Fatalf("correction %+v, %v", fix, err)
	}
	// The correction bills the time the corrected run billed.
	if fix.GrossCents != run.GrossCents {
		t.Errorf("correction %d cents gross, the corrected run %d", fix.GrossCents, run.GrossCents)
	}
	if es, err := f.svc.TimeEntries(ctx, f.admin, core.TimeQuery{ClientID: client}); err != nil || len(es) != 1 || es[0].BilledRunID != fix.ID {
		t.Errorf("time entries after the correction %+v, %v: want billed by run %d", es, err, fix.ID)
	}
	old, err := f.svc.BillingRun(ctx, f.admin, run.ID)
	if err != nil || old.CorrectedBy != fix.ID || len(old.Bills) != 1 {
		t.Errorf("corrected run %+v, %v", old, err)
	}
	if _, err := f.svc.FinalizeBilling(ctx, f.admin, "", "", run.ID); conflictField(err) != "corrects" {
		t.Errorf("second correction of the same run: %v", err)
	}
	runs, err := f.svc.BillingRuns(ctx, f.admin)
	if err != nil || len(runs) != 2 || runs[0].ID != fix.ID {
		t.Errorf("runs %+v, %v", runs, err)
	}
	if _, err := f.svc.BillingRuns(ctx, f.readonly); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("read-only listed runs: %v", err)
	}
	if _, err := f.svc.BillingRun(ctx, f.tech, run.ID); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("technician read a run: %v", err)
	}
}

// A customer with a contract and no devices gets a bill of 0 €.
func TestBillingNoDevices(t *testing.T) {
	f := newRemoteFixture(t)
	f.svc.Now = func() time.Time { return billingNow }
	ctx := context.Background()
	empty, _, err := f.st.EnsureClientSite(ctx, "Leer KG", "Büro")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.PutContract(ctx, f.admin, validContract(empty.ID)); err != nil {
		t.Fatal(err)
	}
	p, err := f.svc.BillingPreview(ctx, f.admin, "2026-11-01", "2026-11-30")
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Bills) != 1 || p.Bills[0].ClientID != empty.ID || p.Bills[0].GrossCents != 0 || p.GrossCents != 0 {
		t.Errorf("preview %+v", p)
	}
}

func TestTimeEntryRules(t *testing.T) {
	f := newRemoteFixture(t)
	f.svc.Now = func() time.Time { return billingNow }
	ctx := context.Background()
	client := f.dev.ClientID
	entry := func() core.TimeEntry {
		return core.TimeEntry{ClientID: client, Minutes: 30, Note: "Update eingespielt", Billable: true}
	}
	e, err := f.svc.RecordTime(ctx, f.tech, entry())
	if err != nil {
		t.Fatal(err)
	}
	if e.ID == 0 || e.User != "tech@example.com" || !e.StartedAt.Equal(billingNow) || e.ClientName != "Müller GmbH" {
		t.Errorf("entry %+v", e)
	}
	if a := lastAudit(t, f); a.Action != "time.record" || !strings.Contains(a.Detail, "minutes=30") {
		t.Errorf("audit %+v", a)
	}
	if _, err := f.svc.RecordTime(ctx, f.readonly, entry()); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("read-only recorded time: %v", err)
	}
	if _, err := f.svc.RecordTime(ctx, f.foreign, entry()); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("foreign technician recorded time: %v", err)
	}
	for _, c := range []struct {
		name  string
		edit  func(*core.TimeEntry)
		field string
	}{
		{"no minutes", func(e *core.TimeEntry) { e.Minutes = 0 }, "minutes"},
		{"over a day", func(e *core.TimeEntry) { e.Minutes = 1441 }, "minutes"},
		{"long note", func(e *core.TimeEntry) { e.Note = strings.Repeat("ä", 1001) }, "note"},
		{"future", func(e *core.TimeEntry) { e.StartedAt = billingNow.Add(time.Hour) }, "started_at"},
		{"unknown outage", func(e *core.TimeEntry) { e.OutageID = 999999 }, "outage_id"},
		{"unknown support request", func(e *core.TimeEntry) { e.SupportID = 999999 }, "support_request_id"},
	} {
		te := entry()
		c.edit(&te)
		if _, err := f.svc.RecordTime(ctx, f.tech, te); !slices.Equal(fieldsOf(err), []string{c.field}) {
			t.Errorf("%s: %v, want field %s", c.name, err, c.field)
		}
	}

	// Start and stop: minutes rounded up from the clock.
	run := entry()
	run.Minutes, run.Running, run.StartedAt = 0, true, billingNow.Add(-90*time.Second)
	r, err := f.svc.RecordTime(ctx, f.tech, run)
	if err != nil || !r.Running || r.Minutes != 0 {
		t.Fatalf("running %+v %v", r, err)
	}
	if _, err := f.svc.StopTime(ctx, f.foreign, r.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("foreign technician stopped: %v", err)
	}
	stopped, err := f.svc.StopTime(ctx, f.tech, r.ID)
	if err != nil || stopped.Running || stopped.Minutes != 2 {
		t.Errorf("stopped %+v %v", stopped, err)
	}
	if _, err := f.svc.StopTime(ctx, f.tech, r.ID); conflictField(err) != "running" {
		t.Errorf("stopped twice: %v", err)
	}
	long := entry()
	long.Minutes, long.Running, long.StartedAt = 0, true, billingNow.Add(-30*time.Hour)
	if r, err = f.svc.RecordTime(ctx, f.tech, long); err != nil {
		t.Fatal(err)
	}
	if got, err := f.svc.StopTime(ctx, f.tech, r.ID); err != nil || got.Minutes != MaxTimeMinutes {
		t.Errorf("stopped after 30 hours: %+v %v", got, err)
	}

	up, err := f.svc.UpdateTimeEntry(ctx, f.tech, core.TimeEntry{ID: e.ID, Minutes: 45, Note: "mehr", Billable: false})
	if err != nil || up.Minutes != 45 || up.Billable || up.Note != "mehr" || up.ClientID != client {
		t.Errorf("update %+v %v", up, err)
	}
	if _, err := f.svc.UpdateTimeEntry(ctx, f.tech, core.TimeEntry{ID: e.ID, Minutes: -5}); !slices.Equal(fieldsOf(err), []string{"minutes"}) {
		t.Errorf("negative minutes: %v", err)
	}

	list, err := f.svc.TimeEntries(ctx, f.tech, core.TimeQuery{ClientID: client})
	if err != nil || len(list) != 3 {
		t.Errorf("list %d %v", len(list), err)
	}
	if _, err := f.svc.TimeEntries(ctx, f.readonly, core.TimeQuery{}); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("read-only listed time: %v", err)
	}
	if l, err := f.svc.TimeEntries(ctx, f.foreign, core.TimeQuery{}); err != nil || len(l) != 0 {
		t.Errorf("foreign technician sees %d entries, %v", len(l), err)
	}
	if _, err := f.svc.TimeEntries(ctx, f.foreign, core.TimeQuery{ClientID: client}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("foreign technician listed the client: %v", err)
	}

	if err := f.svc.DeleteTimeEntry(ctx, f.foreign, e.ID); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("foreign delete: %v", err)
	}
	if err := f.svc.DeleteTimeEntry(ctx, f.tech, e.ID); err != nil {
		t.Fatal(err)
	}
	if a := lastAudit(t, f); a.Action != "time.delete" || a.Target != target("time-entry", e.ID) {
		t.Errorf("audit %+v", a)
	}
}
