package tray

import (
	"os"
	"os/exec"
)

// DetectLang is the user's language from the OS: the first preferred
// language of macOS, else its locale, else the POSIX environment.
func DetectLang() string {
	for _, key := range []string{"AppleLanguages", "AppleLocale"} {
		out, err := exec.Command("/usr/bin/defaults", "read", "-g", key).Output()
		if s := parseAppleLanguages(string(out)); err == nil && s != "" {
			return Lang(s)
		}
	}
	return LangFromEnv(os.Getenv)
}
