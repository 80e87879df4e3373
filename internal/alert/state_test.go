package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/core"
)

var t0 = time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC) // a Monday, 10:00 in Berlin

// run feeds statuses one minute apart through Evaluate, carrying state and
// open-outage facts like the engine does, and returns per step the state,
// whether an outage is open and the messages, as "state/open/kinds".
func run(t *testing.T, a core.AlertState, p Params, steps string) []string {
	t.Helper()
	n := 0
	refs := func() string { n++; return fmt.Sprintf("o%d", n) }
	notified := map[string]bool{}
	var out []string
	for i, s := range strings.Fields(steps) {
		st := map[string]core.Status{"F": core.StatusFailure, "O": core.StatusOK, "W": core.StatusWarning,
			"E": core.StatusError, "U": core.StatusUnsupported}[s]
		r := core.Result{Check: "disk", Status: st, At: t0.Add(time.Duration(i) * time.Minute)}
		d := Evaluate(a, r, p, OpenOutage{Notified: notified[a.OutageRef]}, refs)
		if d.MarkNotified {
			notified[d.State.OutageRef] = true
		}
		a = d.State
		open := "-"
		if a.OutageRef != "" {
			open = a.OutageRef
		}
		out = append(out, a.State+"/"+open+"/"+strings.Join(d.Notify, "+"))
	}
	return out
}

