package tray

import (
	"strings"
)

// Lang maps a locale or language tag ("de_DE.UTF-8", "de-AT", "en_US")
// to the language the tray speaks: German for German, English otherwise.
func Lang(locale string) string {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(locale)), "de") {
		return "de"
	}
	return "en"
}

// LangFromEnv is the language of the POSIX locale variables: the first set
// of LC_ALL, LC_MESSAGES and LANG, as setlocale reads them.
func LangFromEnv(getenv func(string) string) string {
	for _, v := range []string{"LC_ALL", "LC_MESSAGES", "LANG"} {
		if s := getenv(v); s != "" {
			return Lang(s)
		}
	}
	return "en"
}

// langFromLANGID is the language of a Windows LANGID, whose low 10 bits
// are the primary language (LANG_GERMAN = 0x07).
func langFromLANGID(id uint16) string {
	if id&0x3ff == 0x07 {
		return "de"
	}
	return "en"
}

// parseAppleLanguages returns the first entry of `defaults read -g
// AppleLanguages`, a property list array such as `(\n "de-DE",\n en\n)`,
// or of `defaults read -g AppleLocale` ("de_DE").
func parseAppleLanguages(out string) string {
	for _, l := range strings.Split(out, "\n") {
		l = strings.Trim(strings.TrimSpace(l), `(),"`)
		if l != "" {
			return l
		}
	}
	return ""
}
