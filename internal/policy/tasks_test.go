package policy

import (
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestResolveTasks: tasks are inherited, overridden and excluded by name
// as checks are, each with the layer it comes from.
func TestResolveTasks(t *testing.T) {
	daily := core.TaskSchedule{Kind: core.TaskDaily, At: "03:00"}
	layers := []Layer{
		{Level: core.LevelDefault, Policy: core.Policy{ID: 1, Name: "Basis", Tasks: []core.PolicyTask{
			{Name: "cleanup", ScriptID: 1, Schedule: daily},
			{Name: "restart", ScriptID: 2, Schedule: core.TaskSchedule{Kind: core.TaskFixOnly}, FixCheck: "services"},
			{Name: "report", ScriptID: 3, Schedule: core.TaskSchedule{Kind: core.TaskAtStart}},
		}}},
		{Level: core.LevelClient, TargetID: 7, Policy: core.Policy{ID: 2, Name: "Kunde", Tasks: []core.PolicyTask{
			{Name: "cleanup", ScriptID: 1, Schedule: core.TaskSchedule{Kind: core.TaskWeekly, At: "04:00", Weekdays: []int{0}}},
			{Name: "restart", Exclude: true},
			{Name: "ghost", Exclude: true}, // nothing to exclude
		}}},
		{Level: core.LevelDevice, TargetID: 9, Policy: core.Policy{ID: 3, Name: "Gerät", Tasks: []core.PolicyTask{
			{Name: "inventory", ScriptID: 4, Schedule: core.TaskSchedule{Kind: core.TaskInterval, EveryMinutes: 60}},
		}}},
	}
	e := Resolve("server", layers)
	names := []string{}
	for _, t := range e.Tasks {
		names = append(names, t.Name)
	}
	if len(e.Tasks) != 3 || names[0] != "cleanup" || names[1] != "report" || names[2] != "inventory" {
		t.Fatalf("tasks = %v", names)
	}
	if c := e.Tasks[0]; c.Schedule.Kind != core.TaskWeekly || c.Source.PolicyID != 2 || c.Overrides == nil || c.Overrides.PolicyID != 1 {
		t.Errorf("overridden task = %+v", c)
	}
	if i := e.Tasks[2]; i.Source.Level != core.LevelDevice || i.Source.TargetID != 9 || i.Overrides != nil {
		t.Errorf("device task = %+v", i)
	}
	if len(e.ExcludedTasks) != 1 || e.ExcludedTasks[0].Name != "restart" || e.ExcludedTasks[0].From.PolicyID != 1 || e.ExcludedTasks[0].By.PolicyID != 2 {
		t.Errorf("excluded = %+v", e.ExcludedTasks)
	}
	if len(e.Excluded) != 0 {
		t.Errorf("excluded checks = %+v", e.Excluded)
	}
}

func TestValidateTaskFields(t *testing.T) {
	p := core.Policy{Name: "Aufgaben", Tasks: []core.PolicyTask{
		{Name: "ok-interval", ScriptID: 1, Schedule: core.TaskSchedule{Kind: core.TaskInterval, EveryMinutes: 10080}},
		{Name: "ok-monthly", ScriptID: 1, Schedule: core.TaskSchedule{Kind: core.TaskMonthly, At: "23:59", Day: 31}},
		{Name: "no-script", Schedule: core.TaskSchedule{Kind: core.TaskAtStart}},
		{Name: "short", ScriptID: 1, Schedule: core.TaskSchedule{Kind: core.TaskInterval, EveryMinutes: 4}},
		{Name: "fix-only", ScriptID: 1, Schedule: core.TaskSchedule{Kind: core.TaskFixOnly}},
		{Name: "odd", ScriptID: 1, Schedule: core.TaskSchedule{Kind: "hourly"}, MaxPerDay: -1},
		{Name: "ok-interval", Exclude: true},
	}}
	Normalize(&p)
	err := Validate(p)
	ve, ok := err.(*ValidationError)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	want := map[string]bool{"tasks[2].script_id": true, "tasks[3].schedule.every_minutes": true, "tasks[4].fix_check": true,
		"tasks[5].schedule.kind": true, "tasks[5].max_per_day": true, "tasks[6].name": true}
	for _, f := range ve.Fields {
		if !want[f.Field] || f.Message.DE == "" {
			t.Errorf("unexpected %s: %s", f.Field, f.Message.EN)
		}
		delete(want, f.Field)
	}
	for f := range want {
		t.Errorf("no error on %s", f)
	}
}
