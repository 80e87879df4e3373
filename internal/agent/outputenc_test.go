package agent

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestDecodeOutput decodes output as Windows shells write it, captured as
// bytes: cmd.exe in code page 850 (German Windows), UTF-16LE with its byte
// order mark (PowerShell's Unicode encoding), UTF-8 with and without mark,
// and broken bytes, which become U+FFFD instead of being dropped.
func TestDecodeOutput(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		cp   uint32
		want string
	}{
		{"cp850 from cmd.exe", []byte("Gr\x81\xe1e @ \\ |\r\n"), 850, "Grüße @ \\ |\r\n"},
		{"cp850 umlauts", []byte("\x84\x94\x81\x8e\x99\x9a"), 850, "äöüÄÖÜ"},
		{"cp437 has no euro either", []byte("Gr\x81\xe1e"), 437, "Grüße"},
		{"windows-1252 (ANSI)", []byte("Gr\xfc\xdfe \x80"), 1252, "Grüße €"},
		{"UTF-16LE with BOM", []byte("\xff\xfeG\x00r\x00\xfc\x00\xdf\x00e\x00\r\x00\n\x00"), 850, "Grüße\r\n"},
		{"UTF-16LE, odd last byte", []byte("\xff\xfeG\x00r"), 850, "G\uFFFD"},
		{"UTF-16LE, unpaired surrogate", []byte("\xff\xfe\x00\xd8a\x00"), 850, "\uFFFDa"},
		{"UTF-8 with BOM", []byte("\xef\xbb\xbfGr\xc3\xbc\xc3\x9fe"), 850, "Grüße"},
		{"UTF-8", []byte("Grüße 🙂"), 850, "Grüße 🙂"},
		{"UTF-8 cut off by the limit", []byte("Grüße \xf0\x9f"), 850, "Grüße \uFFFD\uFFFD"},
		{"ASCII", []byte("dir /b\r\n"), 850, "dir /b\r\n"},
		{"empty", nil, 850, ""},
		{"unknown code page: one U+FFFD per byte", []byte("a\x81\xe1b"), 932, "a\uFFFD\uFFFDb"},
		{"UTF-8 BOM, then broken bytes", []byte("\xef\xbb\xbfa\xffb"), 850, "a\uFFFDb"},
	} {
		got := decodeOutput(tc.in, tc.cp)
		if got != tc.want {
			t.Errorf("%s: decodeOutput(%q, %d) = %q, want %q", tc.name, tc.in, tc.cp, got, tc.want)
		}
		if !utf8.ValidString(got) {
			t.Errorf("%s: invalid UTF-8 %q", tc.name, got)
		}
	}
}

// TestDecodeOutputLosesNothing: every byte of non-UTF-8 output in a known
// code page comes out as one rune, so nothing is dropped.
func TestDecodeOutputLosesNothing(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	for cp := range codePages {
		if n := utf8.RuneCountInString(decodeOutput(all, cp)); n != 256 {
			t.Errorf("code page %d: %d runes from 256 bytes", cp, n)
		}
	}
	if n := utf8.RuneCountInString(decodeOutput(all, 0)); n != 256 {
		t.Errorf("no code page: %d runes from 256 bytes", n)
	}
	if s := decodeOutput([]byte(strings.Repeat("ü", 10)+"\xc3"), 850); s != strings.Repeat("ü", 10)+"\uFFFD" {
		t.Errorf("UTF-8 cut inside a rune: %q", s)
	}
}

// TestCmdScript: a cmd script's file is in the OEM code page with CRLF
// line ends, so that cmd.exe reads "Grüße" and "C:\Büro" as written; what
// the code page lacks is refused by name; unknown code pages keep UTF-8.
func TestCmdScript(t *testing.T) {
	b, err := cmdScript("@echo off\necho Grüße\r\nmkdir C:\\Büro\n", 850)
	if err != nil || string(b) != "@echo off\r\necho Gr\x81\xe1e\r\nmkdir C:\\B\x81ro\r\n" {
		t.Errorf("cp850: %q %v", b, err)
	}
	if got := decodeOutput(b, 850); !strings.Contains(got, "Grüße") {
		t.Errorf("round trip: %q", got)
	}
	_, err = cmdScript("echo 5 €\n", 850)
	wantCode(t, "€ in code page 850", err, "bad_args")
	if b, err := cmdScript("echo 5 €\n", 858); err != nil || string(b) != "echo 5 \xd5\r\n" {
		t.Errorf("cp858 has the euro sign: %q %v", b, err)
	}
	if b, err := cmdScript("echo 日本\n", 932); err != nil || string(b) != "echo 日本\r\n" {
		t.Errorf("an unknown code page: %q %v", b, err)
	}
}
