// Package billing prices a customer's installations: it counts each
// machine's days in a billing period, prorates the contract's yearly price
// by days, charges the activation fee once per new machine, bills recorded
// time at the hourly rate, and rounds every line commercially to the cent.
// It is pure — the store's devices, contracts and time entries go in, bills
// with the arithmetic spelled out in German and English come out — so the
// preview, the finalized run and the tests see the same figures. Export
// writes bills as CSV for a German Excel and as JSON.
package billing

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Input is one customer's data for a run over [From, To] (whole calendar
// months, "YYYY-MM-DD", To inclusive), as the store holds it.
type Input struct {
	Client    core.Client
	Contracts []core.Contract      // the client's, any order
	Devices   []core.BillingDevice // every device of the client ever enrolled before the run's end
	// Time are the client's unbilled time entries that started in the
	// run's period (running ones are left out and listed in Open).
	Time     []core.TimeEntry
	From, To string
	Location *time.Location // day boundaries; nil means UTC
}

// day is a calendar date as a count of days since 1970-01-01.
type day int64

const dateLayout = "2006-01-02"

func civil(y int, m time.Month, d int) day {
	u := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix()
	if u < 0 && u%86400 != 0 {
		return day(u/86400 - 1)
	}
	return day(u / 86400)
}

// date is the calendar date of d.
func (d day) date() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

func (d day) String() string { return d.date().Format(dateLayout) }

// localDay is the calendar day in loc at which instant t lies.
func localDay(t time.Time, loc *time.Location) day {
	lt := t.In(loc)
	return civil(lt.Year(), lt.Month(), lt.Day())
}

func parseDay(s string) (day, bool) {
	t, err := time.Parse(dateLayout, s)
	if err != nil || t.Format(dateLayout) != s {
		return 0, false
	}
	return civil(t.Year(), t.Month(), t.Day()), true
}

// ParseRun checks that [from, to] are whole calendar months: from the
// first day of a month, to the last day of a month, not before from.
// The error wraps core.ErrInvalid and names the field.
func ParseRun(from, to string) (first, last time.Time, err error) {
	f, ok := parseDay(from)
	if !ok {
		return first, last, fmt.Errorf("%w: from: %q is not a date (YYYY-MM-DD)", core.ErrInvalid, from)
	}
	t, ok := parseDay(to)
	if !ok {
		return first, last, fmt.Errorf("%w: to: %q is not a date (YYYY-MM-DD)", core.ErrInvalid, to)
	}
	if f.date().Day() != 1 {
		return first, last, fmt.Errorf("%w: from: %s is not the first day of a month", core.ErrInvalid, from)
	}
	if (t + 1).date().Day() != 1 {
		return first, last, fmt.Errorf("%w: to: %s is not the last day of a month", core.ErrInvalid, to)
	}
	if t < f {
		return first, last, fmt.Errorf("%w: to: %s is before from %s", core.ErrInvalid, to, from)
	}
	return f.date(), t.date(), nil
}

// span is an inclusive range of days.
type span struct{ a, b day }

func (s span) empty() bool { return s.b < s.a }

func (s span) clip(o span) span {
	if o.a > s.a {
		s.a = o.a
	}
	if o.b < s.b {
		s.b = o.b
	}
	return s
}

func (s span) days() int64 {
	if s.empty() {
		return 0
	}
	return int64(s.b-s.a) + 1
}

const farFuture = day(1 << 40)

// contractSpan is the contract's [Start, End] in days.
func contractSpan(c core.Contract) (span, error) {
	a, ok := parseDay(c.Start)
	if !ok {
		return span{}, fmt.Errorf("%w: contract %d: start: %q is not a date (YYYY-MM-DD)", core.ErrInvalid, c.ID, c.Start)
	}
	b := farFuture
	if c.End != "" {
		if b, ok = parseDay(c.End); !ok {
			return span{}, fmt.Errorf("%w: contract %d: end: %q is not a date (YYYY-MM-DD)", core.ErrInvalid, c.ID, c.End)
		}
	}
	return span{a, b}, nil
}

