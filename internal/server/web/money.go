package web

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/billing"
)

// Money and durations as the dashboard shows and reads them: amounts are
// integer cents, written "1.234,56 €" in German and "€1,234.56" in
// English; a form accepts either decimal separator.

// Money formats cents in the language's currency format (billing.Money),
// the amount and "€" held together by a no-break space.
func (l Lang) Money(cents int64) string {
	return strings.Replace(billing.Money(cents, l.code), " €", "\u00a0€", 1)
}

// Decimal formats cents (or hundredths) for a form field: "129,00" in
// German, "129.00" in English, without grouping.
func (l Lang) Decimal(cents int64) string { return billing.Decimal(cents, l.code) }

// Rate formats basis points as a percentage: 1900 → "19", 750 →
// "7,5" (de) / "7.5" (en).
func (l Lang) Rate(bp int) string { return billing.Percent(bp, l.code) }

// HM formats minutes as h:mm.
func (l Lang) HM(minutes int) string {
	if minutes < 0 {
		return "-" + l.HM(-minutes)
	}
	return fmt.Sprintf("%d:%02d", minutes/60, minutes%60)
}

var errNumber = errors.New("not a number")

// parseCents reads an amount of money (or any number with at most two
// decimals) as hundredths: "129,00", "129.00", "129", "1.234,56",
// "1,234.56", "129 €" and "-5" are all understood. A single separator
// followed by three digits groups thousands ("1.234" is 1234); otherwise
// it is the decimal separator.
func parseCents(s string) (int64, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, "€"), "€"))
	s = strings.NewReplacer("\u00a0", "", " ", "", "'", "").Replace(s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return 0, errNumber
	}
	dec := -1 // index of the decimal separator
	lastComma, lastDot := strings.LastIndexByte(s, ','), strings.LastIndexByte(s, '.')
	switch {
	case lastComma >= 0 && lastDot >= 0:
		dec = max(lastComma, lastDot)
	case lastComma >= 0 || lastDot >= 0:
		if i := max(lastComma, lastDot); len(s)-i-1 != 3 {
			dec = i
		}
	}
	intPart, frac := s, ""
	if dec >= 0 {
		intPart, frac = s[:dec], s[dec+1:]
	}
	intPart = strings.NewReplacer(",", "", ".", "").Replace(intPart)
	if intPart == "" {
		intPart = "0"
	}
	if len(frac) > 2 || !digits(intPart) || !digits(frac) || len(intPart) > 13 {
		return 0, errNumber
	}
	for len(frac) < 2 {
		frac += "0"
	}
	n, err := strconv.ParseInt(intPart+frac, 10, 64)
	if err != nil {
		return 0, errNumber
	}
	if neg {
		n = -n
	}
	return n, nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// parseMinutes reads a duration as minutes ("90") or hours and minutes
// ("1:30").
func parseMinutes(s string) (int, error) {
	s = strings.TrimSpace(s)
	if h, m, ok := strings.Cut(s, ":"); ok {
		hh, err1 := strconv.Atoi(h)
		mm, err2 := strconv.Atoi(m)
		if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || len(m) != 2 {
			return 0, errNumber
		}
		return hh*60 + mm, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errNumber
	}
	return n, nil
}
