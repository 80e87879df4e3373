package program

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

// TestInstalledHere runs the registered check on this machine's real
// program list: dpkg itself is installed wherever dpkg-query is.
func TestInstalledHere(t *testing.T) {
	const dpkgQuery = "/usr/bin/dpkg-query"
	if _, err := os.Stat(dpkgQuery); err != nil {
		t.Skip("not a Debian machine")
	}
	out, err := exec.Command(dpkgQuery, "-W", "-f=${Version}", "dpkg").Output()
	if err != nil || len(out) == 0 {
		t.Fatalf("dpkg-query: %q %v", out, err)
	}
	want := "dpkg " + string(out)
	for expect, status := range map[string]core.Status{"present": core.StatusOK, "absent": core.StatusFailure} {
		c, err := check.New("program", json.RawMessage(`{"name":"DPKG","expect":"`+expect+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		var got collect
		if err := c.Run(context.Background(), &got); err != nil {
			t.Fatalf("expect %s: %v", expect, err)
		}
		if len(got) != 1 || got[0].Status != status || !strings.Contains(got[0].Message.EN, want) || strings.Contains(got[0].Message.EN, "incomplete") {
			t.Errorf("expect %s: %+v, want %s naming %q", expect, got, status, want)
		}
	}
	c, err := check.New("program", json.RawMessage(`{"name":"no-such-program-wacht-*","expect":"absent"}`))
	if err != nil {
		t.Fatal(err)
	}
	var got collect
	if err := c.Run(context.Background(), &got); err != nil || len(got) != 1 || got[0].Status != core.StatusOK ||
		strings.Contains(got[0].Message.EN, " 0 programs checked") {
		t.Errorf("an absent program: %v %+v", err, got)
	}
}
