// Package msg formats the numbers that checks put into their English and
// German messages: decimal point vs. decimal comma, thousands separators and
// byte sizes, so every check words its values the same way.
package msg

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// Num formats v with prec decimals in English ("1,234.5") and German
// ("1.234,5") notation.
func Num(v float64, prec int) (en, de string) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		return s, s
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', prec, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	sign := ""
	if v < 0 && strings.Trim(s, "0.") != "" {
		sign = "-"
	}
	en = sign + group(intPart, ",")
	de = sign + group(intPart, ".")
	if frac != "" {
		en += "." + frac
		de += "," + frac
	}
	return en, de
}

// group inserts sep every three digits from the right.
func group(digits, sep string) string {
	if len(digits) <= 3 {
		return digits
	}
	var b strings.Builder
	head := len(digits) % 3
	if head > 0 {
		b.WriteString(digits[:head])
	}
	for i := head; i < len(digits); i += 3 {
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(digits[i : i+3])
	}
	return b.String()
}

// Bytes formats a size with one decimal in the largest fitting unit. Units
// are binary multiples labelled KB/MB/GB/TB, as Windows Explorer and most
// technicians read them.
func Bytes(n uint64) (en, de string) {
	units := []string{"B", "KB", "MB", "GB", "TB", "PB"}
	v := float64(n)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	prec := 1
	if i == 0 {
		prec = 0
	}
	en, de = Num(v, prec)
	return en + " " + units[i], de + " " + units[i]
}

// errNotImplemented is gopsutil's internal "not implemented yet" error,
// which it does not export; it is matched by text.
const errNotImplemented = "not implemented yet"

// Unsupported maps gopsutil's "not implemented" error on an OS it does not
// cover to errors.ErrUnsupported, so the runner reports "unsupported".
func Unsupported(err error) error {
	if err != nil && strings.Contains(err.Error(), errNotImplemented) {
		return errors.Join(errors.ErrUnsupported, err)
	}
	return err
}