func periodMonths(p string) int {
	switch p {
	case core.PeriodMonthly:
		return 1
	case core.PeriodQuarterly:
		return 3
	case core.PeriodYearly:
		return 12
	}
	return 0
}

// periods returns the contract's billing periods that end in run.
func periods(months int, run span) []span {
	var out []span
	first := run.a.date()
	// Start at the period that contains the run's first day.
	y, m := first.Year(), first.Month()
	m = time.Month((int(m)-1)/months*months + 1)
	for {
		a := civil(y, m, 1)
		b := civil(y, m+time.Month(months), 1) - 1
		if b > run.b {
			return out
		}
		if b >= run.a {
			out = append(out, span{a, b})
		}
		m += time.Month(months)
		if m > 12 {
			m -= 12
			y++
		}
	}
}

// device is a billing device with its days of existence.
type device struct {
	core.BillingDevice
	life    span
	machine string
}

// Compute returns the client's bills for every billing period of its
// contracts that ends in [From, To], plus one for time worked in the run
// when no period ends in it.
func Compute(in Input) ([]core.Bill, error) {
	first, last, err := ParseRun(in.From, in.To)
	if err != nil {
		return nil, err
	}
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	run := span{civil(first.Year(), first.Month(), 1), civil(last.Year(), last.Month(), last.Day())}

	// Machines: agents with the same machine ID are one machine.
	machines := map[string][]*device{}
	var order []string
	for _, bd := range in.Devices {
		if in.Client.ID != 0 && bd.ClientID != 0 && bd.ClientID != in.Client.ID {
			continue
		}
		d := &device{BillingDevice: bd, life: span{localDay(bd.EnrolledAt, loc), farFuture}}
		if !bd.RetiredAt.IsZero() {
			d.life.b = localDay(bd.RetiredAt, loc)
		}
		switch {
		case bd.Kind == core.KindAgent && bd.MachineID != "":
			d.machine = "m:" + bd.MachineID
		default:
			d.machine = bd.Kind + ":" + strconv.FormatInt(bd.ID, 10)
		}
		if _, ok := machines[d.machine]; !ok {
			order = append(order, d.machine)
		}
		machines[d.machine] = append(machines[d.machine], d)
	}
	for _, k := range order {
		ds := machines[k]
		sort.Slice(ds, func(i, j int) bool { return earlier(ds[i], ds[j]) })
	}
	sort.Slice(order, func(i, j int) bool { return earlier(machines[order[i]][0], machines[order[j]][0]) })

	contracts := append([]core.Contract(nil), in.Contracts...)
	sort.Slice(contracts, func(i, j int) bool {
		if contracts[i].Start != contracts[j].Start {
			return contracts[i].Start < contracts[j].Start
		}
		return contracts[i].ID < contracts[j].ID
	})
	var bills []core.Bill
	spans := make([]span, len(contracts))
	firstBill := make([]int, len(contracts)) // index into bills; -1: none
	endBill := make([]int, len(contracts))
	for ci, c := range contracts {
		cs, err := contractSpan(c)
		if err != nil {
			return nil, err
		}
		spans[ci] = cs
		months := periodMonths(c.Period)
		if months == 0 {
			return nil, fmt.Errorf("%w: contract %d: period: %q is not monthly, quarterly or yearly", core.ErrInvalid, c.ID, c.Period)
		}
		if c.VATBasisPoints < 0 || c.VATBasisPoints > 10000 {
			return nil, fmt.Errorf("%w: contract %d: vat_basis_points: %d is not within 0–10000", core.ErrInvalid, c.ID, c.VATBasisPoints)
		}
		firstBill[ci] = -1
		for _, p := range periods(months, run) {
			w := p.clip(cs)
			if w.empty() {
				continue
			}
			if firstBill[ci] < 0 {
				firstBill[ci] = len(bills)
			}
			bills = append(bills, periodBill(in.Client, c, months, p, w, machines, order, loc))
		}
		endBill[ci] = len(bills)
	}

	// Time worked: on the bill of the contract in force on its start day.
	entries := append([]core.TimeEntry(nil), in.Time...)
	sort.Slice(entries, func(i, j int) bool {
		if !entries[i].StartedAt.Equal(entries[j].StartedAt) {
			return entries[i].StartedAt.Before(entries[j].StartedAt)
		}
		return entries[i].ID < entries[j].ID
	})
	extra := map[int]int{} // contract index → index of its time-only bill
	for _, e := range entries {
		if e.Running {
			continue
		}
		d := localDay(e.StartedAt, loc)
		if d < run.a || d > run.b {
			continue
		}
		ci := -1
		for i, cs := range spans {
			if d >= cs.a && d <= cs.b {
				ci = i
				break
			}
		}
		if ci < 0 {
			continue // no contract in force: stays unbilled
		}
		c := contracts[ci]
		bi := -1
		if firstBill[ci] >= 0 {
			// The contract's bill whose period holds the day, else its last.
			for i := firstBill[ci]; i < endBill[ci]; i++ {
				bi = i
				if p, _ := parseDay(bills[i].To); d <= p {
					break
				}
			}
		} else if i, ok := extra[ci]; ok {
			bi = i
		} else {
			bi = len(bills)
			extra[ci] = bi
			bills = append(bills, core.Bill{ClientID: in.Client.ID, ClientName: in.Client.Name, ContractID: c.ID, Plan: c.Plan,
				From: run.a.String(), To: run.b.String(), Days: int(run.days()), VATBasisPoints: c.VATBasisPoints,
				Lines: []core.BillLine{}, Devices: []core.BillDevice{}})
		}
		bills[bi].Lines = append(bills[bi].Lines, timeLine(c, e))
	}

	for i := range bills {
		b := &bills[i]
		for _, l := range b.Lines {
			b.NetCents += l.NetCents
			b.VATCents += l.VATCents
			b.GrossCents += l.GrossCents
		}
	}
	sort.SliceStable(bills, func(i, j int) bool {
		a, b := bills[i], bills[j]
		if a.ClientName != b.ClientName {
			return a.ClientName < b.ClientName
		}
		if a.From != b.From {
			return a.From < b.From
		}
		return a.To < b.To
	})
	return bills, nil
}

