package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/billing"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/report"
)

// Limits of a contract's fields.
const (
	// MaxContractCents bounds every price of a contract: 10,000,000 €.
	MaxContractCents = 1_000_000_000
	// MaxReactivateMonths bounds Contract.ReactivateMonths (ten years).
	MaxReactivateMonths = 120
	// MaxPlanName bounds a contract's plan name, in bytes.
	MaxPlanName = 128
	// MaxBillingMonths bounds the calendar months one billing run covers.
	MaxBillingMonths = 24
	// maxBillingRuns bounds the runs read to find the live run over a
	// period.
	maxBillingRuns = 100_000
)

// dayLayout is the form of every billing date.
const dayLayout = "2006-01-02"

// BillingConflictError is a billing change refused because of what is
// stored (an overlapping contract, a finalized period, a billed time
// entry); it names the field and says why, and how to go on, in English
// and German. It is a core.ErrConflict.
type BillingConflictError struct {
	Field string
	Text  core.Text
}

func (e *BillingConflictError) Error() string { return e.Field + ": " + e.Text.EN }

// Localized says it in English and German.
func (e *BillingConflictError) Localized() core.Text { return e.Text }

func (e *BillingConflictError) Unwrap() error { return core.ErrConflict }

func billingConflict(field, en, de string) error {
	return &BillingConflictError{Field: field, Text: core.Text{EN: en, DE: de}}
}

// billingZone is the MSP's time zone: the alert settings' (report.LoadEnv).
func (s *Service) billingZone(ctx context.Context) (*time.Location, error) {
	env, err := report.LoadEnv(ctx, s.store)
	if err != nil {
		return nil, fmt.Errorf("billing time zone: %w", err)
	}
	if env.Location == nil {
		return time.UTC, nil
	}
	return env.Location, nil
}

// today is midnight of the current day in loc.
func (s *Service) today(loc *time.Location) time.Time {
	n := s.now().In(loc)
	return time.Date(n.Year(), n.Month(), n.Day(), 0, 0, 0, 0, loc)
}

func (s *Service) clientContract(ctx context.Context, u core.User, clientID int64) (ContractView, error) {
	if err := need(u, authz.Admin); err != nil {
		return ContractView{}, err
	}
	c, err := s.GetClient(ctx, u, clientID)
	if err != nil {
		return ContractView{}, err
	}
	cs, err := s.store.ListContracts(ctx, clientID)
	if err != nil {
		return ContractView{}, fmt.Errorf("listing the contracts of client %d: %w", clientID, err)
	}
	if cs == nil {
		cs = []core.Contract{}
	}
	loc, err := s.billingZone(ctx)
	if err != nil {
		return ContractView{}, err
	}
	today := s.today(loc)
	day := today.Format(dayLayout)
	v := ContractView{Client: c, Contracts: cs}
	for i := range cs {
		if cs[i].Start <= day && (cs[i].End == "" || cs[i].End >= day) {
			v.Current = &cs[i]
			break
		}
	}
	if v.Current == nil {
		d := core.DefaultContract(clientID, time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, loc).Format(dayLayout))
		d.ClientName = c.Name
		v.Suggested = &d
	}
	return v, nil
}

