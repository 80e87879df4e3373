package transfer

import (
	"mime"
	"testing"
)

// The name survives exactly for browsers (filename*), and the ASCII
// fallback never breaks the header.
func TestDisposition(t *testing.T) {
	for name, want := range map[string]string{
		"Bericht.pdf":         `attachment; filename="Bericht.pdf"; filename*=UTF-8''Bericht.pdf`,
		"Grüße an Jörg.txt":   `attachment; filename="Gr__e an J_rg.txt"; filename*=UTF-8''Gr%C3%BC%C3%9Fe%20an%20J%C3%B6rg.txt`,
		`a"b\c;d.txt`:         `attachment; filename="a_b_c;d.txt"; filename*=UTF-8''a%22b%5Cc%3Bd.txt`,
		"zeile\r\nneu":        `attachment; filename="zeile__neu"; filename*=UTF-8''zeile%0D%0Aneu`,
		"100% (final) €.xlsx": `attachment; filename="100% (final) _.xlsx"; filename*=UTF-8''100%25%20%28final%29%20%E2%82%AC.xlsx`,
	} {
		got := Disposition(name)
		if got != want {
			t.Errorf("%q: %s, want %s", name, got, want)
			continue
		}
		// A standard parser reads the exact name back.
		if _, params, err := mime.ParseMediaType(got); err != nil || params["filename"] != name {
			t.Errorf("%q: parsed back as %q (%v)", name, params["filename"], err)
		}
	}
}
