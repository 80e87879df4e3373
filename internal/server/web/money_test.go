package web

import "testing"

func TestMoney(t *testing.T) {
	for _, c := range []struct {
		cents  int64
		de, en string
	}{
		{0, "0,00\u00a0€", "€0.00"},
		{5, "0,05\u00a0€", "€0.05"},
		{12900, "129,00\u00a0€", "€129.00"},
		{123456, "1.234,56\u00a0€", "€1,234.56"},
		{123456789, "1.234.567,89\u00a0€", "€1,234,567.89"},
		{-1999, "-19,99\u00a0€", "-€19.99"},
	} {
		if got := langOf(langDE).Money(c.cents); got != c.de {
			t.Errorf("de %d: %q, want %q", c.cents, got, c.de)
		}
		if got := langOf(langEN).Money(c.cents); got != c.en {
			t.Errorf("en %d: %q, want %q", c.cents, got, c.en)
		}
	}
	if got := langOf(langDE).Decimal(12900); got != "129,00" {
		t.Errorf("Decimal: %q", got)
	}
	if got, want := langOf(langDE).Rate(750)+"|"+langOf(langEN).Rate(1900)+"|"+langOf(langEN).Rate(1), "7,5|19|0.01"; got != want {
		t.Errorf("Rate: %q, want %q", got, want)
	}
	if got := langOf(langDE).HM(90) + " " + langOf(langDE).HM(5) + " " + langOf(langDE).HM(600); got != "1:30 0:05 10:00" {
		t.Errorf("HM: %q", got)
	}
}

func TestParseCents(t *testing.T) {
	for in, want := range map[string]int64{
		"129,00": 12900, "129.00": 12900, "129": 12900, "129,5": 12950, " 129,00 € ": 12900, "€129.00": 12900,
		"1.234,56": 123456, "1,234.56": 123456, "1.234": 123400, "1,234": 123400, "1 234,56": 123456,
		"0,07": 7, ",5": 50, "-5": -500, "-0,01": -1, "19": 1900, "7,5": 750,
	} {
		got, err := parseCents(in)
		if err != nil || got != want {
			t.Errorf("parseCents(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "12,345,6x", "1.2.3,456", "1,2345", "€", "--5", "1e3", "99999999999999"} {
		if got, err := parseCents(in); err == nil {
			t.Errorf("parseCents(%q) = %d, want an error", in, got)
		}
	}
}

func TestParseMinutes(t *testing.T) {
	for in, want := range map[string]int{"90": 90, "1:30": 90, " 0:05 ": 5, "10:00": 600} {
		if got, err := parseMinutes(in); err != nil || got != want {
			t.Errorf("parseMinutes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "1:5", "1:60", "x", "1:30:00", "-1:30"} {
		if got, err := parseMinutes(in); err == nil {
			t.Errorf("parseMinutes(%q) = %d, want an error", in, got)
		}
	}
}