// validateContract trims c's texts and refuses what cannot be billed,
// listing every refused field.
func validateContract(c *core.Contract) error {
	var fs []policy.FieldError
	add := func(field, en, de string) { fs = append(fs, fieldErr(field, en, de)) }
	c.Plan = strings.TrimSpace(c.Plan)
	switch {
	case c.Plan == "":
		add("plan", "is required", "ist erforderlich")
	case len(c.Plan) > MaxPlanName || !utf8.ValidString(c.Plan) || strings.ContainsFunc(c.Plan, func(r rune) bool { return r < ' ' || r == 0x7f }):
		add("plan", fmt.Sprintf("must be text of at most %d bytes without control characters", MaxPlanName),
			fmt.Sprintf("muss Text von höchstens %d Bytes ohne Steuerzeichen sein", MaxPlanName))
	}
	for _, p := range []struct {
		field, de string
		v         int64
	}{{"price_cents", "Preis", c.PriceCents}, {"activation_cents", "Aktivierungsgebühr", c.ActivationCents}, {"hourly_rate_cents", "Stundensatz", c.HourlyRateCents}} {
		switch {
		case p.v < 0:
			add(p.field, "must not be negative", "der "+p.de+" darf nicht negativ sein")
		case p.v > MaxContractCents:
			add(p.field, "must be at most 10,000,000 € (1000000000 cents)", "der "+p.de+" darf höchstens 10.000.000 € (1000000000 Cent) betragen")
		}
	}
	if c.VATBasisPoints < 0 || c.VATBasisPoints > 10000 {
		add("vat_basis_points", "must be 0–10000 (0–100 %; 1900 = 19 %)", "muss 0–10000 sein (0–100 %; 1900 = 19 % USt.)")
	}
	switch c.Period {
	case core.PeriodMonthly, core.PeriodQuarterly, core.PeriodYearly:
	default:
		add("period", "must be monthly, quarterly or yearly", "muss monthly, quarterly oder yearly sein")
	}
	start, err := time.Parse(dayLayout, c.Start)
	if err != nil {
		add("start", "must be a date YYYY-MM-DD", "muss ein Datum JJJJ-MM-TT sein")
	}
	if c.End != "" {
		end, err2 := time.Parse(dayLayout, c.End)
		switch {
		case err2 != nil:
			add("end", "must be a date YYYY-MM-DD or empty (open-ended)", "muss ein Datum JJJJ-MM-TT oder leer (unbefristet) sein")
		case err == nil && end.Before(start):
			add("end", "must not be before the start "+c.Start, "darf nicht vor dem Beginn "+c.Start+" liegen")
		}
	}
	if c.ReactivateMonths < 0 || c.ReactivateMonths > MaxReactivateMonths {
		add("reactivate_months", fmt.Sprintf("must be 0–%d (0: a returning machine never pays the activation again)", MaxReactivateMonths),
			fmt.Sprintf("muss 0–%d sein (0: ein zurückkehrendes Gerät zahlt die Aktivierung nie wieder)", MaxReactivateMonths))
	}
	return validation(fs)
}

func (s *Service) putContract(ctx context.Context, u core.User, c core.Contract) (core.Contract, error) {
	if err := need(u, authz.Admin); err != nil {
		return core.Contract{}, err
	}
	if err := validateContract(&c); err != nil {
		return core.Contract{}, err
	}
	cl, err := s.store.GetClient(ctx, c.ClientID)
	if errors.Is(err, core.ErrNotFound) {
		return core.Contract{}, invalid("client_id", fmt.Sprintf("no client %d (or it was deleted)", c.ClientID),
			fmt.Sprintf("kein Kunde %d (oder er wurde gelöscht)", c.ClientID))
	}
	if err != nil {
		return core.Contract{}, fmt.Errorf("getting client %d: %w", c.ClientID, err)
	}
	what := "new"
	if c.ID != 0 {
		old, err := s.store.GetContract(ctx, c.ID)
		if err != nil {
			return core.Contract{}, fmt.Errorf("getting contract %d: %w", c.ID, err)
		}
		if old.ClientID != c.ClientID {
			return core.Contract{}, fmt.Errorf("contract %d of client %d: %w", c.ID, c.ClientID, core.ErrNotFound)
		}
		what = "replaced"
	}
	c.ClientName = cl.Name
	c.UpdatedBy = Actor(u)
	if err := s.store.PutContract(ctx, &c); err != nil {
		if errors.Is(err, core.ErrConflict) {
			return core.Contract{}, s.overlapError(ctx, c)
		}
		return core.Contract{}, fmt.Errorf("storing the contract of client %d: %w", c.ClientID, err)
	}
	detail := fmt.Sprintf("%s; client=%d plan=%q price_cents=%d activation_cents=%d hourly_rate_cents=%d gross=%t vat_basis_points=%d period=%s start=%s end=%s network_devices_billable=%t reactivate_months=%d",
		what, c.ClientID, c.Plan, c.PriceCents, c.ActivationCents, c.HourlyRateCents, c.Gross, c.VATBasisPoints, c.Period, c.Start, c.End,
		c.NetworkDevicesBillable, c.ReactivateMonths)
	if err := s.record(ctx, u, "contract.put", target("contract", c.ID), detail, core.AuditOK); err != nil {
		return core.Contract{}, err
	}
	return c, nil
}

