package protocol

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

func TestTaskRunIDFitsScriptRunIDs(t *testing.T) {
	due := time.Unix(1_800_000_000, 0)
	for _, name := range []string{"restart-spooler", "a.b_c", strings.Repeat("x", 64)} {
		id := TaskRunID(name, TriggerSchedule, due)
		if !runIDRe.MatchString(id) {
			t.Errorf("TaskRunID(%q) = %q: not a valid run ID", name, id)
		}
		if TaskRunID(name, TriggerSchedule, due.Add(time.Second)) == id {
			t.Errorf("TaskRunID(%q): another due time gives the same ID", name)
		}
	}
	long := strings.Repeat("y", 64)
	if TaskRunID(long+"a", TriggerFix, due) == TaskRunID(long[:63]+"b", TriggerFix, due) {
		t.Error("two long names share a run ID")
	}
}

func TestEncodeTaskRunStaysWithinTheDataLimit(t *testing.T) {
	// Control characters are escaped as \u00XX: six bytes each.
	d := TaskRun{RunID: "r", Stdout: strings.Repeat("\x01", 1<<20), Stderr: strings.Repeat("ä", 1<<20)}
	b, err := EncodeTaskRun(d)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > MaxDataBytes {
		t.Fatalf("encoded %d bytes, max %d", len(b), MaxDataBytes)
	}
	got, ok := ReadTaskRun(b)
	if !ok || !got.Truncated || got.RunID != "r" || !strings.HasPrefix(got.Stderr, "ää") {
		t.Fatalf("ReadTaskRun = %+v, %v", got, ok)
	}
	if err := ValidateData(b); err != nil {
		t.Fatal(err)
	}
	if _, ok := ReadTaskRun(json.RawMessage(`{"kind":"events","v":1}`)); ok {
		t.Error("ReadTaskRun accepted another kind")
	}
}

func TestPolicyValidateTasks(t *testing.T) {
	task := func(mod func(*Task)) Task {
		tk := Task{Name: "clean", Schedule: core.TaskSchedule{Kind: core.TaskDaily, At: "03:00"},
			Script: ScriptArgs{Language: LangSh, Body: "echo hi"}}
		mod(&tk)
		return tk
	}
	ok := Policy{Revision: "r", Tasks: []Task{task(func(*Task) {})}}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*Task){
		"bad name":          func(tk *Task) { tk.Name = "Bad Name" },
		"unknown kind":      func(tk *Task) { tk.Schedule.Kind = "hourly" },
		"fix without check": func(tk *Task) { tk.Schedule.Kind = core.TaskFixOnly },
		"no body":           func(tk *Task) { tk.Script.Body = "" },
		"bad language":      func(tk *Task) { tk.Script.Language = "perl" },
	} {
		p := Policy{Revision: "r", Tasks: []Task{task(mod)}}
		if err := p.Validate(); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: Validate = %v, want ErrMalformed", name, err)
		}
	}
	dup := Policy{Revision: "r", Tasks: []Task{task(func(*Task) {}), task(func(*Task) {})}}
	if err := dup.Validate(); !errors.Is(err, ErrMalformed) {
		t.Errorf("duplicate task names: Validate = %v", err)
	}
}
