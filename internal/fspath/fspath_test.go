package fspath

import (
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	long := strings.Repeat(`Verzeichnis mit Überlänge\`, 20)
	for _, tc := range []struct{ goos, in, want string }{
		{"linux", "/", "/"},
		{"linux", "/tmp//a/./b/../Grüße mit Leerzeichen/", "/tmp/a/Grüße mit Leerzeichen"},
		{"linux", "/..", "/"},
		{"linux", "tmp/a", ""},
		{"linux", "", ""},
		{"linux", "/a\x00b", ""},
		{"darwin", "/Users/jörg", "/Users/jörg"},
		{"windows", `c:\`, `C:\`},
		{"windows", `C:`, `C:\`},
		{"windows", `C:/Users/Jörg/../Öffentlich/`, `C:\Users\Öffentlich`},
		{"windows", `C:\..\..`, `C:\`},
		{"windows", `C:relative`, ""},
		{"windows", `\rooted-without-drive`, ""},
		{"windows", `relative\x`, ""},
		{"windows", `\\server\share`, `\\server\share\`},
		{"windows", `\\server\share\a\..\b`, `\\server\share\b`},
		{"windows", `\\server`, ""},
		{"windows", `\\?\C:\a\b`, `C:\a\b`},
		{"windows", `\\?\UNC\server\share\x`, `\\server\share\x`},
		{"windows", `C:\` + long, `C:\` + strings.TrimSuffix(long, `\`)},
	} {
		got, err := Clean(tc.goos, tc.in)
		if got != tc.want || (err != nil) != (tc.want == "") {
			t.Errorf("Clean(%s, %q) = %q, %v; want %q", tc.goos, tc.in, got, err, tc.want)
		}
	}
}

func TestLongAndRoot(t *testing.T) {
	for _, tc := range []struct {
		goos, in, long string
		root           bool
	}{
		{"linux", "/a", "/a", false},
		{"linux", "/", "/", true},
		{"windows", `C:\Programme\Grüße`, `\\?\C:\Programme\Grüße`, false},
		{"windows", `C:\`, `\\?\C:\`, true},
		{"windows", `\\srv\freigabe\x`, `\\?\UNC\srv\freigabe\x`, false},
		{"windows", `\\srv\freigabe\`, `\\?\UNC\srv\freigabe\`, true},
	} {
		if got := Long(tc.goos, tc.in); got != tc.long {
			t.Errorf("Long(%s, %q) = %q, want %q", tc.goos, tc.in, got, tc.long)
		}
		if got := IsRoot(tc.goos, tc.in); got != tc.root {
			t.Errorf("IsRoot(%s, %q) = %v", tc.goos, tc.in, got)
		}
	}
	if got := Join("windows", `C:\`, "a b"); got != `C:\a b` {
		t.Errorf("Join = %q", got)
	}
	if got := Join("linux", "/x", "ä"); got != "/x/ä" {
		t.Errorf("Join = %q", got)
	}
}