// earlier orders devices by enrollment, then ID.
func earlier(a, b *device) bool {
	if !a.EnrolledAt.Equal(b.EnrolledAt) {
		return a.EnrolledAt.Before(b.EnrolledAt)
	}
	return a.ID < b.ID
}

// machineDays counts the days in w on which at least one of ds existed.
func machineDays(ds []*device, w span) int64 {
	var n int64
	cur := span{0, -1}
	for _, d := range ds { // sorted by enrollment, so by life.a
		s := d.life.clip(w)
		if s.empty() {
			continue
		}
		if cur.empty() || s.a > cur.b+1 {
			n += cur.days()
			cur = s
			continue
		}
		if s.b > cur.b {
			cur.b = s.b
		}
	}
	return n + cur.days()
}

// periodBill is the bill of contract c for period p; w is p within the
// contract.
func periodBill(cl core.Client, c core.Contract, months int, p, w span, machines map[string][]*device, order []string, loc *time.Location) core.Bill {
	b := core.Bill{ClientID: cl.ID, ClientName: cl.Name, ContractID: c.ID, Plan: c.Plan, Period: c.Period,
		From: p.a.String(), To: p.b.String(), Days: int(p.days()), VATBasisPoints: c.VATBasisPoints,
		Lines: []core.BillLine{}, Devices: []core.BillDevice{}}
	var agentDays, netDays, activations int64
	for _, k := range order {
		ds := machines[k]
		kind := ds[0].Kind
		if kind == core.KindNetwork && !c.NetworkDevicesBillable {
			continue
		}
		if kind == core.KindNetwork {
			netDays += machineDays(ds, w)
		} else {
			agentDays += machineDays(ds, w)
		}
		for i, d := range ds {
			if d.life.empty() {
				continue // retired before it was enrolled: never there
			}
			days := d.life.clip(w).days()
			act, note := activation(c, ds, i, w, loc)
			if days == 0 && !act {
				continue
			}
			if act {
				activations++
			}
			b.Devices = append(b.Devices, core.BillDevice{DeviceID: d.ID, Hostname: d.Hostname, Kind: d.Kind, Days: int(days),
				Activation: act, Note: note})
		}
	}
	b.Lines = append(b.Lines, daysLine(c, core.LineInstallations, months, agentDays, p.days()))
	if c.NetworkDevicesBillable {
		b.Lines = append(b.Lines, daysLine(c, core.LineNetworkDevices, months, netDays, p.days()))
	}
	if activations > 0 {
		b.Lines = append(b.Lines, activationLine(c, activations))
	}
	return b
}

