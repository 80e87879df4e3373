// Package vercmp orders software versions, the one order the agent's
// detection rules and the server's fleet search ("below 23.01") share.
// It imports nothing of the OS, so the server links it without the
// agent's OS bindings.
package vercmp

import (
	"strconv"
	"strings"
)

// Compare orders two versions as Debian does (dpkg's verrevcmp, Debian
// Policy 5.6.12): an optional numeric epoch before ":", the upstream
// version, and an optional revision after the last "-". Digit runs compare
// as numbers, so "24.1.10.0" is above "24.1.2.3"; letters sort before other
// characters and "~" before everything, even the end, so "7.0b" is above
// "7.0" and "1.0~rc1" below "1.0". Windows and macOS versions are plain
// upstream versions under this order. The result is -1, 0 or +1.
func Compare(a, b string) int {
	ea, ua, ra := splitVersion(a)
	eb, ub, rb := splitVersion(b)
	if ea != eb {
		return sign(ea - eb)
	}
	if c := verrevcmp(ua, ub); c != 0 {
		return sign(c)
	}
	return sign(verrevcmp(ra, rb))
}

// splitVersion splits "epoch:upstream-revision".
func splitVersion(v string) (epoch int, upstream, revision string) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, ':'); i > 0 {
		if n, err := strconv.Atoi(v[:i]); err == nil && n >= 0 {
			epoch, v = n, v[i+1:]
		}
	}
	if i := strings.LastIndexByte(v, '-'); i >= 0 {
		return epoch, v[:i], v[i+1:]
	}
	return epoch, v, ""
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// order is dpkg's weight of a non-digit character; 0 is the end.
func order(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	switch {
	case isDigit(c):
		return 0
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		return int(c)
	case c == '~':
		return -1
	}
	return int(c) + 256
}

// verrevcmp is dpkg's lib/dpkg/version.c verrevcmp.
func verrevcmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for (i < len(a) && !isDigit(a[i])) || (j < len(b) && !isDigit(b[j])) {
			if ac, bc := order(a, i), order(b, j); ac != bc {
				return ac - bc
			}
			i, j = i+1, j+1
		}
		for i < len(a) && a[i] == '0' {
			i++
		}
		for j < len(b) && b[j] == '0' {
			j++
		}
		first := 0
		for i < len(a) && j < len(b) && isDigit(a[i]) && isDigit(b[j]) {
			if first == 0 {
				first = int(a[i]) - int(b[j])
			}
			i, j = i+1, j+1
		}
		if i < len(a) && isDigit(a[i]) {
			return 1
		}
		if j < len(b) && isDigit(b[j]) {
			return -1
		}
		if first != 0 {
			return first
		}
	}
	return 0
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
