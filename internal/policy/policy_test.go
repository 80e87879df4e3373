package policy

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	_ "github.com/wacht-rmm/wacht/internal/checks/all"
	"github.com/wacht-rmm/wacht/internal/core"
)

func pol(id int64, name string, cs ...core.PolicyCheck) core.Policy {
	return core.Policy{ID: id, Name: name, Checks: cs}
}

func chk(name, typ, params string, s core.Schedule) core.PolicyCheck {
	c := core.PolicyCheck{Name: name, Type: typ, Schedule: s}
	if params != "" {
		c.Params = json.RawMessage(params)
	}
	return c
}

func excl(name string) core.PolicyCheck { return core.PolicyCheck{Name: name, Exclude: true} }

// summary renders an effective set as "name:type:params:schedule@level/policy"
// lines for compact comparison.
func summary(e Effective) string {
	var b strings.Builder
	for _, c := range e.Checks {
		s := c.Schedule.Class
		if c.Schedule.Class == core.ScheduleDaily {
			s += "@" + c.Schedule.At
		} else {
			s += "/" + itoa(c.Schedule.EveryMinutes)
		}
		b.WriteString(c.Name + ":" + c.Type + ":" + string(c.Params) + ":" + s + "@" + c.Source.Level + "/" + c.Source.PolicyName)
		if c.Overrides != nil {
			b.WriteString("(over " + c.Overrides.Level + "/" + c.Overrides.PolicyName + ")")
		}
		b.WriteString("\n")
	}
	for _, x := range e.Excluded {
		b.WriteString("-" + x.Name + " from " + x.From.Level + "/" + x.From.PolicyName + " by " + x.By.Level + "/" + x.By.PolicyName + "\n")
	}
	return b.String()
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestResolve(t *testing.T) {
	base := pol(1, "Base",
		chk("cpu", "cpu", `{"warn":80,"fail":90}`, core.Schedule{}),
		chk("memory", "memory", "", core.Schedule{Class: core.Schedule24x7, EveryMinutes: 10}),
		chk("disk", "disk", `{"warn":80,"fail":90}`, core.Schedule{Class: core.ScheduleDaily}),
	)
	tests := []struct {
		name   string
		role   string
		layers []Layer
		want   string
	}{
		{
			name:   "default only, workstation daily default 10:00",
			role:   "workstation",
			layers: []Layer{{Level: core.LevelDefault, Policy: base}},
			want: "cpu:cpu:{\"warn\":80,\"fail\":90}:24x7/5@default/Base\n" +
				"memory:memory::24x7/10@default/Base\n" +
				"disk:disk:{\"warn\":80,\"fail\":90}:daily@10:00@default/Base\n",
		},
		{
			name:   "server daily default 06:00",
			role:   "server",
			layers: []Layer{{Level: core.LevelDefault, Policy: pol(1, "B", chk("disk", "disk", "", core.Schedule{Class: core.ScheduleDaily}))}},
			want:   "disk:disk::daily@06:00@default/B\n",
		},
		{
			name: "client adds a check and excludes memory",
			role: "server",
			layers: []Layer{
				{Level: core.LevelDefault, Policy: base},
				{Level: core.LevelClient, TargetID: 7, Policy: pol(2, "Kanzlei", excl("memory"), chk("cpu-fast", "cpu", `{"window":"1s"}`, core.Schedule{EveryMinutes: 1}))},
			},
			want: "cpu:cpu:{\"warn\":80,\"fail\":90}:24x7/5@default/Base\n" +
				"disk:disk:{\"warn\":80,\"fail\":90}:daily@06:00@default/Base\n" +
				"cpu-fast:cpu:{\"window\":\"1s\"}:24x7/1@client/Kanzlei\n" +
				"-memory from default/Base by client/Kanzlei\n",
		},
		{
			name: "site overrides, device overrides again",
			role: "workstation",
			layers: []Layer{
				{Level: core.LevelDefault, Policy: base},
				{Level: core.LevelSite, TargetID: 3, Policy: pol(3, "Filiale", chk("disk", "disk", `{"warn":70,"fail":85}`, core.Schedule{Class: core.ScheduleDaily, At: "07:30"}))},
				{Level: core.LevelDevice, TargetID: 9, Policy: pol(4, "PC-9", chk("disk", "disk", `{"warn":1,"fail":2}`, core.Schedule{EveryMinutes: 2}))},
			},
			want: "cpu:cpu:{\"warn\":80,\"fail\":90}:24x7/5@default/Base\n" +
				"memory:memory::24x7/10@default/Base\n" +
				"disk:disk:{\"warn\":1,\"fail\":2}:24x7/2@device/PC-9(over site/Filiale)\n",
		},
		{
			name: "excluded then re-added below",
			role: "server",
			layers: []Layer{
				{Level: core.LevelDefault, Policy: base},
				{Level: core.LevelClient, Policy: pol(2, "C", excl("cpu"))},
				{Level: core.LevelDevice, Policy: pol(3, "D", chk("cpu", "cpu", `{"window":"2s"}`, core.Schedule{}))},
			},
			want: "memory:memory::24x7/10@default/Base\n" +
				"disk:disk:{\"warn\":80,\"fail\":90}:daily@06:00@default/Base\n" +
				"cpu:cpu:{\"window\":\"2s\"}:24x7/5@device/D\n" +
				"-cpu from default/Base by client/C\n",
		},
		{
			name: "excluding a name never inherited changes nothing",
			role: "server",
			layers: []Layer{
				{Level: core.LevelDefault, Policy: pol(1, "B", chk("cpu", "cpu", "", core.Schedule{}))},
				{Level: core.LevelDevice, Policy: pol(2, "D", excl("ping"))},
			},
			want: "cpu:cpu::24x7/5@default/B\n",
		},
		{
			name: "two policies on one level: later position wins",
			role: "server",
			layers: []Layer{
				{Level: core.LevelClient, Policy: pol(1, "A", chk("cpu", "cpu", `{"warn":1,"fail":2}`, core.Schedule{}))},
				{Level: core.LevelClient, Policy: pol(2, "B", chk("cpu", "cpu", `{"warn":3,"fail":4}`, core.Schedule{}))},
			},
			want: "cpu:cpu:{\"warn\":3,\"fail\":4}:24x7/5@client/B(over client/A)\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Resolve(tc.role, tc.layers)
			if s := summary(got); s != tc.want {
				t.Errorf("got\n%s\nwant\n%s", s, tc.want)
			}
			if got.Revision == "" {
				t.Error("no revision")
			}
		})
	}
}

