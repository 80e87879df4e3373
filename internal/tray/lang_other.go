//go:build !windows && !darwin

package tray

import "os"

// DetectLang is the user's language from the OS.
func DetectLang() string { return LangFromEnv(os.Getenv) }