// overlapError names the contract of c's client that c overlaps.
func (s *Service) overlapError(ctx context.Context, c core.Contract) error {
	cs, err := s.store.ListContracts(ctx, c.ClientID)
	if err != nil {
		return fmt.Errorf("listing the contracts of client %d: %w", c.ClientID, err)
	}
	end := func(e string) string {
		if e == "" {
			return "9999-12-31"
		}
		return e
	}
	for _, o := range cs {
		if o.ID == c.ID || o.Start > end(c.End) || c.Start > end(o.End) {
			continue
		}
		until, bis := "open-ended", "unbefristet"
		if o.End != "" {
			until, bis = "to "+o.End, "bis "+o.End
		}
		return billingConflict("start", fmt.Sprintf("the period overlaps the contract from %s %s (plan %q, id %d): a customer's contracts must not overlap; end that contract first or start this one later",
			o.Start, until, o.Plan, o.ID),
			fmt.Sprintf("der Zeitraum überschneidet sich mit dem Vertrag vom %s %s (Tarif %q, ID %d): die Verträge eines Kunden dürfen sich nicht überschneiden; beenden Sie zuerst jenen Vertrag oder lassen Sie diesen später beginnen",
				o.Start, bis, o.Plan, o.ID))
	}
	return billingConflict("start", "the period overlaps another contract of the customer", "der Zeitraum überschneidet sich mit einem anderen Vertrag des Kunden")
}

func (s *Service) deleteContract(ctx context.Context, u core.User, id int64) error {
	if err := need(u, authz.Admin); err != nil {
		return err
	}
	c, err := s.store.GetContract(ctx, id)
	if err != nil {
		return fmt.Errorf("getting contract %d: %w", id, err)
	}
	if err := s.store.DeleteContract(ctx, id); err != nil {
		return fmt.Errorf("deleting contract %d: %w", id, err)
	}
	detail := fmt.Sprintf("client=%d plan=%q start=%s end=%s", c.ClientID, c.Plan, c.Start, c.End)
	return s.record(ctx, u, "contract.delete", target("contract", id), detail, core.AuditOK)
}

// billingPeriod is a run's period: [From, To] as dates and [start, end)
// as instants in the MSP's zone.
type billingPeriod struct {
	From, To   string
	start, end time.Time
	today      time.Time
	loc        *time.Location
}

// period resolves from and to ("" and "": the last full calendar month;
// one of them "": that one's month) and checks they are whole months.
func (s *Service) period(ctx context.Context, from, to string) (billingPeriod, error) {
	loc, err := s.billingZone(ctx)
	if err != nil {
		return billingPeriod{}, err
	}
	p := billingPeriod{loc: loc, today: s.today(loc)}
	var fs []policy.FieldError
	add := func(field, en, de string) { fs = append(fs, fieldErr(field, en, de)) }
	parse := func(field, v string) (time.Time, bool) {
		t, err := time.ParseInLocation(dayLayout, v, loc)
		if err != nil {
			add(field, "must be a date YYYY-MM-DD", "muss ein Datum JJJJ-MM-TT sein")
			return time.Time{}, false
		}
		return t, true
	}
	var first, last time.Time // first and last day
	switch {
	case from == "" && to == "":
		last = time.Date(p.today.Year(), p.today.Month(), 0, 0, 0, 0, 0, loc)
		first = time.Date(last.Year(), last.Month(), 1, 0, 0, 0, 0, loc)
	case to == "":
		var ok bool
		if first, ok = parse("from", from); ok {
			last = time.Date(first.Year(), first.Month()+1, 0, 0, 0, 0, 0, loc)
		}
	case from == "":
		var ok bool
		if last, ok = parse("to", to); ok {
			first = time.Date(last.Year(), last.Month(), 1, 0, 0, 0, 0, loc)
		}
	default:
		first, _ = parse("from", from)
		last, _ = parse("to", to)
	}
	if err := validation(fs); err != nil {
		return billingPeriod{}, err
	}
	if first.Day() != 1 {
		add("from", "must be the first day of a month (a run covers whole calendar months)", "muss der erste Tag eines Monats sein (eine Abrechnung umfasst ganze Kalendermonate)")
	}
	if last.AddDate(0, 0, 1).Day() != 1 {
		add("to", "must be the last day of a month (a run covers whole calendar months)", "muss der letzte Tag eines Monats sein (eine Abrechnung umfasst ganze Kalendermonate)")
	}
	if len(fs) == 0 {
		months := (last.Year()-first.Year())*12 + int(last.Month()) - int(first.Month()) + 1
		switch {
		case last.Before(first):
			add("to", "must not be before from", "darf nicht vor from liegen")
		case months > MaxBillingMonths:
			add("to", fmt.Sprintf("a run covers at most %d months", MaxBillingMonths), fmt.Sprintf("eine Abrechnung umfasst höchstens %d Monate", MaxBillingMonths))
		}
	}
	if err := validation(fs); err != nil {
		return billingPeriod{}, err
	}
	if first.After(p.today) {
		return billingPeriod{}, invalid("from", "the period lies in the future: it has not started yet", "der Zeitraum liegt in der Zukunft: er hat noch nicht begonnen")
	}
	p.From, p.To = first.Format(dayLayout), last.Format(dayLayout)
	p.start, p.end = first, time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, loc)
	return p, nil
}

