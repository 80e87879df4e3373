package check

import (
	"strings"
	"testing"
)

// TestFormats pins what each format accepts and refuses, and that a
// refusal comes in both languages.
func TestFormats(t *testing.T) {
	long := "1" + strings.Repeat(".1", 128)
	cases := map[string]struct{ ok, bad []string }{
		FormatHost:      {[]string{"printer", "printer.example", "192.0.2.1", "::1", " h "}, []string{" ", "a b", "a/b", "a@b", "a:b", "fe80::1%eth0", strings.Repeat("ä", 127)}},
		FormatHostPort:  {[]string{":162", "0.0.0.0:162", "[::1]:162", "h:1"}, []string{"162", "h", "::1:162:x"}},
		FormatURL:       {[]string{"http://h/", "HTTPS://h:8443/p?q=1"}, []string{"h", "ftp://h/", "https://", "https://:80/", "https://u:p@h/", "http://%zz/"}},
		FormatOID:       {[]string{"1.3", ".1.3.6.1.2.1.1.3.0", " 1.3.6 ", "2.4294967295"}, []string{"1", "3.1", "1..3", "1.3.", "sysUpTime.0", "1.4294967296", "1.12345678901", long}},
		FormatIPOrCIDR:  {[]string{"192.0.2.1", "192.0.2.0/24", "2001:db8::/32", "::ffff:192.0.2.1"}, []string{"h", "192.0.2.0/33", "192.0.2.300", " 192.0.2.1"}},
		FormatTimeOfDay: {[]string{"06:00", "23:59", "00:00", "6:00"}, []string{"24:00", "06:60", "6 Uhr"}},
		FormatPEM:       {nil, []string{"x", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"}},
	}
	for f, c := range cases {
		if FormatMessage(f, "") != nil {
			t.Errorf("%s refuses the empty text, which means the default", f)
		}
		for _, s := range c.ok {
			if m := FormatMessage(f, s); m != nil {
				t.Errorf("%s refuses %q: %s", f, s, m.EN)
			}
		}
		for _, s := range c.bad {
			m := FormatMessage(f, s)
			if m == nil || m.EN == "" || m.DE == "" || m.EN == m.DE {
				t.Errorf("%s: %q: got %v, want a refusal in English and German", f, s, m)
			}
		}
	}
	for f := range formats {
		if _, ok := cases[f]; !ok {
			t.Errorf("format %s is not tested", f)
		}
		// A form shows the example as a hint: it must fit (a PEM
		// certificate's first line is only its start).
		if ex := FormatExample(f); ex == "" || f != FormatPEM && FormatMessage(f, ex) != nil {
			t.Errorf("format %s: example %q does not fit", f, ex)
		}
	}
}

// TestFormatInSpec checks that Validate applies a declared format with the
// field's path, inside lists too.
func TestFormatInSpec(t *testing.T) {
	s := &Spec{Name: "t", Params: []Param{
		{Name: "host", Type: Text, Format: FormatHost},
		{Name: "nets", Type: List, Items: &Param{Type: Text, Format: FormatIPOrCIDR}},
	}}
	fs := s.Validate([]byte(`{"host":"a b","nets":["192.0.2.0/24","x"]}`))
	if len(fs) != 2 || fs[0].Field != "host" || fs[1].Field != "nets[1]" || !strings.Contains(fs[1].Message.DE, "Netzbereich") {
		t.Errorf("got %+v", fs)
	}
	if fs := s.Validate([]byte(`{"host":"h","nets":[]}`)); len(fs) != 0 {
		t.Errorf("valid parameters refused: %+v", fs)
	}
	defer func() {
		if recover() == nil {
			t.Error("an unknown format did not panic")
		}
	}()
	FormatMessage("nosuchformat", "x")
}
