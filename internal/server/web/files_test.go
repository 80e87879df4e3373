package web

import (
	"errors"
	"reflect"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

func TestCrumbs(t *testing.T) {
	for _, c := range []struct {
		goos, path string
		want       []crumb
	}{
		{"linux", "/", []crumb{{"/", "/"}}},
		{"linux", "/home/jörg/Ab lage", []crumb{{"/", "/"}, {"home", "/home"}, {"jörg", "/home/jörg"}, {"Ab lage", "/home/jörg/Ab lage"}}},
		{"windows", "", []crumb{{"", ""}}},
		{"windows", `C:\`, []crumb{{"", ""}, {`C:\`, `C:\`}}},
		{"windows", `D:\Büro\Ablage`, []crumb{{"", ""}, {`D:\`, `D:\`}, {"Büro", `D:\Büro`}, {"Ablage", `D:\Büro\Ablage`}}},
	} {
		if got := crumbs(c.goos, c.path); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s %q: %v, want %v", c.goos, c.path, got, c.want)
		}
	}
}

// A name typed into a form stays one name in its folder.
func TestChild(t *testing.T) {
	if p, err := child("linux", "/srv/Ablage", "Grüße 1.txt"); err != nil || p != "/srv/Ablage/Grüße 1.txt" {
		t.Errorf("linux: %q %v", p, err)
	}
	if p, err := child("windows", `C:\Daten`, "Bericht.pdf"); err != nil || p != `C:\Daten\Bericht.pdf` {
		t.Errorf("windows: %q %v", p, err)
	}
	for _, c := range []struct{ goos, dir, name string }{
		{"linux", "/srv", ""}, {"linux", "/srv", ".."}, {"linux", "/srv", "a/b"}, {"linux", "", "a"},
		{"windows", `C:\`, `a\b`}, {"windows", `C:\`, "c:x"}, {"windows", `C:\`, "."},
	} {
		if _, err := child(c.goos, c.dir, c.name); !errors.Is(err, core.ErrInvalid) {
			t.Errorf("%s %q %q: %v, want invalid", c.goos, c.dir, c.name, err)
		}
	}
}

func TestBytes(t *testing.T) {
	for n, want := range map[int64][2]string{
		0: {"0 B", "0 B"}, 1023: {"1023 B", "1023 B"}, 1536: {"1.5 KiB", "1,5 KiB"}, 200 << 20: {"200.0 MiB", "200,0 MiB"}, 3 << 40: {"3.0 TiB", "3,0 TiB"},
	} {
		if en, de := langOf(langEN).Bytes(n), langOf(langDE).Bytes(n); en != want[0] || de != want[1] {
			t.Errorf("%d: %q %q, want %q", n, en, de, want)
		}
	}
}
