// Package fspath checks and prepares the paths of the agent's file actions
// for the OS they run on: absolute only, cleaned, and on Windows in the
// \\?\ form that lifts the 260-character limit and keeps names ending in a
// dot or a space. Its functions take the OS as an argument and are pure
// string functions, so the Windows rules are tested on every OS.
package fspath

import (
	"errors"
	"path"
	"strings"
)

// ErrNotAbsolute: file actions take absolute paths only; the agent's
// working folder means nothing to a technician.
var ErrNotAbsolute = errors.New("not an absolute path")

// Clean returns p cleaned for goos (".", ".." and doubled separators
// resolved, Windows: / as \, the drive letter upper case) or
// ErrNotAbsolute. A \\?\ prefix is removed; Long adds it back.
func Clean(goos, p string) (string, error) {
	if p == "" || strings.IndexByte(p, 0) >= 0 {
		return "", ErrNotAbsolute
	}
	if goos != "windows" {
		if !strings.HasPrefix(p, "/") {
			return "", ErrNotAbsolute
		}
		return path.Clean(p), nil
	}
	vol, rest, ok := splitVolume(strings.ReplaceAll(p, "/", `\`))
	if !ok {
		return "", ErrNotAbsolute
	}
	cleaned := path.Clean("/" + strings.ReplaceAll(rest, `\`, "/"))
	return vol + strings.ReplaceAll(cleaned, "/", `\`), nil
}

// splitVolume splits a Windows path into its volume (C: or
// \\server\share) and the rest, which starts with \ unless empty.
func splitVolume(p string) (vol, rest string, ok bool) {
	if s, found := strings.CutPrefix(p, `\\?\`); found {
		if unc, isUNC := strings.CutPrefix(s, `UNC\`); isUNC {
			p = `\\` + unc
		} else {
			p = s
		}
	}
	switch {
	case len(p) >= 2 && p[1] == ':' && isLetter(p[0]):
		if len(p) > 2 && p[2] != '\\' {
			return "", "", false // C:foo is relative to C:'s working folder
		}
		return strings.ToUpper(p[:1]) + ":", p[2:], true
	case strings.HasPrefix(p, `\\`):
		parts := strings.SplitN(p[2:], `\`, 3)
		if len(parts) < 2 || parts[0] == "" || parts[1] == "" || parts[0] == "." || parts[0] == "?" {
			return "", "", false
		}
		vol = `\\` + parts[0] + `\` + parts[1]
		if len(parts) == 3 {
			rest = `\` + parts[2]
		}
		return vol, rest, true
	}
	return "", "", false
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// Long is a path Clean returned for goos in the form the OS's file calls
// take: on Windows \\?\C:\… or \\?\UNC\server\share\…, unchanged on
// other systems.
func Long(goos, p string) string {
	if goos != "windows" {
		return p
	}
	if unc, ok := strings.CutPrefix(p, `\\`); ok {
		return `\\?\UNC\` + unc
	}
	return `\\?\` + p
}

// IsRoot reports whether a cleaned path is the root of its file system
// (/, C:\, \\server\share\): never deleted or renamed.
func IsRoot(goos, p string) bool {
	if goos != "windows" {
		return p == "/"
	}
	_, rest, ok := splitVolume(p)
	return ok && (rest == "" || rest == `\`)
}

// Join appends a name to a cleaned folder path.
func Join(goos, dir, name string) string {
	sep := "/"
	if goos == "windows" {
		sep = `\`
	}
	if strings.HasSuffix(dir, sep) {
		return dir + name
	}
	return dir + sep + name
}