// activation tells whether device ds[i] of a machine pays the activation
// fee in window w, and why or why not.
func activation(c core.Contract, ds []*device, i int, w span, loc *time.Location) (bool, core.Text) {
	d := ds[i]
	since := ds[0].life.a.date()
	if d.life.a < w.a {
		return false, core.Text{
			DE: "bereits seit " + dateDE(since) + " installiert",
			EN: "installed since " + dateEN(since)}
	}
	if d.life.a > w.b {
		return false, core.Text{} // not reached: such a device has no days in w
	}
	if i == 0 {
		return true, core.Text{DE: "neu am " + dateDE(d.life.a.date()), EN: "new on " + dateEN(d.life.a.date())}
	}
	// An earlier device of the same machine: the latest retirement, or
	// one still there when this one enrolled (a reinstall).
	var retired time.Time
	for _, p := range ds[:i] {
		if p.RetiredAt.IsZero() || !p.RetiredAt.Before(d.EnrolledAt) {
			return false, core.Text{
				DE: "neu installiert, Gerät bereits seit " + dateDE(since) + " installiert",
				EN: "reinstalled, machine installed since " + dateEN(since)}
		}
		if p.RetiredAt.After(retired) {
			retired = p.RetiredAt
		}
	}
	m := monthsBetween(retired.In(loc), d.EnrolledAt.In(loc))
	if c.ReactivateMonths <= 0 {
		return false, core.Text{
			DE: fmt.Sprintf("nach %s wieder installiert, bereits am %s aktiviert: keine neue Aktivierung", monthsDE(m), dateDE(since)),
			EN: fmt.Sprintf("installed again after %s, activated on %s already: no new activation", monthsEN(m), dateEN(since))}
	}
	if m >= c.ReactivateMonths {
		return true, core.Text{
			DE: fmt.Sprintf("nach %s wieder installiert", monthsDE(m)),
			EN: fmt.Sprintf("installed again after %s", monthsEN(m))}
	}
	return false, core.Text{
		DE: fmt.Sprintf("nach %s wieder installiert, weniger als %d Monate: keine neue Aktivierung", monthsDE(m), c.ReactivateMonths),
		EN: fmt.Sprintf("installed again after %s, less than %s: no new activation", monthsEN(m), monthsEN(c.ReactivateMonths))}
}

// monthsBetween is the number of whole months from a to b (b after a).
func monthsBetween(a, b time.Time) int {
	m := (b.Year()-a.Year())*12 + int(b.Month()) - int(a.Month())
	for m > 0 && a.AddDate(0, m, 0).After(b) {
		m--
	}
	for !a.AddDate(0, m+1, 0).After(b) {
		m++
	}
	return m
}

// WriteCSV writes the bills' lines for a German Excel: UTF-8 with a byte
// order mark, ";" between fields, decimal comma, one row per line, and a
// last row "Summe" with the run's totals.
func WriteCSV(w io.Writer, run core.BillingRun) error { return writeCSV(w, run) }

// WriteJSON writes the run as indented JSON.
func WriteJSON(w io.Writer, run core.BillingRun) error { return writeJSON(w, run) }
