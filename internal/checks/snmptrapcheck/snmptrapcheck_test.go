package snmptrapcheck

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

type collect struct {
	mu  sync.Mutex
	out []check.Result
}

func (c *collect) Report(r check.Result) { c.mu.Lock(); c.out = append(c.out, r); c.mu.Unlock() }

func run(t *testing.T, c check.Check) []check.Result {
	t.Helper()
	var col collect
	if err := c.Run(context.Background(), &col); err != nil {
		t.Fatalf("Run: %v", err)
	}
	return col.out
}

// A real net-snmp snmptrap sends a v2c link-down trap to the listener that
// the first run started; the next run reports it under the rule's name.
func TestTrapsReportedOnNextRun(t *testing.T) {
	bin, err := exec.LookPath("snmptrap")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("snmptrap (Debian package snmp) is missing in CI")
		}
		t.Skip("snmptrap not installed (apt-get install snmp)")
	}
	c, err := check.New(Name, json.RawMessage(`{"listen":"127.0.0.1:0","communities":["public"],
		"rules":[{"name":"uplink down","trap_oid":"1.3.6.1.6.3.1.1.5.3"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	first := run(t, c)
	if len(first) != 1 || first[0].Key != "listener" || first[0].Status != core.StatusOK {
		t.Fatalf("first run = %+v, want the listener's ok", first)
	}
	target := addr("127.0.0.1:0")
	if target == "" {
		t.Fatal("listener not bound")
	}
	t.Cleanup(func() {
		mu.Lock()
		r := listeners["127.0.0.1:0"]
		mu.Unlock()
		if r != nil {
			r.cancel()
			<-r.done
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-m", "", "-M", t.TempDir(), "-v", "2c", "-c", "public", target, "",
		"1.3.6.1.6.3.1.1.5.3", "1.3.6.1.2.1.2.2.1.1.2", "i", "2")
	cmd.Env = append(os.Environ(), "MIBS=", "SNMP_PERSISTENT_DIR="+t.TempDir(), "SNMPCONFPATH="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("snmptrap: %v\n%s", err, out)
	}
	var got []check.Result
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		for _, r := range run(t, c) {
			if r.Key != "listener" {
				got = append(got, r)
			}
		}
		if len(got) > 0 {
			break
		}
	}
	if len(got) != 1 || got[0].Key != "uplink down" || got[0].Status != core.StatusFailure ||
		!strings.Contains(got[0].Message.DE, "von 127.0.0.1") {
		t.Fatalf("trap results = %+v, want one failure \"uplink down\" from 127.0.0.1", got)
	}
}

func TestBadConfigRefused(t *testing.T) {
	if _, err := check.New(Name, json.RawMessage(`{"listen":"127.0.0.1:0","rulez":[]}`)); err == nil {
		t.Error("unknown field accepted")
	}
	if _, err := check.New(Name, json.RawMessage(`{"listen":"nope"}`)); err == nil {
		t.Error("bad listen address accepted")
	}
}

// TestNotInDefaults: no listener on UDP 162 unless a policy asks for one.
func TestNotInDefaults(t *testing.T) {
	for _, raw := range []json.RawMessage{nil, json.RawMessage("null")} {
		if c, err := check.New(Name, raw); !errors.Is(err, check.ErrNotConfigured) {
			t.Errorf("params %q: check %v, err %v; want check.ErrNotConfigured", raw, c, err)
		}
	}
	if _, err := check.New(Name, json.RawMessage(`{"listen":"127.0.0.1:0"}`)); err != nil {
		t.Errorf("configured listener refused: %v", err)
	}
}