// TestResolveListsLayers: the effective set names every policy it was
// resolved from, in order, even one whose only check was replaced.
func TestResolveListsLayers(t *testing.T) {
	got := Resolve("server", []Layer{
		{Level: core.LevelDefault, Policy: pol(1, "Base", chk("cpu", "cpu", "", core.Schedule{}))},
		{Level: core.LevelClient, TargetID: 7, Policy: pol(2, "Kanzlei", chk("cpu", "cpu", `{"warn":1,"fail":2}`, core.Schedule{}))},
		{Level: core.LevelSite, TargetID: 3, Policy: pol(3, "Filiale")},
	})
	want := []Source{{Level: core.LevelDefault, PolicyID: 1, PolicyName: "Base"},
		{Level: core.LevelClient, TargetID: 7, PolicyID: 2, PolicyName: "Kanzlei"},
		{Level: core.LevelSite, TargetID: 3, PolicyID: 3, PolicyName: "Filiale"}}
	if !slices.Equal(got.Layers, want) {
		t.Errorf("layers %+v, want %+v", got.Layers, want)
	}
}

func TestRevisionFollowsContent(t *testing.T) {
	a := Resolve("server", []Layer{{Policy: pol(1, "A", chk("cpu", "cpu", `{"warn":1,"fail":2}`, core.Schedule{}))}})
	b := Resolve("server", []Layer{{Policy: pol(2, "Other name", chk("cpu", "cpu", `{"warn":1,"fail":2}`, core.Schedule{}))}})
	c := Resolve("server", []Layer{{Policy: pol(1, "A", chk("cpu", "cpu", `{"warn":1,"fail":3}`, core.Schedule{}))}})
	if a.Revision != b.Revision {
		t.Errorf("same checks, different revisions %s %s", a.Revision, b.Revision)
	}
	if a.Revision == c.Revision {
		t.Error("different params, same revision")
	}
}