// computeRun computes every customer's bills over p from the store. Time
// entries billed by run rebill (the run a correction replaces; 0: none)
// are billed again, the others only while unbilled.
func (s *Service) computeRun(ctx context.Context, p billingPeriod, rebill int64) (core.BillingRun, error) {
	clients, err := s.store.ListClients(ctx)
	if err != nil {
		return core.BillingRun{}, fmt.Errorf("listing clients: %w", err)
	}
	contracts, err := s.store.ListContracts(ctx, 0)
	if err != nil {
		return core.BillingRun{}, fmt.Errorf("listing contracts: %w", err)
	}
	devices, err := s.store.ListBillingDevices(ctx, 0, p.end)
	if err != nil {
		return core.BillingRun{}, fmt.Errorf("listing devices to bill: %w", err)
	}
	entries, err := s.store.ListTimeEntries(ctx, core.TimeQuery{From: p.start, Until: p.end, Unbilled: rebill == 0})
	if err != nil {
		return core.BillingRun{}, fmt.Errorf("listing time entries: %w", err)
	}
	inputs := map[int64]*billing.Input{}
	var order []int64
	input := func(id int64, name string) *billing.Input {
		in, ok := inputs[id]
		if !ok {
			in = &billing.Input{Client: core.Client{ID: id, Name: name}, From: p.From, To: p.To, Location: p.loc}
			inputs[id] = in
			order = append(order, id)
		}
		return in
	}
	for _, c := range clients {
		input(c.ID, c.Name).Client = c
	}
	// Deleted clients are billed for what their contracts cover.
	for _, c := range contracts {
		in := input(c.ClientID, c.ClientName)
		in.Contracts = append(in.Contracts, c)
	}
	for _, e := range entries {
		if e.Running || e.BilledRunID != 0 && e.BilledRunID != rebill {
			continue
		}
		in := input(e.ClientID, e.ClientName)
		in.Time = append(in.Time, e)
	}
	for _, d := range devices {
		if in, ok := inputs[d.ClientID]; ok {
			in.Devices = append(in.Devices, d)
		}
	}
	run := core.BillingRun{From: p.From, To: p.To, Bills: []core.Bill{}}
	for _, id := range order {
		in := inputs[id]
		bills, err := billing.Compute(*in)
		if err != nil {
			return core.BillingRun{}, fmt.Errorf("billing client %d (%s): %w", id, in.Client.Name, err)
		}
		for _, b := range bills {
			run.NetCents += b.NetCents
			run.VATCents += b.VATCents
			run.GrossCents += b.GrossCents
		}
		run.Bills = append(run.Bills, bills...)
	}
	return run, nil
}

// liveRun returns the finalized, not corrected run that overlaps p (ID 0:
// none).
func (s *Service) liveRun(ctx context.Context, p billingPeriod) (core.BillingRun, error) {
	runs, err := s.store.ListBillingRuns(ctx, maxBillingRuns)
	if err != nil {
		return core.BillingRun{}, fmt.Errorf("listing billing runs: %w", err)
	}
	for _, r := range runs {
		if r.CorrectedBy == 0 && r.From <= p.To && p.From <= r.To {
			return r, nil
		}
	}
	return core.BillingRun{}, nil
}

func (s *Service) billingPreview(ctx context.Context, u core.User, from, to string) (core.BillingRun, error) {
	if err := need(u, authz.Admin); err != nil {
		return core.BillingRun{}, err
	}
	p, err := s.period(ctx, from, to)
	if err != nil {
		return core.BillingRun{}, err
	}
	live, err := s.liveRun(ctx, p)
	if err != nil {
		return core.BillingRun{}, err
	}
	// A finalized period previews as its correction would be.
	run, err := s.computeRun(ctx, p, live.ID)
	if err != nil {
		return core.BillingRun{}, err
	}
	run.Corrects = live.ID
	return run, nil
}

