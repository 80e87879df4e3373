package tray

import "testing"

func TestLangFromEnv(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{}, "en"},
		{map[string]string{"LANG": "de_DE.UTF-8"}, "de"},
		{map[string]string{"LANG": "de_AT.UTF-8", "LC_MESSAGES": "en_GB.UTF-8"}, "en"},
		{map[string]string{"LANG": "en_US.UTF-8", "LC_ALL": "de_CH.UTF-8"}, "de"},
		{map[string]string{"LANG": "C"}, "en"},
		{map[string]string{"LANG": "fr_FR.UTF-8"}, "en"},
		{map[string]string{"LC_ALL": "", "LANG": "DE_de"}, "de"},
	}
	for _, tt := range tests {
		if got := LangFromEnv(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("%v: %q, want %q", tt.env, got, tt.want)
		}
	}
}

func TestLangFromOS(t *testing.T) {
	if langFromLANGID(0x0407) != "de" || langFromLANGID(0x0c07) != "de" || langFromLANGID(0x0409) != "en" || langFromLANGID(0x040c) != "en" {
		t.Error("LANGID mapping")
	}
	for out, want := range map[string]string{
		"(\n    \"de-DE\",\n    \"en-US\"\n)\n": "de-DE",
		"(\n    en,\n    de\n)\n":               "en",
		"de_DE\n":                               "de_DE",
		"":                                      "",
	} {
		if got := parseAppleLanguages(out); got != want {
			t.Errorf("%q: %q, want %q", out, got, want)
		}
	}
}
