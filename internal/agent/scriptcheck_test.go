package agent

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

func TestParsePerfdata(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		line, msg string
		value     *float64
		unit      string
	}{
		{"all fine", "all fine", nil, ""},
		{"", "", nil, ""},
		{"queue length 42|value=42;items", "queue length 42", f(42), "items"},
		{"queue ok | queue=42", "queue ok", f(42), ""},
		{"DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968", "DISK OK - free space: / 3326 MB (56%);", f(2643), "MB"},
		{"load | load1=0.150;5.000;10.000;0; load5=0.2;6;11;0;", "load", f(0.15), ""},
		{"time|time=1.5s;2;3", "time", f(1.5), "s"},
		{"used|used=87.5%;80;90;0;100", "used", f(87.5), "%"},
		{"neg|delta=-3", "neg", f(-3), ""},
		{"exp|big=1.2e3B", "exp", f(1200), "B"},
		{"komma|temp=21,5;°C", "komma", f(21.5), "°C"},
		{"quoted|'free space'=12GB;;", "quoted", f(12), "GB"},
		{"counter|requests=1234c", "counter", f(1234), "c"},
		{"unknown|x=U;1;2", "unknown", nil, ""},
		{"not a number|x=abc", "not a number", nil, ""},
		{"no equals|just text", "no equals", nil, ""},
		{"label with space|a b=3", "label with space", nil, ""},
		{"unclosed quote|'abc=3", "unclosed quote", nil, ""},
		{"warn field is no unit|x=5;10;20", "warn field is no unit", f(5), ""},
		{"empty perf|", "empty perf", nil, ""},
		{"|x=7;ms", "", f(7), "ms"},
		{"two pipes|x=1|y=2", "two pipes", nil, ""},
		{"unit too long|x=1;abcdefghijklmnopqrstuvwxyz", "unit too long", f(1), ""},
	} {
		msg, v, unit := parsePerfdata(tc.line)
		if msg != tc.msg || unit != tc.unit || (v == nil) != (tc.value == nil) || (v != nil && *v != *tc.value) {
			got := "nil"
			if v != nil {
				got = fmt.Sprint(*v)
			}
			t.Errorf("%q: %q %s %q, want %q %v %q", tc.line, msg, got, unit, tc.msg, tc.value, tc.unit)
		}
	}
}

func TestScriptCheckResult(t *testing.T) {
	for _, tc := range []struct {
		name   string
		res    protocol.ScriptResult
		err    error
		status core.Status
		msg    string
	}{
		{"exit 0", protocol.ScriptResult{ExitCode: 0, Stdout: "\n  spooler running |jobs=3;;\nmore\n"}, nil, core.StatusOK, "spooler running"},
		{"exit 1", protocol.ScriptResult{ExitCode: 1, Stdout: "queue long"}, nil, core.StatusWarning, "queue long"},
		{"exit 2", protocol.ScriptResult{ExitCode: 2, Stdout: "spooler stopped"}, nil, core.StatusFailure, "spooler stopped"},
		{"exit 3", protocol.ScriptResult{ExitCode: 3, Stdout: "UNKNOWN - no data"}, nil, core.StatusError, "The script ended with exit code 3 (expected 0 ok, 1 warning, 2 failure): UNKNOWN - no data"},
		{"no output", protocol.ScriptResult{ExitCode: 0}, nil, core.StatusOK, "Exit code 0, no output"},
		{"stderr only is no message", protocol.ScriptResult{ExitCode: 2, Stderr: "oops"}, nil, core.StatusFailure, "Exit code 2, no output"},
		{"timeout", protocol.ScriptResult{ExitCode: -1, TimedOut: true, Stdout: "half"}, nil, core.StatusError, "The script did not finish within 30s and was stopped."},
		{"start failed", protocol.ScriptResult{ExitCode: -1, Stderr: "Wacht: running sh: exec format error"}, nil, core.StatusError, "The script check could not run: Wacht: running sh: exec format error"},
		{"python missing", protocol.ScriptResult{}, Errorf(protocol.CodeUnsupported, "Scripts in %s cannot run on this device: %s.", "Skripte in %s können auf diesem Gerät nicht laufen: %s.", "python", "python is not installed"),
			core.StatusError, "The script check could not run: Scripts in python cannot run on this device: python is not installed."},
		{"plain error", protocol.ScriptResult{}, errors.New("disk full"), core.StatusError, "The script check could not run: disk full"},
	} {
		r := scriptCheckResult(tc.res, tc.err, 30*time.Second)
		// The script's own line is the same in both languages; Wacht's
		// words are translated.
		ours := tc.status == core.StatusError || strings.HasPrefix(tc.msg, "Exit code")
		if r.Status != tc.status || r.Message.EN != tc.msg || ours == (r.Message.DE == r.Message.EN) {
			t.Errorf("%s: %v %q / %q, want %v %q", tc.name, r.Status, r.Message.EN, r.Message.DE, tc.status, tc.msg)
		}
	}
	r := scriptCheckResult(protocol.ScriptResult{Stdout: "ok|jobs=3;;"}, nil, time.Minute)
	if r.Value == nil || *r.Value != 3 {
		t.Errorf("value %v", r.Value)
	}
	long := scriptCheckResult(protocol.ScriptResult{Stdout: strings.Repeat("x", 5000)}, nil, time.Minute)
	if len(long.Message.EN) > maxLine+len("…") {
		t.Errorf("message of %d bytes", len(long.Message.EN))
	}
}
