package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// The automated tasks of the policy form (issue 16): one row per task
// with its script, schedule, fix binding and a field per parameter of the
// chosen script, by type; secrets are password fields that are never
// filled (left empty, the stored value stays). A new row shows its
// parameters once its script is chosen and the form saved.

// taskRow is one task row of the form.
type taskRow struct {
	Index    int
	Task     core.PolicyTask
	Every    string
	Day      string
	Max      string
	Weekdays [7]bool
	Params   []taskParam
	Sched    string // the schedule in words (read-only view)
	Error    string
}

// taskParam is one parameter field of a task row.
type taskParam struct {
	core.ScriptParam
	Value  string
	Stored bool // a secret with a stored value
}

// taskKinds are the schedule kinds in the order the form offers them.
var taskKinds = []string{core.TaskDaily, core.TaskWeekly, core.TaskMonthly, core.TaskInterval, core.TaskAtStart, core.TaskFixOnly}

// emptyTaskRows is how many blank rows the form offers for new tasks.
const emptyTaskRows = 1

func taskRowsOf(ts []core.PolicyTask, scripts []core.Script, ve *policy.ValidationError, lang Lang, readOnly bool) []taskRow {
	var rows []taskRow
	for i, t := range ts {
		r := taskRow{Index: i, Task: t, Sched: taskSchedLabel(lang, t.Schedule)}
		if t.Schedule.EveryMinutes != 0 {
			r.Every = strconv.Itoa(t.Schedule.EveryMinutes)
		}
		if t.Schedule.Day != 0 {
			r.Day = strconv.Itoa(t.Schedule.Day)
		}
		if t.MaxPerDay != 0 {
			r.Max = strconv.Itoa(t.MaxPerDay)
		}
		for _, d := range t.Schedule.Weekdays {
			if d >= 0 && d < 7 {
				r.Weekdays[d] = true
			}
		}
		if j := slices.IndexFunc(scripts, func(sc core.Script) bool { return sc.ID == t.ScriptID }); j >= 0 {
			for _, p := range scripts[j].Params {
				tp := taskParam{ScriptParam: p, Value: t.Params[p.Name]}
				if p.Type == core.ParamSecret {
					tp.Value, tp.Stored = "", t.Secrets[p.Name] != "" // never into the page
				}
				r.Params = append(r.Params, tp)
			}
		}
		if ve != nil {
			r.Error = ve.For("tasks["+strconv.Itoa(i)+"]", lang.Code())
		}
		rows = append(rows, r)
	}
	if !readOnly {
		for i := 0; i < emptyTaskRows; i++ {
			rows = append(rows, taskRow{Index: len(ts) + i, Task: core.PolicyTask{Schedule: core.TaskSchedule{Kind: core.TaskDaily}}})
		}
	}
	return rows
}

// taskSchedLabel words a task's schedule.
func taskSchedLabel(l Lang, s core.TaskSchedule) string {
	switch s.Kind {
	case core.TaskInterval:
		return l.T("policy.every") + " " + strconv.Itoa(s.EveryMinutes) + " " + l.T("policy.minutes")
	case core.TaskDaily:
		return l.T("sched.daily") + " " + s.At
	case core.TaskWeekly:
		days := make([]string, len(s.Weekdays))
		for i, d := range s.Weekdays {
			days[i] = l.T("weekday." + strconv.Itoa(d))
		}
		return strings.Join(days, ", ") + " " + s.At
	case core.TaskMonthly:
		return l.T("task.monthly") + " " + strconv.Itoa(s.Day) + ". " + s.At
	}
	return l.T("task.kind." + s.Kind)
}

// formTasks reads the task rows; blank rows are dropped.
func formTasks(r *http.Request) []core.PolicyTask {
	n, _ := strconv.Atoi(r.PostFormValue("trows"))
	var out []core.PolicyTask
	for i := 0; i < n && i < policy.MaxChecks+emptyTaskRows; i++ {
		pre := "t" + strconv.Itoa(i) + "."
		f := func(k string) string { return strings.TrimSpace(r.PostFormValue(pre + k)) }
		num := func(k string) int {
			if f(k) == "" {
				return 0
			}
			n, err := strconv.Atoi(f(k))
			if err != nil {
				return -1 // refused by validation, naming the field
			}
			return n
		}
		script, _ := strconv.ParseInt(f("script"), 10, 64)
		t := core.PolicyTask{Name: f("name"), ScriptID: script, ScriptVersion: num("version"), FixCheck: f("fix"), MaxPerDay: num("max"),
			RunAgain: f("again") != "", Exclude: f("exclude") != "",
			Schedule: core.TaskSchedule{Kind: f("kind"), EveryMinutes: num("every"), At: f("at"), Day: num("day")}}
		if t.Name == "" && t.ScriptID == 0 && !t.Exclude {
			continue
		}
		for _, d := range r.PostForm[pre+"wd"] {
			if n, err := strconv.Atoi(d); err == nil {
				t.Schedule.Weekdays = append(t.Schedule.Weekdays, n)
			}
		}
		for k, v := range r.PostForm {
			if name, ok := strings.CutPrefix(k, pre+"p."); ok && len(v) > 0 && v[0] != "" {
				if t.Params == nil {
					t.Params = map[string]string{}
				}
				t.Params[name] = v[0]
			}
		}
		out = append(out, t)
	}
	return out
}

// effectiveTask is one task of a device's effective set.
type effectiveTask struct {
	policy.TaskEntry
	Sched string
}

func effectiveTasks(l Lang, ts []policy.TaskEntry) []effectiveTask {
	out := make([]effectiveTask, len(ts))
	for i, t := range ts {
		out[i] = effectiveTask{TaskEntry: t, Sched: taskSchedLabel(l, t.Schedule)}
	}
	return out
}
