package deptest

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that collects failures instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatal(args ...any) {
	r.mu.Lock()
	r.errors = append(r.errors, fmt.Sprint(args...))
	r.fatal = true
	r.mu.Unlock()
	runtime.Goexit()
}

// run calls fn with a recorder in its own goroutine, so that Fatal can end it.
func run(t *testing.T, fn func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

const self = "github.com/wacht-rmm/wacht/internal/deptest"

func TestCheckNamesTheReasonAndTheChain(t *testing.T) {
	r := run(t, func(tb testing.TB) {
		Check(tb, Rules{
			Package:   self,
			Platforms: []string{"linux/amd64", "windows/amd64"},
			Banned: map[string]string{
				"os/exec":     "starts programs",
				"net/http":    "not linked, must pass",
				"strings/...": "a tree ban",
			},
			Want: []string{"fmt", "net/smtp"},
		})
	})
	if r.fatal {
		t.Fatalf("fatal: %v", r.errors)
	}
	got := strings.Join(r.errors, "\n")
	for _, want := range []string{
		"linux/amd64: " + self + " links os/exec, banned: starts programs\n\timport chain: " + self + " → os/exec",
		"windows/amd64: " + self + " links os/exec, banned: starts programs",
		"links strings, banned: a tree ban",
		"linux/amd64: " + self + " does not link net/smtp",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("failures do not contain %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "net/http") || strings.Contains(got, "does not link fmt") {
		t.Errorf("a package not linked, or wanted and linked, was reported:\n%s", got)
	}
	if len(r.errors) != 6 { // two platforms × (os/exec, strings, net/smtp)
		t.Errorf("%d failures, want 6:\n%s", len(r.errors), got)
	}
}

func TestChainGoesThroughTheImporter(t *testing.T) {
	g, err := List(self, "linux/amd64")
	if err != nil {
		t.Fatal(err)
	}
	// Every link of the chain is a real import.
	c := g.chain("internal/syscall/execenv")
	if len(c) < 3 || c[0] != self || c[len(c)-1] != "internal/syscall/execenv" {
		t.Errorf("chain = %v, want %s → … → internal/syscall/execenv", c, self)
	}
	for i := 1; i < len(c); i++ {
		if !slices.Contains(g.imports[c[i-1]], c[i]) {
			t.Errorf("chain %v: %s does not import %s", c, c[i-1], c[i])
		}
	}
}

func TestStaleBansFail(t *testing.T) {
	r := run(t, func(tb testing.TB) {
		CheckExist(tb, map[string]string{
			"github.com/wacht-rmm/wacht/internal/web":      "moved away long ago",
			"github.com/wacht-rmm/wacht/internal/nope/...": "never existed",
			"example.com/not/in/the/graph":                 "no such module",
			"github.com/wacht-rmm/wacht/internal/deptest":  "exists",
			"go.etcd.io/bbolt/...":                         "a module in the graph",
			"database/sql":                                 "standard library",
			"golang.org/x/sys/windows":                     "exists, for another OS",
			"github.com/yusufpapurcu/wmi/...":              "a tree built for another OS only",
		})
	})
	got := strings.Join(r.errors, "\n")
	for _, want := range []string{
		"stale ban github.com/wacht-rmm/wacht/internal/web (moved away long ago)",
		"stale ban github.com/wacht-rmm/wacht/internal/nope/... (never existed)",
		"stale ban example.com/not/in/the/graph (no such module)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("failures do not contain %q:\n%s", want, got)
		}
	}
	if len(r.errors) != 3 {
		t.Errorf("%d failures, want 3 (existing paths reported as stale?):\n%s", len(r.errors), got)
	}
}

func TestCheckReportsStaleBans(t *testing.T) {
	r := run(t, func(tb testing.TB) {
		Check(tb, Rules{
			Package:   self,
			Platforms: []string{"linux/amd64"},
			Banned:    map[string]string{"github.com/wacht-rmm/wacht/internal/web": "dashboard"},
		})
	})
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "stale ban github.com/wacht-rmm/wacht/internal/web (dashboard)") {
		t.Errorf("failures = %q, want the stale ban", r.errors)
	}
}

func TestBadPlatformIsFatal(t *testing.T) {
	r := run(t, func(tb testing.TB) {
		Check(tb, Rules{Package: self, Platforms: []string{"linux"}, Banned: map[string]string{"os/exec": "x"}})
	})
	if !r.fatal || !strings.Contains(strings.Join(r.errors, ""), `"linux" is not GOOS/GOARCH`) {
		t.Errorf("failures = %q, fatal = %v; want a fatal bad platform", r.errors, r.fatal)
	}
}

func TestByGOOS(t *testing.T) {
	all := []string{"darwin/amd64", "darwin/arm64", "linux/amd64", "linux/arm64", "windows/amd64"}
	for _, c := range []struct {
		on   []string
		want string
	}{
		{[]string{"windows/amd64"}, "windows"},
		{[]string{"darwin/arm64", "linux/amd64", "linux/arm64"}, "darwin/arm64 linux"},
		{[]string{"darwin/amd64", "darwin/arm64", "linux/arm64"}, "darwin linux/arm64"},
	} {
		if got := strings.Join(byGOOS(c.on, all), " "); got != c.want {
			t.Errorf("byGOOS(%v) = %q, want %q", c.on, got, c.want)
		}
	}
}

func TestModuleList(t *testing.T) {
	list, err := ModuleList("github.com/wacht-rmm/wacht/cmd/wacht-agent", []string{"linux/amd64", "windows/amd64", "windows/arm64"})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(list, "\n"), "\n")
	if !slices.IsSorted(lines) {
		t.Errorf("not sorted:\n%s", list)
	}
	has := func(prefix, suffix string) bool {
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) && strings.HasSuffix(l, suffix) {
				return true
			}
		}
		return false
	}
	if !has("github.com/yusufpapurcu/wmi v", " (windows)") || !has("github.com/godbus/dbus/v5 v", " (linux)") {
		t.Errorf("WMI not marked windows-only or D-Bus not marked linux-only:\n%s", list)
	}
	if !has("github.com/coder/websocket v", "") || has("github.com/coder/websocket", ")") {
		t.Errorf("the websocket module is not listed as linked everywhere:\n%s", list)
	}
	if has("github.com/wacht-rmm/wacht", "") {
		t.Errorf("the main module is listed:\n%s", list)
	}
}
