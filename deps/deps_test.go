package deps

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/deptest"
)

var update = flag.Bool("update", false, "rewrite the module lists")

// binaries are the listed binaries with the platforms they are built for:
// the Makefile's dist targets for the server and the agent, the tray's
// platforms without cgo (macOS builds it on a Mac), the developers'
// platforms for the load simulator. One file per binary lists the union of
// its platforms and marks the modules linked on some only, so that the
// review of one file shows a change for every OS.
var binaries = []struct {
	file, pkg string
	platforms []string
}{
	{"wacht.txt", "github.com/wacht-rmm/wacht/cmd/wacht", []string{"linux/amd64", "linux/arm64"}},
	{"wacht-agent.txt", "github.com/wacht-rmm/wacht/cmd/wacht-agent", []string{
		"darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64", "windows/amd64", "windows/arm64"}},
	{"wacht-tray.txt", "github.com/wacht-rmm/wacht/cmd/wacht-tray", []string{"linux/amd64", "linux/arm64", "windows/amd64", "windows/arm64"}},
	{"wacht-loadsim.txt", "github.com/wacht-rmm/wacht/cmd/wacht-loadsim", []string{"darwin/arm64", "linux/amd64", "windows/amd64"}},
}

const regenerate = "go generate ./deps (or make deps)"

func TestModuleLists(t *testing.T) {
	if testing.Short() {
		t.Skip("lists the modules of every binary on every platform")
	}
	for _, b := range binaries {
		t.Run(b.file, func(t *testing.T) {
			list, err := deptest.ModuleList(b.pkg, b.platforms)
			if err != nil {
				t.Fatal(err)
			}
			want := fmt.Sprintf("# Modules linked into %s (CGO_ENABLED=0) on\n# %s;\n"+
				"# a module linked on some of them only names where. Kept current by\n"+
				"# deps_test.go: %s rewrites this file.\n\n%s",
				b.pkg, strings.Join(b.platforms, ", "), regenerate, list)
			if *update {
				if err := os.WriteFile(b.file, []byte(want), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			got, err := os.ReadFile(b.file)
			if err != nil {
				t.Fatalf("%v; create it with %s", err, regenerate)
			}
			if string(got) != want {
				t.Errorf("deps/%s is stale; run %s and review the change:\n%s", b.file, regenerate, diff(string(got), want))
			}
		})
	}
}

// diff lists the lines only in want (+) and only in got (-); the lists are
// sorted sets, so that is the whole difference.
func diff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			fmt.Fprintf(&b, "+ %s\n", l)
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			fmt.Fprintf(&b, "- %s\n", l)
		}
	}
	if b.Len() == 0 {
		return "(the same lines in another order)"
	}
	return b.String()
}
