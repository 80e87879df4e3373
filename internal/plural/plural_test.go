package plural

import "testing"

func TestSprintf(t *testing.T) {
	for _, tc := range []struct {
		phrase string
		n      int
		args   []any
		want   string
	}{
		{"%d device|%d devices", 0, nil, "0 devices"},
		{"%d device|%d devices", 1, nil, "1 device"},
		{"%d device|%d devices", 2, nil, "2 devices"},
		{"%d Gerät|%d Geräte", 1, nil, "1 Gerät"},
		{"%d Gerät|%d Geräte", 4, nil, "4 Geräte"},
		{"%d Dienst|%d Dienste", -1, nil, "-1 Dienste"},
		{"%[2]d von %[1]d Gerät|%[2]d von %[1]d Geräten", 1, []any{1, 0}, "0 von 1 Gerät"},
		{"%d of %d service (%s)|%d of %d services (%s)", 3, []any{2, 3, "systemd"}, "2 of 3 services (systemd)"},
		{"%d Störungen", 1, nil, "1 Störungen"}, // no "|": one form for all
	} {
		if got := Sprintf(tc.phrase, tc.n, tc.args...); got != tc.want {
			t.Errorf("Sprintf(%q, %d, %v) = %q, want %q", tc.phrase, tc.n, tc.args, got, tc.want)
		}
	}
}

func TestUnit(t *testing.T) {
	for _, tc := range []struct {
		lang, unit string
		v          float64
		want       string
	}{
		{"de", "services", 4, "Dienste"},
		{"de", "services", 1, "Dienst"},
		{"en", "services", 1, "service"},
		{"en", "services", 0, "services"},
		{"de", "events", 1.5, "Ereignisse"},
		{"de", "%", 1, "%"},
		{"en", "GB", 1, "GB"},
	} {
		if got := Unit(tc.lang, tc.unit, tc.v); got != tc.want {
			t.Errorf("Unit(%q, %q, %v) = %q, want %q", tc.lang, tc.unit, tc.v, got, tc.want)
		}
	}
}
