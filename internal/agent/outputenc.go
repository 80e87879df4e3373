package agent

import (
	"bytes"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Windows shells do not write UTF-8 by default: cmd.exe and most console
// programs write in the console's OEM code page (850 on German Windows,
// where "ü" is 0x81), PowerShell in [Console]::OutputEncoding, some tools
// UTF-16LE. The exec action asks for UTF-8 (shellArgv) and decodes whatever
// arrives with decodeOutput, so that German umlauts arrive intact.

// codePages are the single-byte code pages decodeOutput converts, by
// Windows code page number: the OEM code pages of Western and Eastern
// Europe and the Americas, and the ANSI ones.
var codePages = map[uint32]*charmap.Charmap{
	437: charmap.CodePage437, 850: charmap.CodePage850, 852: charmap.CodePage852,
	855: charmap.CodePage855, 858: charmap.CodePage858, 860: charmap.CodePage860,
	862: charmap.CodePage862, 863: charmap.CodePage863, 865: charmap.CodePage865,
	866: charmap.CodePage866, 874: charmap.Windows874,
	1250: charmap.Windows1250, 1251: charmap.Windows1251, 1252: charmap.Windows1252,
	1253: charmap.Windows1253, 1254: charmap.Windows1254, 1255: charmap.Windows1255,
	1256: charmap.Windows1256, 1257: charmap.Windows1257, 1258: charmap.Windows1258,
	20866: charmap.KOI8R, 21866: charmap.KOI8U, 28591: charmap.ISO8859_1,
	28592: charmap.ISO8859_2, 28605: charmap.ISO8859_15,
}

// decodeOutput turns a Windows program's output into UTF-8 text without
// dropping a byte: UTF-16LE with its byte order mark, UTF-8 (with or
// without mark; a sequence cut off at the end by the output limit does not
// make it something else), else the code page codePage (the console's OEM
// code page). What cannot be decoded becomes U+FFFD, one per byte.
func decodeOutput(b []byte, codePage uint32) string {
	switch {
	case len(b) == 0:
		return ""
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		return decodeUTF16LE(b[2:])
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return validUTF8(b[3:])
	case utf8.Valid(b[:len(b)-cutTail(b)]):
		return validUTF8(b)
	}
	if cm := codePages[codePage]; cm != nil {
		// Single-byte: every byte maps to one rune (U+FFFD if undefined).
		s, err := cm.NewDecoder().Bytes(b)
		if err == nil {
			return string(s)
		}
	}
	return validUTF8(b)
}

// cutTail is the length of an incomplete UTF-8 sequence at the end of b,
// as the output limit leaves it: a lead byte and fewer continuation bytes
// than it announces.
func cutTail(b []byte) int {
	for n := 1; n <= min(3, len(b)); n++ {
		c := b[len(b)-n]
		if c < 0x80 {
			return 0
		}
		if c >= 0xC0 { // a lead byte
			need := 2
			switch {
			case c >= 0xF0:
				need = 4
			case c >= 0xE0:
				need = 3
			}
			if n < need {
				return n
			}
			return 0
		}
	}
	return 0
}

// validUTF8 replaces each byte that is not part of valid UTF-8 with U+FFFD.
func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + 8)
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		sb.WriteRune(r) // utf8.RuneError for an invalid byte, n == 1
		b = b[n:]
	}
	return sb.String()
}

// decodeUTF16LE decodes little-endian UTF-16; an odd last byte and unpaired
// surrogates become U+FFFD.
func decodeUTF16LE(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = uint16(b[2*i]) | uint16(b[2*i+1])<<8
	}
	s := string(utf16.Decode(u))
	if len(b)%2 == 1 {
		s += string(utf8.RuneError)
	}
	return s
}

// cmdScript is a cmd script's file as cmd.exe reads a batch file: CRLF
// line ends, and the text in the console's code page (codePage, the OEM
// one, 850 on German Windows), since cmd reads batch files in that code
// page and a UTF-8 "ü" would become "Ã¼", in an echo as in a path. A code
// page decodeOutput does not know keeps UTF-8; a character that codePage
// lacks is an error naming it, not a script that runs something else.
func cmdScript(body string, codePage uint32) ([]byte, error) {
	body = strings.ReplaceAll(strings.ReplaceAll(body, "\r\n", "\n"), "\n", "\r\n")
	cm := codePages[codePage]
	if cm == nil {
		return []byte(body), nil
	}
	out := make([]byte, 0, len(body))
	for _, r := range body {
		b, ok := cm.EncodeRune(r)
		if !ok {
			return nil, Errorf(protocol.CodeBadArgs,
				"The cmd script contains %q, which the device's code page %d lacks; cmd reads scripts in that code page.",
				"Das cmd-Skript enthält %q, das in der Codepage %d des Geräts fehlt; cmd liest Skripte in dieser Codepage.", r, codePage)
		}
		out = append(out, b)
	}
	return out, nil
}
