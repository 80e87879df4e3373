package agent

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// TestConPTY runs cmd on a pseudo console: what it prints arrives, a
// resize is taken, and Kill ends it. For real Windows: Wine 8 creates the
// pseudo console but implements no ResizePseudoConsole and shows no
// prompt or echo of cmd on it (tried 2026-12).
func TestConPTY(t *testing.T) {
	if windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil {
		t.Skip("Wine's pseudo console takes no input and no resize")
	}
	p, err := startPTY([]string{"cmd"}, 25, 80)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	out := make(chan []byte, 100)
	go func() {
		for {
			b := make([]byte, 4096)
			n, err := p.Read(b)
			out <- b[:n]
			if err != nil {
				close(out)
				return
			}
		}
	}()
	if err := p.Resize(40, 120); err != nil {
		t.Error(err)
	}
	if _, err := p.Write([]byte("echo Gr\u00fc\u00dfe-\"ok\"\r")); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	guard := time.After(60 * time.Second) // hang guard, not a timing assertion
	for strings.Count(got.String(), "Grüße-") < 2 {
		select {
		case b, ok := <-out:
			if !ok {
				t.Fatalf("output ended: %q", got.String())
			}
			got.Write(b)
		case <-guard:
			t.Fatalf("no echo; output so far %q", got.String())
		}
	}
	p.Kill()
	select {
	case <-p.Exited():
	case <-time.After(60 * time.Second):
		t.Fatal("cmd still running after Kill")
	}
}