func (s *Service) finalizeBilling(ctx context.Context, u core.User, from, to string, corrects int64) (core.BillingRun, error) {
	if err := need(u, authz.Admin); err != nil {
		return core.BillingRun{}, err
	}
	p, err := s.period(ctx, from, to)
	if err != nil {
		return core.BillingRun{}, err
	}
	if p.end.After(p.today) { // to ≥ today
		next := p.end.Format(dayLayout)
		return core.BillingRun{}, invalid("to", "the period has not ended yet: finalize it from "+next+" on",
			"der Zeitraum ist noch nicht zu Ende: schließen Sie ihn ab dem "+next+" ab")
	}
	if corrects < 0 {
		return core.BillingRun{}, invalid("corrects", "must be the ID of a finalized run, or 0", "muss die ID einer abgeschlossenen Abrechnung oder 0 sein")
	}
	if corrects != 0 {
		old, err := s.store.GetBillingRun(ctx, corrects)
		if errors.Is(err, core.ErrNotFound) {
			return core.BillingRun{}, invalid("corrects", fmt.Sprintf("there is no finalized run %d", corrects), fmt.Sprintf("es gibt keine abgeschlossene Abrechnung %d", corrects))
		}
		if err != nil {
			return core.BillingRun{}, fmt.Errorf("getting billing run %d: %w", corrects, err)
		}
		if old.From > p.To || p.From > old.To {
			return core.BillingRun{}, invalid("corrects", fmt.Sprintf("run %d covers %s – %s, which does not overlap the period %s – %s", corrects, old.From, old.To, p.From, p.To),
				fmt.Sprintf("die Abrechnung %d umfasst %s – %s und überschneidet sich nicht mit dem Zeitraum %s – %s", corrects, old.From, old.To, p.From, p.To))
		}
		if old.CorrectedBy != 0 {
			return core.BillingRun{}, billingConflict("corrects",
				fmt.Sprintf("run %d was already corrected by run %d: correct run %d instead", corrects, old.CorrectedBy, old.CorrectedBy),
				fmt.Sprintf("die Abrechnung %d wurde bereits durch die Abrechnung %d korrigiert: korrigieren Sie stattdessen die Abrechnung %d", corrects, old.CorrectedBy, old.CorrectedBy))
		}
	}
	run, err := s.computeRun(ctx, p, corrects)
	if err != nil {
		return core.BillingRun{}, err
	}
	run.Corrects = corrects
	run.CreatedBy = Actor(u)
	if err := s.store.CreateBillingRun(ctx, &run); err != nil {
		if errors.Is(err, core.ErrConflict) {
			return core.BillingRun{}, s.finalizedError(ctx, p, corrects)
		}
		return core.BillingRun{}, fmt.Errorf("storing the billing run %s – %s: %w", p.From, p.To, err)
	}
	detail := fmt.Sprintf("from=%s to=%s bills=%d net_cents=%d vat_cents=%d gross_cents=%d corrects=%d",
		run.From, run.To, len(run.Bills), run.NetCents, run.VATCents, run.GrossCents, run.Corrects)
	if err := s.record(ctx, u, "billing.finalize", target("billing-run", run.ID), detail, core.AuditOK); err != nil {
		return core.BillingRun{}, err
	}
	return run, nil
}

// finalizedError says which finalized run covers p and how to correct it.
func (s *Service) finalizedError(ctx context.Context, p billingPeriod, corrects int64) error {
	live, err := s.liveRun(ctx, p)
	if err != nil {
		return err
	}
	if live.ID == 0 || live.ID == corrects {
		return billingConflict("corrects", fmt.Sprintf("run %d cannot be corrected by a run over %s – %s", corrects, p.From, p.To),
			fmt.Sprintf("die Abrechnung %d kann nicht durch eine Abrechnung über %s – %s korrigiert werden", corrects, p.From, p.To))
	}
	return billingConflict("from", fmt.Sprintf("the period %s – %s is already finalized by run %d (%s – %s), which is never changed: to correct it, finalize again with corrects %d",
		p.From, p.To, live.ID, live.From, live.To, live.ID),
		fmt.Sprintf("der Zeitraum %s – %s ist bereits durch die Abrechnung %d (%s – %s) abgeschlossen, die nie geändert wird: um sie zu korrigieren, schließen Sie erneut mit corrects %d ab",
			p.From, p.To, live.ID, live.From, live.To, live.ID))
}

func (s *Service) billingRun(ctx context.Context, u core.User, id int64) (core.BillingRun, error) {
	if err := need(u, authz.Admin); err != nil {
		return core.BillingRun{}, err
	}
	r, err := s.store.GetBillingRun(ctx, id)
	if err != nil {
		return core.BillingRun{}, fmt.Errorf("getting billing run %d: %w", id, err)
	}
	if r.Bills == nil {
		r.Bills = []core.Bill{}
	}
	return r, nil
}

func (s *Service) billingRuns(ctx context.Context, u core.User) ([]core.BillingRun, error) {
	if err := need(u, authz.Admin); err != nil {
		return nil, err
	}
	rs, err := s.store.ListBillingRuns(ctx, maxBillingRuns)
	if err != nil {
		return nil, fmt.Errorf("listing billing runs: %w", err)
	}
	if rs == nil {
		rs = []core.BillingRun{}
	}
	return rs, nil
}