func TestEvaluate(t *testing.T) {
	p := Params{AlertAfter: 1, FlapChanges: 4, FlapWindow: 30 * time.Minute}
	p3 := p
	p3.AlertAfter = 3
	pCalm := p
	pCalm.FlapChanges = 10
	tests := []struct {
		name  string
		p     Params
		a     core.AlertState
		steps string
		want  []string
	}{
		{"fail opens, pass closes", p, core.AlertState{}, "O F F O O",
			[]string{"ok/-/", "failure/o1/outage", "failure/o1/", "ok/-/recovery", "ok/-/"}},
		{"warnings and errors only show", p, core.AlertState{}, "W E W O",
			[]string{"warning/-/", "warning/-/", "warning/-/", "ok/-/"}},
		{"failure to warning closes the outage", p, core.AlertState{}, "F W",
			[]string{"failure/o1/outage", "warning/-/recovery"}},
		{"unsupported changes nothing", p, core.AlertState{}, "F U O",
			[]string{"failure/o1/outage", "failure/o1/", "ok/-/recovery"}},
		{"threshold 3: soft failures first", p3, core.AlertState{}, "F F O F F F F O",
			[]string{"soft/-/", "soft/-/", "ok/-/", "soft/-/", "soft/-/", "failure/o1/outage", "failure/o1/", "ok/-/recovery"}},
		{"threshold 3: a warning resets the count", p3, core.AlertState{}, "F F W F F",
			[]string{"soft/-/", "soft/-/", "warning/-/", "soft/-/", "soft/-/"}},
		{"cleared until passing: silent, then normal", p,
			core.AlertState{Known: true, State: core.AlertOK, ClearUntilPass: true}, "F F O F O",
			[]string{"failure/o1/", "failure/o1/", "ok/-/", "failure/o2/outage", "ok/-/recovery"}},
		{"cleared until a date: silent until then", pCalm,
			core.AlertState{Known: true, State: core.AlertOK, ClearedUntil: ptr(t0.Add(150 * time.Second))}, "F O F O F",
			// o2 opened silently, so its recovery is silent too.
			[]string{"failure/o1/", "ok/-/", "failure/o2/", "ok/-/", "failure/o3/outage"}},
		{"flapping: one message, then quiet", p, core.AlertState{}, "F O F O F O F O",
			[]string{"failure/o1/outage", "ok/-/recovery", "failure/o2/outage", "ok/-/recovery",
				"failure/o3/flapping", "ok/-/", "failure/o4/", "ok/-/"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, tc.a, tc.p, tc.steps)
			if !slices.Equal(got, tc.want) {
				t.Errorf("steps %q:\n got  %q\n want %q", tc.steps, got, tc.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestEvaluateFlappingEndsWhenStable(t *testing.T) {
	p := Params{AlertAfter: 1, FlapChanges: 2, FlapWindow: 10 * time.Minute}
	n := 0
	refs := func() string { n++; return fmt.Sprintf("o%d", n) }
	var a core.AlertState
	at := t0
	step := func(st core.Status, gap time.Duration, open OpenOutage) Decision {
		at = at.Add(gap)
		d := Evaluate(a, core.Result{Status: st, At: at}, p, open, refs)
		a = d.State
		return d
	}
	step(core.StatusFailure, 0, OpenOutage{})
	step(core.StatusOK, time.Minute, OpenOutage{Notified: true})
	d := step(core.StatusFailure, time.Minute, OpenOutage{})
	if !a.Flapping || !slices.Equal(d.Notify, []string{notify.KindFlapping}) {
		t.Fatalf("third change: flapping %v, notify %v", a.Flapping, d.Notify)
	}
	// Still failing and quiet inside the window.
	if d := step(core.StatusFailure, 5*time.Minute, OpenOutage{}); len(d.Notify) != 0 || !a.Flapping {
		t.Fatalf("inside the window: %v flapping %v", d.Notify, a.Flapping)
	}
	// No change for the whole window: stable, and the unnotified outage is
	// reported now, once.
	d = step(core.StatusFailure, 6*time.Minute, OpenOutage{})
	if a.Flapping || !slices.Equal(d.Notify, []string{notify.KindOutage}) || !d.MarkNotified {
		t.Fatalf("after the window: flapping %v, notify %v, mark %v", a.Flapping, d.Notify, d.MarkNotified)
	}
	if d := step(core.StatusOK, time.Minute, OpenOutage{Notified: true}); !slices.Equal(d.Notify, []string{notify.KindRecovery}) {
		t.Fatalf("recovery after stable: %v", d.Notify)
	}
}

func TestEvaluateIgnoresOldResults(t *testing.T) {
	a := core.AlertState{Known: true, State: core.AlertFailure, Consecutive: 2, OutageRef: "o1", LastAt: t0}
	d := Evaluate(a, core.Result{Status: core.StatusOK, At: t0.Add(-time.Minute)}, Params{AlertAfter: 1}, OpenOutage{Notified: true},
		func() string { return "x" })
	if !d.Ignored || d.Close != "" || d.State.State != core.AlertFailure || len(d.Notify) != 0 {
		t.Fatalf("late result: %+v", d)
	}
}

func TestEvaluatePresence(t *testing.T) {
	s := Settings{}.WithDefaults()
	seen := t0
	bye := seen.Add(time.Second)
	tests := []struct {
		name  string
		p     core.Presence
		after time.Duration
		want  PresenceDecision
	}{
		{"server online", core.Presence{Role: "server", LastSeen: seen}, 89 * time.Second, PresenceDecision{State: PresenceOnline}},
		{"server offline, alert pending", core.Presence{Role: "server", LastSeen: seen}, 90 * time.Second, PresenceDecision{State: PresenceOffline}},
		{"server offline, alert", core.Presence{Role: "server", LastSeen: seen}, 90*time.Second + 5*time.Minute, PresenceDecision{State: PresenceAlerted, Open: true}},
		{"workstation still online at 5 min", core.Presence{Role: "workstation", LastSeen: seen}, 5 * time.Minute, PresenceDecision{State: PresenceOnline}},
		{"notebook offline after 10 min", core.Presence{Role: "notebook", LastSeen: seen}, 11 * time.Minute, PresenceDecision{State: PresenceOffline}},
		{"reboot announced", core.Presence{Role: "server", LastSeen: seen, GoodbyeAt: &bye, GoodbyeReason: "reboot"}, 10 * time.Minute, PresenceDecision{State: PresenceRebooting}},
		{"shutdown announced", core.Presence{Role: "server", LastSeen: seen, GoodbyeAt: &bye, GoodbyeReason: "shutdown"}, 29 * time.Minute, PresenceDecision{State: PresenceShutdown}},
		{"away longer than the grace", core.Presence{Role: "server", LastSeen: seen, GoodbyeAt: &bye, GoodbyeReason: "shutdown"}, 31 * time.Minute, PresenceDecision{State: PresenceAlerted, Open: true}},
		{"back after a goodbye", core.Presence{Role: "server", LastSeen: bye.Add(time.Minute), GoodbyeAt: &bye, GoodbyeReason: "reboot"}, time.Minute + 10*time.Second, PresenceDecision{State: PresenceOnline, ClearGoodbye: true}},
		{"alerted device back", core.Presence{Role: "server", LastSeen: seen, OutageRef: "x"}, 10 * time.Second, PresenceDecision{State: PresenceOnline, Close: true}},
		{"alerted device still away", core.Presence{Role: "server", LastSeen: seen, OutageRef: "x"}, time.Hour, PresenceDecision{State: PresenceAlerted}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := EvaluatePresence(tc.p, s, seen.Add(tc.after)); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestRecipientsLevelsAndOfficeHours(t *testing.T) {
	oh := Settings{}.WithDefaults().OfficeHours // Mon–Fri 08–17 Berlin
	dev := core.Device{ID: 7, SiteID: 3, ClientID: 2}
	all := []core.Recipient{
		{ID: 1, Level: core.LevelDefault, Target: "default", Hours: core.HoursAlways},
		{ID: 2, Level: core.LevelClient, TargetID: 2, Target: "client-office", Hours: core.HoursOffice},
		{ID: 3, Level: core.LevelClient, TargetID: 2, Target: "client-after", Hours: core.HoursAfter},
		{ID: 4, Level: core.LevelClient, TargetID: 9, Target: "other-client", Hours: core.HoursAlways},
		{ID: 5, Level: core.LevelDevice, TargetID: 8, Target: "other-device", Hours: core.HoursAlways},
	}
	targets := func(rs []core.Recipient) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.Target)
		}
		return out
	}
	monday10 := t0                                            // 10:00 CET
	monday20 := time.Date(2026, 3, 16, 19, 0, 0, 0, time.UTC) // 20:00 CET
	saturday := time.Date(2026, 3, 21, 9, 0, 0, 0, time.UTC)  // Saturday 10:00
	summer := time.Date(2026, 7, 1, 15, 30, 0, 0, time.UTC)   // Wednesday 17:30 CEST
	if got := targets(Recipients(all, dev, oh, monday10)); !slices.Equal(got, []string{"client-office"}) {
		t.Errorf("Monday 10:00: %v", got)
	}
	for _, at := range []time.Time{monday20, saturday, summer} {
		if got := targets(Recipients(all, dev, oh, at)); !slices.Equal(got, []string{"client-after"}) {
			t.Errorf("%v: %v", at, got)
		}
	}
	other := core.Device{ID: 1, SiteID: 1, ClientID: 1}
	if got := targets(Recipients(all, other, oh, monday10)); !slices.Equal(got, []string{"default"}) {
		t.Errorf("device without own recipients: %v", got)
	}
	withDevice := append(all, core.Recipient{ID: 6, Level: core.LevelDevice, TargetID: 7, Target: "device", Hours: core.HoursAlways})
	if got := targets(Recipients(withDevice, dev, oh, monday20)); !slices.Equal(got, []string{"device"}) {
		t.Errorf("device level overrides: %v", got)
	}
}

func TestRender(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	f := Facts{Kind: notify.KindOutage, Device: core.Device{ID: 42, Hostname: "srv-dc01", ClientName: "Bäckerei Müller GmbH",
		SiteName: "Filiale Nord"}, Check: "disk", Key: "C:", Status: core.StatusFailure, Value: ptr(96.25), Unit: "%",
		Message: core.Text{EN: "C: is 96.3% full", DE: "C: ist zu 96,3 % voll"}, At: t0, ServerURL: "https://rmm.example.de/",
		Location: berlin}
	de := Render(f, "de")
	en := Render(f, "en")
	for _, want := range []string{"STÖRUNG: disk C: auf srv-dc01 (Bäckerei Müller GmbH / Filiale Nord)"} {
		if !strings.Contains(de.Subject, want) {
			t.Errorf("German subject %q lacks %q", de.Subject, want)
		}
	}
	for _, want := range []string{"Kunde:", "Bäckerei Müller GmbH", "Standort:", "Filiale Nord", "Gerät:", "srv-dc01",
		"Prüfung:", "disk C:", "Wert:", "96,25 %", "C: ist zu 96,3 % voll", "16.03.2026 10:00:00 CET",
		"https://rmm.example.de/devices/42"} {
		if !strings.Contains(de.Text, want) {
			t.Errorf("German text lacks %q:\n%s", want, de.Text)
		}
	}
	if !strings.Contains(en.Subject, "FAILURE: disk C: on srv-dc01") {
		t.Errorf("English subject %q", en.Subject)
	}
	for _, want := range []string{"Customer:", "Value:", "96.25 %", "C: is 96.3% full", "2026-03-16 10:00:00 CET"} {
		if !strings.Contains(en.Text, want) {
			t.Errorf("English text lacks %q:\n%s", want, en.Text)
		}
	}
	if de.Event.DeviceID != 42 || de.Event.Link != "https://rmm.example.de/devices/42" || de.Event.Status != "failure" {
		t.Errorf("event = %+v", de.Event)
	}
	if got := FormatValue(3, "GB", "de"); got != "3 GB" {
		t.Errorf("FormatValue(3) = %q", got)
	}
}

func TestPolicyAlertAfter(t *testing.T) {
	calls := 0
	f := PolicyAlertAfter(func(_ context.Context, id int64) (map[string]json.RawMessage, error) {
		calls++
		if id == 2 {
			return nil, errors.New("no policy")
		}
		return map[string]json.RawMessage{"disk": json.RawMessage(`{"warn":80,"alert_after":3}`), "cpu": nil}, nil
	}, time.Minute)
	ctx := context.Background()
	if f(ctx, 1, "disk") != 3 || f(ctx, 1, "cpu") != 1 || f(ctx, 1, "unknown") != 1 || f(ctx, 2, "disk") != 1 {
		t.Fatal("wrong alert_after")
	}
	if calls != 2 {
		t.Errorf("%d lookups, want 2 (one per device, cached)", calls)
	}
}

// TestRenderFix: an outage's automatic fix is in both languages' text and
// in the webhook event, at the office's local time.
func TestRenderFix(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	one := 1
	at := time.Date(2026, 3, 16, 2, 12, 0, 0, time.UTC) // 03:12 in Berlin
	f := Facts{Kind: notify.KindOutage, Device: core.Device{ID: 42, Hostname: "print-01"}, Check: "services", Status: core.StatusFailure,
		At: t0, Location: berlin, Fix: &core.Fix{Task: "Restart spooler", At: at, OK: true}}
	if de, en := Render(f, "de"), Render(f, "en"); !strings.Contains(de.Text, "Behebung:   Automatische Behebung um 03:12 (Restart spooler)") ||
		!strings.Contains(en.Text, "Fix:        Fixed automatically at 03:12 (Restart spooler)") || en.Event.Fix != "Fixed automatically at 03:12 (Restart spooler)" {
		t.Errorf("fixed:\n%s\n%s\n%+v", de.Text, en.Text, en.Event)
	}
	f.Fix = &core.Fix{Task: "Restart spooler", At: at, ExitCode: &one}
	if de, en := Render(f, "de"), Render(f, "en"); !strings.Contains(de.Text, "Behebung fehlgeschlagen: Exit-Code 1") ||
		!strings.Contains(en.Text, "Fix failed: exit 1") {
		t.Errorf("failed fix:\n%s\n%s", de.Text, en.Text)
	}
	f.Fix = nil
	if en := Render(f, "en"); strings.Contains(en.Text, "Fix:") {
		t.Errorf("no fix, but:\n%s", en.Text)
	}
}
