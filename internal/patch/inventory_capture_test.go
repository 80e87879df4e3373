package patch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestNoFalsePositivesOnInventoryCaptures: the program lists captured for
// the inventory (internal/inventory/testdata: a Debian 12 dpkg list, an
// rpm list, snap and flatpak lists, a Windows machine's Store packages)
// hold no end-of-life software and none of the catalogue's products, and
// FindEOL and MatchProduct say so.
func TestNoFalsePositivesOnInventoryCaptures(t *testing.T) {
	dir := filepath.Join("..", "inventory", "testdata")
	read := func(name string) []string {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimSpace(strings.ReplaceAll(string(b), "\r", "")), "\n")
	}
	var progs []core.Program
	for _, l := range read("linux/packaging/dpkg-debian12") {
		progs = append(progs, core.Program{Name: strings.Split(l, "\t")[0], Source: core.SourceDpkg})
	}
	for _, l := range read("linux/packaging/rpm") {
		progs = append(progs, core.Program{Name: strings.Fields(l)[0], Source: core.SourceRPM})
	}
	for _, l := range read("linux/packaging/snap")[1:] {
		progs = append(progs, core.Program{Name: strings.Fields(l)[0], Source: core.SourceSnap})
	}
	for _, l := range read("linux/packaging/flatpak") {
		f := strings.Split(l, "\t")
		progs = append(progs, core.Program{Name: f[len(f)-1], ID: f[0], Source: core.SourceFlatpak})
	}
	for _, l := range read("windows/appx-packagefullnames.txt") {
		progs = append(progs, core.Program{Name: strings.Split(l, "_")[0], ID: l, Source: core.SourceMSIX})
	}
	if len(progs) < 80 {
		t.Fatalf("read only %d programs", len(progs))
	}
	if us := FindEOL(progs); len(us) > 0 {
		t.Errorf("FindEOL = %q", keys(us))
	}
	for _, p := range progs {
		if got, ok := MatchProduct(p.Name); ok {
			t.Errorf("MatchProduct(%q) = %s", p.Name, got.Key)
		}
	}
}
