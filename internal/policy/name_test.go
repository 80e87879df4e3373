package policy

import (
	"strings"
	"testing"
)

func TestCleanName(t *testing.T) {
	for _, ok := range []struct{ in, want string }{
		{"Müller GmbH", "Müller GmbH"},
		{"  Zentrale Hannover \t", "Zentrale Hannover"},
		{strings.Repeat("ä", MaxLabelLen), strings.Repeat("ä", MaxLabelLen)},
		{"株式会社 🏢", "株式会社 🏢"},
	} {
		got, fe := CleanName("name", ok.in, MaxLabelLen)
		if fe != nil || got != ok.want {
			t.Errorf("CleanName(%q) = %q, %v; want %q", ok.in, got, fe, ok.want)
		}
	}
	for _, bad := range []string{
		"", "   ", "Acme\r\nX-Injected: 1", "Acme\nGmbH", "A\tB", "A\x00B", "A\x1bB", "A\u0085B",
		"A\u2028B", "Acme \u202egnp.exe", "A\u2066B", "A\xffB", strings.Repeat("x", MaxLabelLen+1),
		strings.Repeat("x", 10000),
	} {
		_, fe := CleanName("client", bad, MaxLabelLen)
		if fe == nil {
			t.Errorf("CleanName(%q) accepted", bad)
			continue
		}
		if fe.Field != "client" || fe.Message.EN == "" || fe.Message.DE == "" {
			t.Errorf("CleanName(%q): %+v", bad, fe)
		}
	}
}
