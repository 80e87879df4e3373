package program

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
)

// installed is a Windows machine's list as the inventory gives it.
var installed = []core.Program{
	{Name: "7-Zip 23.01 (x64)", Version: "23.01", Publisher: "Igor Pavlov", Source: core.SourceRegistry64},
	{Name: "AnyDesk", Version: "ad 8.0.8", Publisher: "philandro Software GmbH", Source: core.SourceRegistry32},
	{Name: "Git", Version: "2.43.0", Publisher: "The Git Development Community", Source: core.SourceRegistry64},
	{Name: "Microsoft Defender for Endpoint", Version: "10.8760.22621.1010", Publisher: "Microsoft Corporation", Source: core.SourceRegistry64},
	{Name: "TeamViewer", Version: "15.50.5", Publisher: "TeamViewer", Source: core.SourceRegistry64},
	{Name: "TeamViewer", Version: "15.50.5", Publisher: "TeamViewer", Source: core.SourceUser},
	{Name: "Tools for Git/GitHub", Version: "1.0", Source: core.SourceRegistry64},
}

type collect []check.Result

func (c *collect) Report(r check.Result) { *c = append(*c, r) }

func run(t *testing.T, raw string, progs []core.Program, readErr error) (check.Result, error) {
	t.Helper()
	c, err := newCheck(json.RawMessage(raw), func(context.Context) ([]core.Program, error) { return progs, readErr })
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	var got collect
	err = c.Run(context.Background(), &got)
	if err != nil {
		if len(got) > 0 {
			t.Errorf("%s: an error and results %+v", raw, got)
		}
		return check.Result{}, err
	}
	if len(got) != 1 {
		t.Fatalf("%s: %d results", raw, len(got))
	}
	return got[0], nil
}

func TestMatching(t *testing.T) {
	for _, tc := range []struct {
		params string
		status core.Status
		value  float64
		en, de string // in the message
	}{
		{`{"name":"*AnyDesk*","expect":"absent"}`, core.StatusFailure, 1,
			`Installed, matching “*AnyDesk*”: AnyDesk ad 8.0.8`, `Installiert, passend zu „*AnyDesk*“: AnyDesk ad 8.0.8`},
		{`{"name":"*anydesk*","expect":"present"}`, core.StatusOK, 1, "AnyDesk ad 8.0.8", "AnyDesk ad 8.0.8"},
		{`{"name":"TEAMVIEWER*","expect":"absent"}`, core.StatusFailure, 2, ": TeamViewer 15.50.5", ": TeamViewer 15.50.5"},
		{`{"name":"RustDesk*","expect":"absent"}`, core.StatusOK, 0,
			"No installed program matches “RustDesk*” (7 programs checked)", "Kein installiertes Programm passt zu „RustDesk*“ (7 Programme geprüft)"},
		{`{"name":"Microsoft Defender*","expect":"present"}`, core.StatusOK, 1, "Microsoft Defender for Endpoint 10.8760", "Microsoft Defender for Endpoint 10.8760"},
		{`{"name":"Sophos*","expect":"present"}`, core.StatusFailure, 0, "No installed program matches “Sophos*”", "Kein installiertes Programm passt zu „Sophos*“"},
		// A glob is the whole name: "Git" is not "*Git*".
		{`{"name":"git","expect":"present"}`, core.StatusOK, 1, ": Git 2.43.0", ": Git 2.43.0"},
		{`{"name":"*git*","expect":"absent"}`, core.StatusFailure, 2, "Git 2.43.0, Tools for Git/GitHub 1.0", "Git 2.43.0, Tools for Git/GitHub 1.0"},
		{`{"name":"?-zip *","expect":"present"}`, core.StatusOK, 1, "7-Zip 23.01 (x64) 23.01", "7-Zip 23.01 (x64) 23.01"},
		// The publisher narrows; a program without one does not match it.
		{`{"name":"*","expect":"absent","publisher":"philandro*"}`, core.StatusFailure, 1,
			`matching “*” by “philandro*”: AnyDesk`, `passend zu „*“ von „philandro*“: AnyDesk`},
		{`{"name":"AnyDesk","expect":"absent","publisher":"AnyDesk*"}`, core.StatusOK, 0, "No installed program", "Kein installiertes Programm"},
		{`{"name":"Tools*","expect":"present","publisher":"*"}`, core.StatusFailure, 0, "No installed program", "Kein installiertes Programm"},
	} {
		t.Run(tc.params, func(t *testing.T) {
			res, err := run(t, tc.params, installed, nil)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tc.status || res.Value == nil || *res.Value != tc.value {
				t.Errorf("status %s value %v, want %s %v: %s", res.Status, res.Value, tc.status, tc.value, res.Message.EN)
			}
			if !strings.Contains(res.Message.EN, tc.en) || !strings.Contains(res.Message.DE, tc.de) {
				t.Errorf("message %+v, want %q / %q in it", res.Message, tc.en, tc.de)
			}
		})
	}
}

