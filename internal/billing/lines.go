package billing

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// roundDiv is num/den rounded half away from zero (den > 0), exact for
// any size of num.
func roundDiv(num, den *big.Int) int64 {
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	r.Abs(r).Lsh(r, 1)
	if r.Cmp(den) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return q.Int64()
}

func mulDiv(den int64, factors ...int64) int64 {
	n := big.NewInt(1)
	for _, f := range factors {
		n.Mul(n, big.NewInt(f))
	}
	return roundDiv(n, big.NewInt(den))
}

// split turns a line's amount, gross or net as the contract says, into
// net, VAT and gross, each rounded to the cent.
func split(amount int64, gross bool, bp int) (net, vat, grs int64) {
	if gross {
		net = mulDiv(10000+int64(bp), amount, 10000)
		return net, amount - net, amount
	}
	vat = mulDiv(10000, amount, int64(bp))
	return amount, vat, amount + vat
}

// line fills the amounts of l from amount and appends the VAT split to
// the explanation's arithmetic.
func line(c core.Contract, l core.BillLine, amount int64, de, en string) core.BillLine {
	l.NetCents, l.VATCents, l.GrossCents = split(amount, c.Gross, c.VATBasisPoints)
	rate := core.Text{DE: percentDE(c.VATBasisPoints), EN: percentEN(c.VATBasisPoints)}
	if c.Gross {
		l.Explain = core.Text{
			DE: fmt.Sprintf("%s = %s brutto, davon %s USt. %s, netto %s", de, eurDE(amount), rate.DE, eurDE(l.VATCents), eurDE(l.NetCents)),
			EN: fmt.Sprintf("%s = %s gross, of which %s VAT %s, net %s", en, eurEN(amount), rate.EN, eurEN(l.VATCents), eurEN(l.NetCents)),
		}
	} else {
		l.Explain = core.Text{
			DE: fmt.Sprintf("%s = %s netto + %s USt. %s = %s brutto", de, eurDE(amount), rate.DE, eurDE(l.VATCents), eurDE(l.GrossCents)),
			EN: fmt.Sprintf("%s = %s net + %s VAT %s = %s gross", en, eurEN(amount), rate.EN, eurEN(l.VATCents), eurEN(l.GrossCents)),
		}
	}
	return l
}

func basis(c core.Contract) (de, en string) {
	if c.Gross {
		return "brutto", "gross"
	}
	return "netto", "net"
}

// daysLine prices device-days: price per year × months/12 × device-days ÷
// days in the period.
func daysLine(c core.Contract, kind string, months int, deviceDays, periodDays int64) core.BillLine {
	l := core.BillLine{Kind: kind, Quantity: deviceDays, Unit: "device-days", UnitCents: c.PriceCents,
		Text: core.Text{DE: "Installationen", EN: "Installations"}}
	if kind == core.LineNetworkDevices {
		l.Text = core.Text{DE: "Netzwerkgeräte", EN: "Network devices"}
	}
	amount := mulDiv(12*periodDays, c.PriceCents, int64(months), deviceDays)
	bde, ben := basis(c)
	de := fmt.Sprintf("%s %s/Jahr × %d/12 × %d Gerätetage ÷ %d Tage", eurDE(c.PriceCents), bde, months, deviceDays, periodDays)
	en := fmt.Sprintf("%s %s/year × %d/12 × %d device-days ÷ %d days", eurEN(c.PriceCents), ben, months, deviceDays, periodDays)
	return line(c, l, amount, de, en)
}

func activationLine(c core.Contract, n int64) core.BillLine {
	l := core.BillLine{Kind: core.LineActivations, Quantity: n, Unit: "activations", UnitCents: c.ActivationCents,
		Text: core.Text{DE: "Aktivierungsgebühr", EN: "Activation fee"}}
	bde, ben := basis(c)
	return line(c, l, n*c.ActivationCents,
		fmt.Sprintf("%d × %s %s", n, eurDE(c.ActivationCents), bde),
		fmt.Sprintf("%d × %s %s", n, eurEN(c.ActivationCents), ben))
}

func timeLine(c core.Contract, e core.TimeEntry) core.BillLine {
	l := core.BillLine{Kind: core.LineTime, Quantity: int64(e.Minutes), Unit: "minutes", UnitCents: c.HourlyRateCents,
		Text: core.Text{DE: e.Note, EN: e.Note}, TimeEntryID: e.ID}
	if strings.TrimSpace(e.Note) == "" {
		l.Text = core.Text{DE: "Zeiterfassung", EN: "Time worked"}
	}
	if !e.Billable {
		l.Explain = core.Text{
			DE: fmt.Sprintf("nicht abrechenbar: %d Minuten = %s", e.Minutes, eurDE(0)),
			EN: fmt.Sprintf("not billable: %d minutes = %s", e.Minutes, eurEN(0))}
		return l
	}
	bde, ben := basis(c)
	return line(c, l, mulDiv(60, c.HourlyRateCents, int64(e.Minutes)),
		fmt.Sprintf("%s %s/Stunde × %d Minuten ÷ 60", eurDE(c.HourlyRateCents), bde, e.Minutes),
		fmt.Sprintf("%s %s/hour × %d minutes ÷ 60", eurEN(c.HourlyRateCents), ben, e.Minutes))
}

// amount formats cents with the decimal mark dec and the thousands
// separator sep ("" for none).
func amount(cents int64, dec, sep string) string {
	neg := cents < 0
	if neg {
		cents = -cents
	}
	units := strconv.FormatInt(cents/100, 10)
	if sep != "" {
		for i := len(units) - 3; i > 0; i -= 3 {
			units = units[:i] + sep + units[i:]
		}
	}
	s := fmt.Sprintf("%s%s%02d", units, dec, cents%100)
	if neg {
		s = "-" + s
	}
	return s
}

func eurDE(c int64) string { return Money(c, "de") }
func eurEN(c int64) string { return Money(c, "en") }

// Money formats cents as "1.234,56 €" (lang "de") or "€1,234.56".
func Money(cents int64, lang string) string {
	if lang == "de" {
		return amount(cents, ",", ".") + " €"
	}
	s := amount(cents, ".", ",")
	if strings.HasPrefix(s, "-") {
		return "-€" + s[1:]
	}
	return "€" + s
}

// Decimal formats cents for a form field, without grouping: "129,00"
// (lang "de") or "129.00".
func Decimal(cents int64, lang string) string {
	if lang == "de" {
		return amount(cents, ",", "")
	}
	return amount(cents, ".", "")
}

// Percent formats basis points as a percentage without trailing zeros
// and without the sign: 1900 → "19", 750 → "7,5" (lang "de") or "7.5".
func Percent(bp int, lang string) string {
	if lang == "de" {
		return percent(bp, ",")
	}
	return percent(bp, ".")
}

// percent formats basis points as a percentage without trailing zeros.
func percent(bp int, dec string) string {
	s := strconv.Itoa(bp / 100)
	if r := bp % 100; r != 0 {
		s += dec + strings.TrimRight(fmt.Sprintf("%02d", r), "0")
	}
	return s
}

func percentDE(bp int) string { return percent(bp, ",") + " %" }
func percentEN(bp int) string { return percent(bp, ".") + " %" }

func dateDE(t time.Time) string { return t.Format("02.01.2006") }
func dateEN(t time.Time) string { return t.Format(dateLayout) }

func monthsDE(n int) string {
	if n == 1 {
		return "1 Monat"
	}
	return strconv.Itoa(n) + " Monaten"
}

func monthsEN(n int) string {
	if n == 1 {
		return "1 month"
	}
	return strconv.Itoa(n) + " months"
}
