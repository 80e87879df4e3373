package billing

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

var client = core.Client{ID: 7, Name: "Müller & Söhne GmbH"}

// at parses "YYYY-MM-DD" (10:00 UTC that day) or an RFC 3339 time.
func at(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if len(s) == 10 {
		s += "T10:00:00Z"
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func agent(id int64, machine, enrolled, retired string) core.BillingDevice {
	return core.BillingDevice{ID: id, ClientID: client.ID, Hostname: fmt.Sprintf("pc%d", id), Kind: core.KindAgent,
		MachineID: machine, EnrolledAt: at(enrolled), RetiredAt: at(retired)}
}

func netdev(id int64, enrolled string) core.BillingDevice {
	return core.BillingDevice{ID: id, ClientID: client.ID, Hostname: fmt.Sprintf("printer%d", id), Kind: core.KindNetwork,
		EnrolledAt: at(enrolled)}
}

// contract is the default plan from 2020 on, changed by mods.
func contract(mods ...func(*core.Contract)) core.Contract {
	c := core.DefaultContract(client.ID, "2020-01-01")
	c.ID = 1
	for _, m := range mods {
		m(&c)
	}
	return c
}

// want is a line's expected figures: kind, quantity, net, VAT, gross.
type want struct {
	kind            string
	qty             int64
	net, vat, gross int64
}

func lines(b core.Bill) []want {
	var out []want
	for _, l := range b.Lines {
		out = append(out, want{l.Kind, l.Quantity, l.NetCents, l.VATCents, l.GrossCents})
	}
	return out
}

func inst(qty, net, vat, gross int64) want { return want{core.LineInstallations, qty, net, vat, gross} }
func act(qty, net, vat, gross int64) want  { return want{core.LineActivations, qty, net, vat, gross} }

const nov = "2026-11-01"
const novEnd = "2026-11-30"

func TestComputeAmounts(t *testing.T) {
	quarterly := func(c *core.Contract) { c.Period = core.PeriodQuarterly }
	yearly := func(c *core.Contract) { c.Period = core.PeriodYearly }
	cases := []struct {
		name      string
		contracts []core.Contract
		devices   []core.BillingDevice
		from, to  string
		// bills' lines, in order
		want [][]want
	}{
		{"129 € gross per year, a full month", []core.Contract{contract()},
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", "")}, nov, novEnd,
			// 12900/12 = 1075 gross; 1075/1.19 = 903.36 → 903 net, 172 VAT
			[][]want{{inst(30, 903, 172, 1075)}}},
		{"enrolled on the 15th of a 30-day month pays the activation", []core.Contract{contract()},
			[]core.BillingDevice{agent(1, "m1", "2026-11-15", "")}, nov, novEnd,
			// 12900 × 16/360 = 573.33 → 573; 573/1.19 = 481.51 → 482; 3900/1.19 = 3277.31 → 3277
			[][]want{{inst(16, 482, 91, 573), act(1, 3277, 623, 3900)}}},
		{"46 device-days", []core.Contract{contract()},
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", ""), agent(2, "", "2026-11-15", "")}, nov, novEnd,
			// 12900 × 46/360 = 1648.33 → 1648; 1648/1.19 = 1384.87 → 1385
			[][]want{{inst(46, 1385, 263, 1648), act(1, 3277, 623, 3900)}}},
		{"retired and enrolled again after the reactivation months pays again", []core.Contract{contract()},
			[]core.BillingDevice{agent(1, "m1", "2025-01-10", "2026-02-10"), agent(2, "m1", "2026-11-15", "")}, nov, novEnd,
			[][]want{{inst(16, 482, 91, 573), act(1, 3277, 623, 3900)}}},
		{"retired and enrolled again within the reactivation months does not", []core.Contract{contract(func(c *core.Contract) { c.ReactivateMonths = 12 })},
			[]core.BillingDevice{agent(1, "m1", "2025-01-10", "2026-02-10"), agent(2, "m1", "2026-11-15", "")}, nov, novEnd,
			[][]want{{inst(16, 482, 91, 573)}}},
		{"reactivation months 0: never again", []core.Contract{contract(func(c *core.Contract) { c.ReactivateMonths = 0 })},
			[]core.BillingDevice{agent(1, "m1", "2020-01-10", "2021-02-10"), agent(2, "m1", "2026-11-15", "")}, nov, novEnd,
			[][]want{{inst(16, 482, 91, 573)}}},
		{"duplicate device rows of one machine count once", []core.Contract{contract()},
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", ""), agent(2, "m1", "2026-11-10", ""), agent(3, "m1", "2026-11-20", "2026-11-21")}, nov, novEnd,
			[][]want{{inst(30, 903, 172, 1075)}}},
		{"a device retired before it was enrolled never existed", []core.Contract{contract()},
			[]core.BillingDevice{agent(1, "m1", "2026-11-15", "2026-11-14")}, nov, novEnd,
			[][]want{{inst(0, 0, 0, 0)}}},
		{"quarterly", []core.Contract{contract(quarterly)},
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", "")}, "2026-10-01", "2026-12-31",
			// 12900 × 3/12 = 3225 for 92 of 92 days; 3225/1.19 = 2710.08
			[][]want{{inst(92, 2710, 515, 3225)}}},
		{"quarterly period not ended in the run: no bill", []core.Contract{contract(quarterly)},
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", "")}, "2026-10-01", "2026-10-31",
			nil},
		{"yearly, enrolled on 1 July", []core.Contract{contract(yearly)},
			[]core.BillingDevice{agent(1, "m1", "2026-07-01", "")}, "2026-01-01", "2026-12-31",
			// 12900 × 184/365 = 6503.01 → 6503; 6503/1.19 = 5464.71 → 5465
			[][]want{{inst(184, 5465, 1038, 6503), act(1, 3277, 623, 3900)}}},
		{"7 % VAT", []core.Contract{contract(func(c *core.Contract) { c.VATBasisPoints = 700 })},
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", "")}, nov, novEnd,
			// 1075/1.07 = 1004.67 → 1005
			[][]want{{inst(30, 1005, 70, 1075)}}},
		{"0 % VAT", []core.Contract{contract(func(c *core.Contract) { c.VATBasisPoints = 0 })},
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", "")}, nov, novEnd,
			[][]want{{inst(30, 1075, 0, 1075)}}},
		{"net contract", []core.Contract{contract(func(c *core.Contract) { c.Gross = false; c.PriceCents = 10000; c.ActivationCents = 3000 })},
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", ""), agent(2, "m2", "2026-11-01", "")}, nov, novEnd,
			// 10000 × 60/360 = 1666.67 → 1667 net; × 0.19 = 316.73 → 317; 3000 × 0.19 = 570
			[][]want{{inst(60, 1667, 317, 1984), act(1, 3000, 570, 3570)}}},
		{"contract starting mid-month: half a cent rounds up", []core.Contract{contract(func(c *core.Contract) { c.Start = "2026-11-16" })},
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", ""), agent(2, "m2", "2026-11-10", "")}, nov, novEnd,
			// 15 + 15 days: 12900 × 30/360 = 1075; the device enrolled before the contract pays no activation
			[][]want{{inst(30, 903, 172, 1075)}}},
		{"contract starting mid-month, one device", []core.Contract{contract(func(c *core.Contract) { c.Start = "2026-11-16" })},
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", "")}, nov, novEnd,
			// 12900 × 15/360 = 537.5 → 538 (half away from zero); 538/1.19 = 452.10
			[][]want{{inst(15, 452, 86, 538)}}},
		{"contract ending mid-period", []core.Contract{contract(quarterly, func(c *core.Contract) { c.End = "2026-11-10" })},
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", "")}, "2026-10-01", "2026-12-31",
			// 12900 × 3/12 × 41/92 = 1437.23 → 1437; 1437/1.19 = 1207.56 → 1208
			[][]want{{inst(41, 1208, 229, 1437)}}},
		{"a customer with no devices", []core.Contract{contract()}, nil, nov, novEnd,
			[][]want{{inst(0, 0, 0, 0)}}},
		{"devices but no contract: no bill", nil,
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", "")}, nov, novEnd, nil},
		{"network devices not billable", []core.Contract{contract()},
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", ""), netdev(2, "2026-11-15")}, nov, novEnd,
			[][]want{{inst(30, 903, 172, 1075)}}},
		{"network devices billable", []core.Contract{contract(func(c *core.Contract) { c.NetworkDevicesBillable = true })},
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", ""), netdev(2, "2026-11-15"), netdev(3, "2020-01-01")}, nov, novEnd,
			[][]want{{inst(30, 903, 172, 1075), {core.LineNetworkDevices, 46, 1385, 263, 1648}, act(1, 3277, 623, 3900)}}},
		{"monthly contract, quarterly run: three bills", []core.Contract{contract()},
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", "")}, "2026-10-01", "2026-12-31",
			// 12900 × 31/372 = 1075 in every month
			[][]want{{inst(31, 903, 172, 1075)}, {inst(30, 903, 172, 1075)}, {inst(31, 903, 172, 1075)}}},
		{"two contracts in one month", []core.Contract{
			contract(func(c *core.Contract) { c.ID = 2; c.Start = "2026-11-11"; c.PriceCents = 24000 }),
			contract(func(c *core.Contract) { c.End = "2026-11-10" })},
			[]core.BillingDevice{agent(1, "m1", "2025-02-03", "")}, nov, novEnd,
			// 12900 × 10/360 = 358.33; 24000 × 20/360 = 1333.33
			[][]want{{inst(10, 301, 57, 358)}, {inst(20, 1120, 213, 1333)}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bills, err := Compute(Input{Client: client, Contracts: tc.contracts, Devices: tc.devices, From: tc.from, To: tc.to})
			if err != nil {
				t.Fatal(err)
			}
			if len(bills) != len(tc.want) {
				t.Fatalf("%d bills, want %d: %+v", len(bills), len(tc.want), bills)
			}
			for i, b := range bills {
				got := lines(b)
				if fmt.Sprint(got) != fmt.Sprint(tc.want[i]) {
					t.Errorf("bill %d (%s–%s) lines\n got %v\nwant %v\n%s", i, b.From, b.To, got, tc.want[i], explain(b))
				}
				checkTotals(t, b)
			}
		})
	}
}

func explain(b core.Bill) string {
	var s []string
	for _, l := range b.Lines {
		s = append(s, l.Explain.DE)
	}
	for _, d := range b.Devices {
		s = append(s, fmt.Sprintf("%s %d Tage %v %s", d.Hostname, d.Days, d.Activation, d.Note.DE))
	}
	return strings.Join(s, "\n")
}

func checkTotals(t *testing.T, b core.Bill) {
	t.Helper()
	var net, vat, gross int64
	for _, l := range b.Lines {
		if l.NetCents+l.VATCents != l.GrossCents {
			t.Errorf("line %s: %d + %d != %d", l.Kind, l.NetCents, l.VATCents, l.GrossCents)
		}
		if l.Explain.DE == "" || l.Explain.EN == "" {
			t.Errorf("line %s has no explanation: %+v", l.Kind, l.Explain)
		}
		net, vat, gross = net+l.NetCents, vat+l.VATCents, gross+l.GrossCents
	}
	if b.NetCents != net || b.VATCents != vat || b.GrossCents != gross {
		t.Errorf("bill totals %d/%d/%d, lines sum to %d/%d/%d", b.NetCents, b.VATCents, b.GrossCents, net, vat, gross)
	}
}

func TestComputeExplains(t *testing.T) {
	bills, err := Compute(Input{Client: client, Contracts: []core.Contract{contract()},
		Devices: []core.BillingDevice{agent(1, "m1", "2025-02-03", ""), agent(2, "", "2026-11-15", ""),
			agent(3, "m3", "2025-01-10", "2026-02-10"), agent(4, "m3", "2026-11-20", ""),
			agent(5, "m5", "2026-10-01", "2026-10-02"), agent(6, "m5", "2026-11-02", ""),
			agent(7, "m1", "2026-11-05", "")},
		From: nov, To: novEnd})
	if err != nil {
		t.Fatal(err)
	}
	b := bills[0]
	l := b.Lines[0]
	for _, w := range []string{
		"129,00 € brutto/Jahr × 1/12 × 86 Gerätetage ÷ 30 Tage = 30,82 € brutto, davon 19 % USt. 4,92 €, netto 25,90 €",
	} {
		if l.Explain.DE != w {
			t.Errorf("DE\n got %q\nwant %q", l.Explain.DE, w)
		}
	}
	if w := "€129.00 gross/year × 1/12 × 86 device-days ÷ 30 days = €30.82 gross, of which 19 % VAT €4.92, net €25.90"; l.Explain.EN != w {
		t.Errorf("EN\n got %q\nwant %q", l.Explain.EN, w)
	}
	if w := "2 × 39,00 € brutto = 78,00 € brutto, davon 19 % USt. 12,45 €, netto 65,55 €"; b.Lines[1].Explain.DE != w {
		t.Errorf("activations\n got %q\nwant %q", b.Lines[1].Explain.DE, w)
	}
	notes := map[int64]string{}
	for _, d := range b.Devices {
		notes[d.DeviceID] = fmt.Sprintf("%d %v %s | %s", d.Days, d.Activation, d.Note.DE, d.Note.EN)
	}
	for id, w := range map[int64]string{
		1: "30 false bereits seit 03.02.2025 installiert | installed since 2025-02-03",
		2: "16 true neu am 15.11.2026 | new on 2026-11-15",
		4: "11 true nach 9 Monaten wieder installiert | installed again after 9 months",
		6: "29 false nach 1 Monat wieder installiert, weniger als 6 Monate: keine neue Aktivierung | installed again after 1 month, less than 6 months: no new activation",
		7: "26 false neu installiert, Gerät bereits seit 03.02.2025 installiert | reinstalled, machine installed since 2025-02-03",
	} {
		if notes[id] != w {
			t.Errorf("device %d\n got %q\nwant %q", id, notes[id], w)
		}
	}
	if _, ok := notes[3]; ok {
		t.Errorf("device 3, retired before the period, is listed: %s", notes[3])
	}
	if len(b.Devices) != 5 {
		t.Errorf("%d devices listed, want 5", len(b.Devices))
	}
}

func TestComputeTime(t *testing.T) {
	c := contract(func(c *core.Contract) { c.Start = "2026-11-05"; c.HourlyRateCents = 9500 })
	entries := []core.TimeEntry{
		{ID: 1, StartedAt: at("2026-11-10"), Minutes: 90, Note: "Server neu gestartet", Billable: true},
		{ID: 2, StartedAt: at("2026-11-09"), Minutes: 30, Note: "Rückfrage", Billable: false},
		{ID: 3, StartedAt: at("2026-11-11"), Running: true, Billable: true},
		{ID: 4, StartedAt: at("2026-11-02"), Minutes: 60, Billable: true},           // before the contract
		{ID: 5, StartedAt: at("2026-12-01"), Minutes: 60, Billable: true},           // after the run
		{ID: 6, StartedAt: at("2026-11-12"), Minutes: 25, Billable: true},           // 9500 × 25/60 = 3958.33
		{ID: 7, StartedAt: at("2026-11-13"), Minutes: 3, Billable: true},            // 9500 × 3/60 = 475
		{ID: 8, StartedAt: at("2026-11-13"), Minutes: 1, Billable: true},            // 158.33
		{ID: 9, StartedAt: at("2026-11-30T23:30:00Z"), Minutes: 10, Billable: true}, // 1 December in Berlin
	}
	bills, err := Compute(Input{Client: client, Contracts: []core.Contract{c}, Time: entries, From: nov, To: novEnd,
		Location: berlin(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(bills) != 1 {
		t.Fatalf("%d bills", len(bills))
	}
	b := bills[0]
	var got []string
	for _, l := range b.Lines[1:] {
		if l.Kind != core.LineTime {
			t.Errorf("line %s", l.Kind)
		}
		got = append(got, fmt.Sprintf("%d:%d:%d/%d/%d:%s", l.TimeEntryID, l.Quantity, l.NetCents, l.VATCents, l.GrossCents, l.Text.DE))
	}
	w := []string{"2:30:0/0/0:Rückfrage", "1:90:11975/2275/14250:Server neu gestartet", "6:25:3326/632/3958:Zeiterfassung",
		"7:3:399/76/475:Zeiterfassung", "8:1:133/25/158:Zeiterfassung"}
	if fmt.Sprint(got) != fmt.Sprint(w) {
		t.Errorf("time lines\n got %v\nwant %v", got, w)
	}
	if x := b.Lines[2].Explain.DE; !strings.HasPrefix(x, "95,00 € brutto/Stunde × 90 Minuten ÷ 60 = 142,50 € brutto") {
		t.Errorf("explain %q", x)
	}
	if x := b.Lines[1].Explain.EN; x != "not billable: 30 minutes = €0.00" {
		t.Errorf("explain %q", x)
	}
	checkTotals(t, b)

	// A quarterly contract whose period does not end in the run: the
	// time goes on a bill of its own over the run.
	c.Period = core.PeriodQuarterly
	bills, err = Compute(Input{Client: client, Contracts: []core.Contract{c}, Time: entries, From: nov, To: novEnd})
	if err != nil {
		t.Fatal(err)
	}
	if len(bills) != 1 || bills[0].Period != "" || bills[0].From != nov || bills[0].To != novEnd || len(bills[0].Lines) != 6 {
		t.Fatalf("time-only bill: %+v", bills)
	}
	for _, l := range bills[0].Lines {
		if l.Kind != core.LineTime {
			t.Errorf("time-only bill has a %s line", l.Kind)
		}
	}
	if bills[0].GrossCents != 14250+3958+475+158+1583 {
		t.Errorf("gross %d", bills[0].GrossCents)
	}
}

func berlin(t testing.TB) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data:", err)
	}
	return loc
}

// A day is a calendar day in the location, 23 or 25 hours long when the
// clocks change.
func TestComputeDaylightSaving(t *testing.T) {
	loc := berlin(t)
	cases := []struct {
		name     string
		dev      core.BillingDevice
		from, to string
		berlin   int64
		utc      int64
	}{
		// 29 March 2026 00:30 CET, the day the clocks go forward.
		{"enrolled on the short day", agent(1, "m", "2026-03-28T23:30:00Z", ""), "2026-03-01", "2026-03-31", 3, 4},
		// 25 October 2026 00:30 CEST, the day the clocks go back.
		{"retired on the long day", agent(1, "m", "2026-01-01", "2026-10-24T22:30:00Z"), "2026-10-01", "2026-10-31", 25, 24},
		// 25 October 2026 23:30 CET, the 25th hour of the long day.
		{"retired late on the long day", agent(1, "m", "2026-01-01", "2026-10-25T22:30:00Z"), "2026-10-01", "2026-10-31", 25, 25},
	}
	for _, tc := range cases {
		for _, l := range []struct {
			loc  *time.Location
			want int64
		}{{loc, tc.berlin}, {nil, tc.utc}} {
			bills, err := Compute(Input{Client: client, Contracts: []core.Contract{contract()}, Devices: []core.BillingDevice{tc.dev},
				From: tc.from, To: tc.to, Location: l.loc})
			if err != nil {
				t.Fatal(err)
			}
			if q := bills[0].Lines[0].Quantity; q != l.want {
				t.Errorf("%s in %v: %d device-days, want %d", tc.name, l.loc, q, l.want)
			}
			if bills[0].Days != 31 {
				t.Errorf("%s: period of %d days", tc.name, bills[0].Days)
			}
		}
	}
}

func TestComputeBadInput(t *testing.T) {
	for _, tc := range []struct{ from, to, field string }{
		{"2026-11-02", "2026-11-30", "from"},
		{"2026-11-01", "2026-11-29", "to"},
		{"2026-13-01", "2026-11-30", "from"},
		{"", "2026-11-30", "from"},
		{"2026-11-01", "30.11.2026", "to"},
		{"2026-12-01", "2026-11-30", "to"},
		{"2026-02-01", "2026-02-29", "to"},
		{"2026-11-1", "2026-11-30", "from"},
	} {
		_, err := Compute(Input{Client: client, Contracts: []core.Contract{contract()}, From: tc.from, To: tc.to})
		if !errors.Is(err, core.ErrInvalid) || !strings.Contains(err.Error(), tc.field+":") {
			t.Errorf("%q..%q: %v, want ErrInvalid naming %s", tc.from, tc.to, err, tc.field)
		}
	}
	if _, err := Compute(Input{Client: client, Contracts: []core.Contract{contract()}, From: "2024-02-01", To: "2024-02-29"}); err != nil {
		t.Errorf("leap February: %v", err)
	}
	for _, m := range []func(*core.Contract){
		func(c *core.Contract) { c.Period = "weekly" },
		func(c *core.Contract) { c.Start = "2026-11" },
		func(c *core.Contract) { c.End = "someday" },
	} {
		if _, err := Compute(Input{Client: client, Contracts: []core.Contract{contract(m)}, From: nov, To: novEnd}); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("bad contract: %v", err)
		}
	}
}

func TestRoundDiv(t *testing.T) {
	for _, tc := range []struct{ num, den, want int64 }{
		{5, 10, 1}, {4, 10, 0}, {15, 10, 2}, {25, 10, 3}, {-5, 10, -1}, {-4, 10, 0}, {-15, 10, -2}, {10750000, 11900, 903},
	} {
		if got := mulDiv(tc.den, tc.num); got != tc.want {
			t.Errorf("%d/%d = %d, want %d", tc.num, tc.den, got, tc.want)
		}
	}
	if s := eurDE(123456789); s != "1.234.567,89 €" {
		t.Error(s)
	}
	if s := eurEN(-5); s != "-€0.05" {
		t.Error(s)
	}
	if s := percentDE(750); s != "7,5 %" {
		t.Error(s)
	}
}

func BenchmarkComputeYearly500(b *testing.B) {
	c := contract(func(c *core.Contract) { c.Period = core.PeriodYearly })
	var devs []core.BillingDevice
	for i := 0; i < 500; i++ {
		d := agent(int64(i+1), fmt.Sprintf("m%d", i%450), "2025-06-01", "")
		d.EnrolledAt = d.EnrolledAt.AddDate(0, 0, i)
		if i%7 == 0 {
			d.RetiredAt = d.EnrolledAt.AddDate(0, 3, 0)
		}
		devs = append(devs, d)
	}
	in := Input{Client: client, Contracts: []core.Contract{c}, Devices: devs, From: "2026-01-01", To: "2026-12-31"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compute(in); err != nil {
			b.Fatal(err)
		}
	}
}

// A time entry after the contract's last period that ends in the run goes
// on that period's bill.
func TestComputeTimeAfterLastPeriod(t *testing.T) {
	c := contract(func(c *core.Contract) { c.Period = core.PeriodQuarterly })
	bills, err := Compute(Input{Client: client, Contracts: []core.Contract{c}, From: "2026-03-01", To: "2026-04-30",
		Time: []core.TimeEntry{{ID: 1, StartedAt: at("2026-04-10"), Minutes: 60, Billable: true}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(bills) != 1 || bills[0].From != "2026-01-01" || len(bills[0].Lines) != 2 || bills[0].Lines[1].GrossCents != 9500 {
		t.Fatalf("bills %+v", bills)
	}
}