func TestManyMatchesAreCounted(t *testing.T) {
	var progs []core.Program
	for i := range 14 {
		progs = append(progs, core.Program{Name: fmt.Sprintf("Remote Tool %02d", i), Version: "1"})
	}
	res, err := run(t, `{"name":"remote tool *","expect":"absent"}`, progs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(res.Message.EN, "Remote Tool 09 1 and 4 more") || !strings.HasSuffix(res.Message.DE, "Remote Tool 09 1 und 4 weitere") ||
		strings.Contains(res.Message.EN, "Remote Tool 10") {
		t.Errorf("message %+v", res.Message)
	}
}

// A list that could not be read is never taken for "not installed".
func TestReadErrors(t *testing.T) {
	failed := errors.New(`/usr/bin/rpm -qa: exit status 1: error: rpmdb: BDB0113 Thread/process 1234 failed`)
	for _, expect := range []string{"absent", "present"} {
		_, err := run(t, `{"name":"RustDesk*","expect":"`+expect+`"}`, installed[:2], failed)
		if !errors.Is(err, failed) {
			t.Errorf("expect %s: error %v, want the reader's", expect, err)
		}
		tx := check.ErrorText(err)
		if !strings.Contains(tx.EN, "reading the installed programs: /usr/bin/rpm -qa") || !strings.Contains(tx.DE, "Lesen der installierten Programme: /usr/bin/rpm -qa") {
			t.Errorf("expect %s: error text %+v", expect, tx)
		}
		// A program found is there, whatever else could not be read.
		res, err := run(t, `{"name":"AnyDesk","expect":"`+expect+`"}`, installed[:2], failed)
		want := map[string]core.Status{"absent": core.StatusFailure, "present": core.StatusOK}[expect]
		if err != nil || res.Status != want || !strings.Contains(res.Message.EN, "the program list is incomplete: /usr/bin/rpm") ||
			!strings.Contains(res.Message.DE, "die Programmliste ist unvollständig: /usr/bin/rpm") {
			t.Errorf("expect %s with a match in a partial list: %v %+v", expect, err, res)
		}
		// An empty list without an error is not "nothing installed".
		if _, err := run(t, `{"name":"RustDesk*","expect":"`+expect+`"}`, []core.Program{}, nil); err == nil ||
			!strings.Contains(check.ErrorText(err).DE, "überhaupt keine") {
			t.Errorf("expect %s on an empty list: %v", expect, err)
		}
	}
	// An OS without a software reader: the runner reports "unsupported".
	_, err := run(t, `{"name":"x","expect":"absent"}`, nil, errors.ErrUnsupported)
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("unsupported: %v", err)
	}
}

func TestParams(t *testing.T) {
	if _, err := check.New("program", nil); !errors.Is(err, check.ErrNotConfigured) {
		t.Errorf("without parameters: %v, want ErrNotConfigured (not in the default set)", err)
	}
	for _, raw := range []string{
		`{}`, `{"expect":"absent"}`, `{"name":"  ","expect":"absent"}`, `{"name":"AnyDesk"}`, `{"name":"AnyDesk","expect":"gone"}`,
		`{"name":"[AnyDesk","expect":"absent"}`, `{"name":"AnyDesk","expect":"absent","publisher":"[x"}`,
		`{"name":"AnyDesk","expect":"absent","path":"/opt"}`, `{"name":"` + strings.Repeat("x", 257) + `","expect":"absent"}`,
	} {
		var pe *check.ParamsError
		if _, err := check.New("program", json.RawMessage(raw)); !errors.As(err, &pe) {
			t.Errorf("%s: %v, want a ParamsError", raw, err)
		}
	}
	// A name pattern starts nothing and reads no file the agent names: a
	// technician may set every parameter.
	if p := checkspec.Program.PrivilegedPaths(); len(p) != 0 {
		t.Errorf("privileged parameters %v", p)
	}
	set, err := checkspec.Program.Privileged(json.RawMessage(`{"name":"*AnyDesk*","expect":"absent","publisher":"philandro*"}`))
	if err != nil || len(set) != 0 {
		t.Errorf("privileged settings %v, %v", set, err)
	}
}

// BenchmarkRunHere is one run on this machine's real program list.
func BenchmarkRunHere(b *testing.B) {
	c, err := check.New("program", json.RawMessage(`{"name":"*AnyDesk*","expect":"absent"}`))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		var got collect
		if err := c.Run(context.Background(), &got); err != nil {
			b.Fatal(err)
		}
	}
}