func TestValidate(t *testing.T) {
	ok := func(cs ...core.PolicyCheck) core.Policy { return core.Policy{Name: "P", Checks: cs} }
	tests := []struct {
		name string
		p    core.Policy
		want []string // field: message (EN), in order
	}{
		{"valid", ok(chk("disk", "disk", `{"warn":80,"fail":90}`, core.Schedule{Class: "daily", At: "06:30"}), excl("memory")), nil},
		{"no name", core.Policy{}, []string{"name: is required"}},
		{"negative threshold", ok(chk("cpu", "cpu", "", core.Schedule{}), chk("mem", "memory", "", core.Schedule{}), chk("disk", "disk", `{"warn":-5}`, core.Schedule{})),
			[]string{"checks[2].params.warn: must be between 0 and 100"}},
		{"warn above fail", ok(chk("disk", "disk", `{"warn":95,"fail":90}`, core.Schedule{})), []string{"checks[0].params.warn: must not be above fail (95 > 90)"}},
		{"unknown check", ok(chk("x", "nosuchcheck", "", core.Schedule{})), []string{`checks[0].type: unknown check "nosuchcheck" (known: `}},
		{"interval too high", ok(chk("cpu", "cpu", "", core.Schedule{Class: "24x7", EveryMinutes: 121})), []string{"checks[0].schedule.every_minutes: must be between 1 and 120"}},
		{"interval negative", ok(chk("cpu", "cpu", "", core.Schedule{EveryMinutes: -1})), []string{"checks[0].schedule.every_minutes: must be between 1 and 120"}},
		{"bad hour", ok(chk("cpu", "cpu", "", core.Schedule{Class: "daily", At: "25:00"})), []string{"checks[0].schedule.at: must be a time of day HH:MM, e.g. 06:00"}},
		{"bad class", ok(chk("cpu", "cpu", "", core.Schedule{Class: "hourly"})), []string{`checks[0].schedule.class: must be "24x7" or "daily"`}},
		{"duplicate name", ok(chk("cpu", "cpu", "", core.Schedule{}), chk("cpu", "memory", "", core.Schedule{})), []string{`checks[1].name: "cpu" is already used by checks[0]`}},
		{"bad name", ok(chk("Web Shop", "cpu", "", core.Schedule{})), []string{"checks[0].name: must be 1–64 lower-case letters, digits, '.', '_' or '-', starting with a letter or digit"}},
		{"params not object", ok(chk("cpu", "cpu", `[1]`, core.Schedule{})), []string{"checks[0].params: must be a JSON object"}},
		// Parameters are validated by the declarations (checkspec),
		// without linking a collector.
		{"declared limit", ok(chk("cpu", "cpu", `{"window":"1h"}`, core.Schedule{})), []string{"checks[0].params.window: must be between 0.1s and 300s"}},
		{"unknown field names the valid ones", ok(chk("ping", "ping", `{"address":"127.0.0.1"}`, core.Schedule{})), []string{
			"checks[0].params.address: unknown parameter; valid: count, host, interval_seconds, ip_version, loss_percent, mode, rtt_ms, timeout_seconds",
			"checks[0].params.host: is required"}},
		{"needs parameters", ok(chk("ping", "ping", ``, core.Schedule{})), []string{"checks[0].params.host: is required"}},
		{"nested field", ok(chk("b", "backup", `{"products":[{"type":"restic"},{"type":"tape"}]}`, core.Schedule{})), []string{
			"checks[0].params.products[1].type: must be one of restic, borg"}},
		{"declared rule", ok(chk("s", "services", `{"mode":"named"}`, core.Schedule{})), []string{`checks[0].params.services: mode "named" needs a list of services`}},
		{"watched program", ok(chk("anydesk", "program", `{"name":"*AnyDesk*","expect":"absent","publisher":"philandro*"}`, core.Schedule{Class: "daily"})), nil},
		{"watched program needs expect", ok(chk("av", "program", `{"name":"Sophos*"}`, core.Schedule{})), []string{"checks[0].params.expect: is required"}},
		{"watched program pattern", ok(chk("av", "program", `{"name":"Sophos[","expect":"present"}`, core.Schedule{})), []string{"checks[0].params.name: is not a valid pattern"}},
		{"counts are not percentages", ok(chk("l", "logins", `{"warn":200,"fail":500}`, core.Schedule{})), nil},
		{"the server's alert_after", ok(chk("p", "ping", `{"host":"h","alert_after":3}`, core.Schedule{})), nil},
		{"bad alert_after", ok(chk("p", "ping", `{"host":"h","alert_after":0.5}`, core.Schedule{})), []string{"checks[0].params.alert_after: must be a whole number"}},
		{"exclude needs only a name", ok(core.PolicyCheck{Exclude: true}), []string{"checks[0].name: is required"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.p
			Normalize(&p)
			err := Validate(p)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			if !errors.Is(err, core.ErrInvalid) {
				t.Error("ValidationError does not wrap core.ErrInvalid")
			}
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Error())
				if f.Message.DE == "" || f.Message.DE == f.Message.EN {
					t.Errorf("%s: no German message", f.Field)
				}
			}
			// A message may go on after the expected text (the list of
			// known checks grows).
			match := len(got) == len(tc.want)
			for i := 0; match && i < len(got); i++ {
				match = strings.HasPrefix(got[i], tc.want[i])
			}
			if !match {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestValidationErrorGerman(t *testing.T) {
	p := core.Policy{Name: "P", Checks: []core.PolicyCheck{chk("disk", "disk", `{"fail":150}`, core.Schedule{})}}
	var ve *ValidationError
	if !errors.As(Validate(p), &ve) {
		t.Fatal("no validation error")
	}
	if got, want := ve.In("de"), "checks[0].params.fail: muss zwischen 0 und 100 liegen"; got != want {
		t.Errorf("German: %q, want %q", got, want)
	}
	if got := ve.For("checks[0]", "en"); got != "checks[0].params.fail: must be between 0 and 100" {
		t.Errorf("For: %q", got)
	}
	if got := ve.For("checks[1]", "en"); got != "" {
		t.Errorf("For other row: %q", got)
	}
}

func TestTemplatesAreValid(t *testing.T) {
	for _, p := range Templates() {
		if err := Validate(p); err != nil {
			t.Errorf("template %s: %v", p.Name, err)
		}
		if p.Description.EN == "" || p.Description.DE == "" {
			t.Errorf("template %s lacks a bilingual description", p.Name)
		}
		// Each check is explained in both languages.
		words := map[string][2]string{
			"services": {"services", "dienste"}, "cpu": {"cpu", "cpu"}, "memory": {"memory", "arbeitsspeicher"},
			"disk": {"disk space", "speicherplatz"}, "eventlog": {"critical events", "kritische ereignisse"},
			"logins": {"failed logins", "fehlgeschlagene anmeldungen"}, "smart": {"s.m.a.r.t.", "s.m.a.r.t."},
			"antivirus": {"antivirus", "virenschutz"}, "growth": {"data growth", "datenwachstum"},
		}
		for _, c := range p.Checks {
			w, ok := words[c.Type]
			if !ok {
				t.Errorf("template %s: no explanation expected for %s; add it here", p.Name, c.Type)
				continue
			}
			if !strings.Contains(strings.ToLower(p.Description.EN), w[0]) || !strings.Contains(strings.ToLower(p.Description.DE), w[1]) {
				t.Errorf("template %s does not explain its check %s in both languages", p.Name, c.Name)
			}
		}
	}
	if TemplateFor("server").Builtin != BuiltinServer || TemplateFor("notebook").Builtin != BuiltinWorkstation || TemplateFor("workstation").Builtin != BuiltinWorkstation {
		t.Error("wrong template by role")
	}
	e := Resolve("workstation", []Layer{{Level: core.LevelDefault, Policy: TemplateFor("workstation")}})
	for _, c := range e.Checks {
		if c.Name == "disk" && (c.Schedule.Class != core.ScheduleDaily || c.Schedule.At != "10:00") {
			t.Errorf("workstation disk schedule %+v", c.Schedule)
		}
	}
}

func TestParseAt(t *testing.T) {
	for s, ok := range map[string]bool{"00:00": true, "23:59": true, "06:00": true, "24:00": false, "6:00": false, "06:60": false, "ab:cd": false, "": false, "06-00": false} {
		_, _, err := ParseAt(s)
		if (err == nil) != ok {
			t.Errorf("ParseAt(%q) err = %v", s, err)
		}
	}
}
