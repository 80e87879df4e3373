package patch

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

var now = time.Date(2026, 6, 10, 11, 0, 0, 0, time.UTC)

func ago(days int) time.Time { return now.Add(-time.Duration(days)*24*time.Hour - time.Hour) }

func wu(kb, class, sev string, firstSeen time.Time) core.MissingUpdate {
	id := "id-" + kb
	return core.MissingUpdate{Update: core.Update{Key: core.UpdateKey(core.SourceWindowsUpdate, id, "200"), Source: core.SourceWindowsUpdate,
		ID: id, Title: "Update " + kb, KB: kb, Classification: class, Severity: sev}, FirstSeen: firstSeen}
}

var okSources = []core.PatchSourceStatus{{Source: core.SourceWindowsUpdate, Status: core.ScanOK}, {Source: core.SourceWinget, Status: core.ScanUnsupported}}

func TestVerify(t *testing.T) {
	failed := wu("KB5034441", core.ClassSecurity, core.SeverityImportant, ago(2))
	failed.Failures, failed.LastError = 1, &core.Text{EN: "0x80070643: fatal error during installation", DE: "0x80070643: schwerwiegender Fehler bei der Installation"}
	stuck := wu("KB5000001", core.ClassUpdate, core.SeverityImportant, ago(5))
	stuck.Failures, stuck.Stuck, stuck.LastError = 3, true, &core.Text{EN: "0x80240022", DE: "0x80240022"}
	feature := wu("KB5000002", core.ClassFeature, "", ago(40))
	excluded := wu("KB5000003", core.ClassCritical, core.SeverityCritical, ago(60))
	declined := wu("KB5000004", core.ClassSecurity, core.SeverityCritical, ago(60))
	manual := wu("KB5000005", core.ClassDriver, "", ago(31))
	eol := FindEOL([]core.Program{{Name: "Adobe Flash Player 32 NPAPI", Version: "32.0.0.465", Source: core.SourceRegistry32, ID: "Adobe Flash Player NPAPI"}})[0]
	pol := core.PatchPolicy{Enabled: true, Exclusions: core.PatchExclusions{KBs: []string{"5000003"}}}
	decisions := map[string]bool{declined.Key: false, manual.Key: true}

	tests := []struct {
		name    string
		p       core.PatchPolicy
		missing []core.MissingUpdate
		reboot  core.RebootState
		sources []core.PatchSourceStatus
		status  core.Status
		value   float64
		en, de  string
	}{
		{name: "nothing missing", p: pol, sources: okSources, status: core.StatusOK,
			en: "all approved updates installed", de: "Alle freigegebenen Updates sind installiert"},
		{name: "only unapproved, excluded and declined", p: pol, sources: okSources, status: core.StatusOK,
			missing: []core.MissingUpdate{feature, excluded, declined},
			en:      "all approved updates installed, 1 awaiting approval, 1 declined, 1 excluded",
			de:      "Alle freigegebenen Updates sind installiert, 1 wartet auf Freigabe, 1 abgelehnt, 1 ausgeschlossen"},
		{name: "missing within the thresholds", p: pol, sources: okSources, status: core.StatusOK, value: 2,
			missing: []core.MissingUpdate{wu("KB1", core.ClassCritical, "", ago(12)), wu("KB2", core.ClassDefinition, "", ago(3))},
			en:      "2 missing (1 critical, oldest 12 days)", de: "2 fehlen (1 kritisch, ältestes seit 12 Tagen)"},
		{name: "critical over 14 days fails", p: pol, sources: okSources, status: core.StatusFailure, value: 1,
			missing: []core.MissingUpdate{wu("KB1", core.ClassSecurity, "", ago(15))},
			en:      "1 missing (1 critical, oldest 15 days), a critical or security update is missing for more than 14 days",
			de:      "1 fehlt (1 kritisch, ältestes seit 15 Tagen), ein kritisches oder Sicherheitsupdate fehlt seit mehr als 14 Tagen"},
		{name: "custom critical threshold", p: core.PatchPolicy{Thresholds: core.PatchThresholds{CriticalDays: 20}}, sources: okSources, status: core.StatusOK, value: 1,
			missing: []core.MissingUpdate{wu("KB1", core.ClassSecurity, "", ago(15))},
			en:      "1 missing (1 critical, oldest 15 days)", de: "1 fehlt (1 kritisch, ältestes seit 15 Tagen)"},
		{name: "manual approval over 30 days fails", p: pol, sources: okSources, status: core.StatusFailure, value: 1,
			missing: []core.MissingUpdate{manual},
			en:      "1 missing (oldest 31 days), an approved update is missing for more than 30 days",
			de:      "1 fehlt (ältestes seit 31 Tagen), ein freigegebenes Update fehlt seit mehr als 30 Tagen"},
		{name: "failed, stuck, reboot", p: pol, sources: okSources, status: core.StatusFailure, value: 3,
			missing: []core.MissingUpdate{wu("KB1", core.ClassCritical, "", now), failed, stuck},
			reboot:  core.RebootState{Pending: true, Since: ago(2)},
			en:      "3 missing (3 critical, oldest 5 days), 1 stuck after 3 failures (KB5000001: 0x80240022), 1 failed (KB5034441: 0x80070643), reboot pending for 2 days",
			de:      "3 fehlen (3 kritisch, ältestes seit 5 Tagen), 1 hängt nach 3 Fehlschlägen (KB5000001: 0x80240022), 1 fehlgeschlagen (KB5034441: 0x80070643), Neustart ausstehend seit 2 Tagen"},
		{name: "a failed attempt warns", p: pol, sources: okSources, status: core.StatusWarning, value: 1,
			missing: []core.MissingUpdate{failed},
			en:      "1 missing (1 critical, oldest 2 days), 1 failed (KB5034441: 0x80070643)",
			de:      "1 fehlt (1 kritisch, ältestes seit 2 Tagen), 1 fehlgeschlagen (KB5034441: 0x80070643)"},
		{name: "reboot pending over 3 days warns", p: pol, sources: okSources, status: core.StatusWarning,
			reboot: core.RebootState{Pending: true, Since: ago(4)},
			en:     "all approved updates installed, reboot pending for 4 days", de: "Alle freigegebenen Updates sind installiert, Neustart ausstehend seit 4 Tagen"},
		{name: "reboot pending today is ok", p: pol, sources: okSources, status: core.StatusOK,
			reboot: core.RebootState{Pending: true, Since: now.Add(-time.Hour)},
			en:     "all approved updates installed, reboot pending since today", de: "Alle freigegebenen Updates sind installiert, Neustart ausstehend seit heute"},
		{name: "unreadable reboot state warns", p: pol, sources: okSources, status: core.StatusWarning,
			reboot: core.RebootState{Error: "reading CBS key: access denied"},
			en:     "all approved updates installed, restart state unknown: reading CBS key: access denied",
			de:     "Alle freigegebenen Updates sind installiert, Neustart-Status unbekannt: reading CBS key: access denied"},
		{name: "end-of-life software warns", p: pol, sources: okSources, status: core.StatusWarning,
			missing: []core.MissingUpdate{{Update: eol, FirstSeen: ago(1)}},
			en:      "all approved updates installed, 1 program no longer supported by the vendor (Adobe Flash Player): remove it",
			de:      "Alle freigegebenen Updates sind installiert, 1 Programm ohne Herstellerunterstützung (Adobe Flash Player): entfernen"},
		{name: "no scan yet", p: pol, status: core.StatusError,
			en: "no update source has been scanned successfully yet", de: "noch keine Update-Quelle wurde erfolgreich durchsucht"},
		{name: "no source here", p: pol, status: core.StatusError,
			sources: []core.PatchSourceStatus{{Source: core.SourceWinget, Status: core.ScanUnsupported, Message: core.Text{EN: "winget is not installed", DE: "winget ist nicht installiert"}},
				{Source: core.SourceChoco, Status: core.ScanDisabled}},
			en: "no update source can be scanned on this device: winget: winget is not installed; choco: turned off by the policy",
			de: "auf diesem Gerät kann keine Update-Quelle durchsucht werden: winget: winget ist nicht installiert; choco: von der Richtlinie abgeschaltet"},
		{name: "the only source failed: error, never ok", p: pol, status: core.StatusError,
			sources: []core.PatchSourceStatus{{Source: core.SourceWindowsUpdate, Status: core.ScanError,
				Message: core.Text{EN: "0x8024402C: the server could not be reached", DE: "0x8024402C: der Server war nicht erreichbar"}}},
			en: "no update source could be scanned: windows-update: 0x8024402C: the server could not be reached",
			de: "keine Update-Quelle konnte durchsucht werden: windows-update: 0x8024402C: der Server war nicht erreichbar"},
		{name: "one of two sources failed warns", p: pol, status: core.StatusWarning,
			sources: []core.PatchSourceStatus{{Source: core.SourceWindowsUpdate, Status: core.ScanOK},
				{Source: core.SourceWinget, Status: core.ScanError, Message: core.Text{EN: "winget exited 1", DE: "winget endete mit 1"}}},
			en: "all approved updates installed, scan failed: winget: winget exited 1",
			de: "Alle freigegebenen Updates sind installiert, Suche fehlgeschlagen: winget: winget endete mit 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Verify(tt.p, decisions, tt.missing, tt.reboot, tt.sources, now)
			if got.Status != tt.status || got.Value != tt.value {
				t.Errorf("status %v value %v; want %v %v (%s)", got.Status, got.Value, tt.status, tt.value, got.Message.EN)
			}
			if got.Message.EN != tt.en {
				t.Errorf("EN\n got %q\nwant %q", got.Message.EN, tt.en)
			}
			if got.Message.DE != tt.de {
				t.Errorf("DE\n got %q\nwant %q", got.Message.DE, tt.de)
			}
		})
	}
}

func TestFailureNameLongError(t *testing.T) {
	u := core.Update{ID: "Mozilla.Firefox", Title: "Mozilla Firefox"}
	got := failureName(u, &core.Text{EN: "the installer exited with code 1603 because another installation is in progress right now"}, "en")
	if !strings.HasPrefix(got, "Mozilla.Firefox: the installer exited") || !strings.HasSuffix(got, "…") {
		t.Errorf("failureName = %q", got)
	}
}

func TestDefaults(t *testing.T) {
	d := Defaults(core.PatchPolicy{})
	if d.ScanAt != DefaultScanAt || d.Schedule.At != DefaultInstallAt || d.Schedule.WindowMinutes != 180 || d.Schedule.MaxLatenessHours != 48 ||
		d.Reboot.Mode != core.RebootModeWindow || d.Reboot.Deferrals != 3 || d.Reboot.DeadlineHours != 24 ||
		d.Thresholds != (core.PatchThresholds{CriticalDays: 14, MaxWaitDays: 30, RebootDays: 3}) || d.MaxFailures != 3 {
		t.Errorf("Defaults = %+v", d)
	}
	if err := Validate(d); err != nil {
		t.Errorf("the defaults do not validate: %v", err)
	}
	if again := Defaults(d); !equalPolicy(again, d) {
		t.Errorf("Defaults is not idempotent: %+v", again)
	}
	if m := Defaults(core.PatchPolicy{Schedule: core.PatchSchedule{Maintenance: true}}); m.Schedule.At != "" {
		t.Errorf("maintenance-only schedule got a time %q", m.Schedule.At)
	}
	set := core.PatchPolicy{ScanAt: "07:15", Reboot: core.PatchReboot{Mode: core.RebootModeNever}, MaxFailures: 5, Schedule: core.PatchSchedule{At: "22:00"}}
	if s := Defaults(set); s.ScanAt != "07:15" || s.Reboot.Mode != core.RebootModeNever || s.MaxFailures != 5 || s.Schedule.At != "22:00" {
		t.Errorf("Defaults overwrote set fields: %+v", s)
	}
	if w := DefaultsFor(core.PatchPolicy{}, "workstation"); w.Reboot.Mode != core.RebootModeAsk {
		t.Errorf("workstation reboot mode %q, want ask", w.Reboot.Mode)
	}
	if s := DefaultsFor(core.PatchPolicy{}, "server"); s.Reboot.Mode != core.RebootModeWindow {
		t.Errorf("server reboot mode %q, want window", s.Reboot.Mode)
	}
	if w := DefaultsFor(core.PatchPolicy{Reboot: core.PatchReboot{Mode: core.RebootModeForce}}, "workstation"); w.Reboot.Mode != core.RebootModeForce {
		t.Errorf("DefaultsFor overwrote the mode: %q", w.Reboot.Mode)
	}
}

func equalPolicy(a, b core.PatchPolicy) bool {
	return a.ScanAt == b.ScanAt && len(a.AutoApprove) == len(b.AutoApprove) && a.Schedule.At == b.Schedule.At &&
		a.Schedule.WindowMinutes == b.Schedule.WindowMinutes && a.Reboot == b.Reboot && a.Thresholds == b.Thresholds && a.MaxFailures == b.MaxFailures
}

// The default rules approve what the issue says: critical and security of
// any severity, anything rated important or critical, not feature updates
// or drivers.
func TestDefaultApproval(t *testing.T) {
	p := Defaults(core.PatchPolicy{})
	tests := []struct {
		class, sev string
		want       string
	}{
		{core.ClassCritical, "", core.ApprovalAuto},
		{core.ClassSecurity, core.SeverityLow, core.ApprovalAuto},
		{core.ClassSecurity, "", core.ApprovalAuto},
		{core.ClassDefinition, "", core.ApprovalAuto},
		{core.ClassUpdate, core.SeverityImportant, core.ApprovalAuto},
		{core.ClassRollup, core.SeverityCritical, core.ApprovalAuto},
		{core.ClassApplication, core.SeverityImportant, core.ApprovalAuto},
		{core.ClassUpdate, core.SeverityModerate, core.ApprovalNone},
		{core.ClassUpdate, "", core.ApprovalNone},
		{core.ClassApplication, "", core.ApprovalNone},
		{core.ClassFeature, core.SeverityCritical, core.ApprovalNone},
		{core.ClassDriver, core.SeverityImportant, core.ApprovalNone},
		{core.ClassEOL, core.SeverityCritical, core.ApprovalNone},
	}
	for _, tt := range tests {
		u := core.Update{Key: "k", Classification: tt.class, Severity: tt.sev}
		if got := Approve(p, nil, u); got != tt.want {
			t.Errorf("%s/%s: %s, want %s", tt.class, tt.sev, got, tt.want)
		}
	}
	none := Defaults(core.PatchPolicy{AutoApprove: []core.PatchRule{{Classification: ClassNone}}})
	if got := Approve(none, nil, core.Update{Classification: core.ClassCritical, Severity: core.SeverityCritical}); got != core.ApprovalNone {
		t.Errorf("rule none approved a critical update: %s", got)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		p      core.PatchPolicy
		fields []string // refused fields, in order
		says   string   // part of the first English message
	}{
		{name: "zero", p: core.PatchPolicy{}},
		{name: "full", p: core.PatchPolicy{Enabled: true, Install: true, ScanAt: "23:59", DisabledSources: []string{"winget", "choco"},
			AutoApprove: []core.PatchRule{{Classification: "security"}, {MinSeverity: "important"}},
			Exclusions:  core.PatchExclusions{KBs: []string{"KB5034441", "5034442"}, Packages: []string{"linux-image-amd64"}, Titles: []string{"*Preview*", "Feature update to Windows 11, version 2?H2"}},
			Schedule:    core.PatchSchedule{Weekdays: []int{0, 6}, At: "00:00", WindowMinutes: 1440, Maintenance: true, MaxLatenessHours: 336},
			Reboot:      core.PatchReboot{Mode: "ask", Deferrals: 10, DeadlineHours: 72, ForceAfterDays: 7},
			Thresholds:  core.PatchThresholds{CriticalDays: 7, MaxWaitDays: 60, RebootDays: 1}, MaxFailures: 5}},
		{name: "scan time", p: core.PatchPolicy{ScanAt: "24:00"}, fields: []string{"scan_at"}, says: "HH:MM"},
		{name: "scan time format", p: core.PatchPolicy{ScanAt: "3:00"}, fields: []string{"scan_at"}},
		{name: "source", p: core.PatchPolicy{DisabledSources: []string{"eol", "yum"}}, fields: []string{"disabled_sources[0]", "disabled_sources[1]"}, says: "valid: windows-update, winget"},
		{name: "classification", p: core.PatchPolicy{AutoApprove: []core.PatchRule{{Classification: "Security Updates"}}}, fields: []string{"auto_approve[0].classification"}, says: "valid: empty for any, critical, security"},
		{name: "eol rule", p: core.PatchPolicy{AutoApprove: []core.PatchRule{{Classification: core.ClassEOL}}}, fields: []string{"auto_approve[0].classification"}, says: "removed"},
		{name: "none with others", p: core.PatchPolicy{AutoApprove: []core.PatchRule{{Classification: ClassNone}, {Classification: "critical"}}}, fields: []string{"auto_approve[0].classification"}},
		{name: "severity", p: core.PatchPolicy{AutoApprove: []core.PatchRule{{MinSeverity: "high"}}}, fields: []string{"auto_approve[0].min_severity"}, says: "valid: empty for any, critical, important, moderate, low"},
		{name: "too many rules", p: core.PatchPolicy{AutoApprove: make([]core.PatchRule, MaxRules+1)}, fields: []string{"auto_approve"}},
		{name: "kb", p: core.PatchPolicy{Exclusions: core.PatchExclusions{KBs: []string{"KB50344X1", " "}}}, fields: []string{"exclusions.kbs[0]", "exclusions.kbs[1]"}, says: "not a KB number"},
		{name: "pattern", p: core.PatchPolicy{Exclusions: core.PatchExclusions{Titles: []string{"[Preview"}}}, fields: []string{"exclusions.titles[0]"}, says: "not a valid pattern"},
		{name: "package too long", p: core.PatchPolicy{Exclusions: core.PatchExclusions{Packages: []string{strings.Repeat("a", MaxExclusionLen+1)}}}, fields: []string{"exclusions.packages[0]"}},
		{name: "weekdays", p: core.PatchPolicy{Schedule: core.PatchSchedule{Weekdays: []int{7, -1}}}, fields: []string{"schedule.weekdays[0]", "schedule.weekdays[1]"}, says: "0 (Sunday) to 6 (Saturday)"},
		{name: "install time", p: core.PatchPolicy{Schedule: core.PatchSchedule{At: "03:60"}}, fields: []string{"schedule.at"}},
		{name: "window", p: core.PatchPolicy{Schedule: core.PatchSchedule{WindowMinutes: 10}}, fields: []string{"schedule.window_minutes"}, says: "between 15 and 1440 minutes"},
		{name: "lateness", p: core.PatchPolicy{Schedule: core.PatchSchedule{MaxLatenessHours: -1}}, fields: []string{"schedule.max_lateness_hours"}},
		{name: "reboot mode", p: core.PatchPolicy{Reboot: core.PatchReboot{Mode: "later"}}, fields: []string{"reboot.mode"}, says: "valid: never, window, ask, force"},
		{name: "never but forced", p: core.PatchPolicy{Reboot: core.PatchReboot{Mode: "never", ForceAfterDays: 3}}, fields: []string{"reboot.force_after_days"}},
		{name: "bounds", p: core.PatchPolicy{Reboot: core.PatchReboot{Deferrals: 11, DeadlineHours: 337, ForceAfterDays: 91},
			Thresholds: core.PatchThresholds{CriticalDays: 366, MaxWaitDays: -1, RebootDays: 91}, MaxFailures: 21},
			fields: []string{"reboot.deferrals", "reboot.deadline_hours", "reboot.force_after_days", "thresholds.critical_days", "thresholds.max_wait_days", "thresholds.reboot_days", "max_failures"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Validate(tt.p)
			if len(tt.fields) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, core.ErrInvalid) {
				t.Fatalf("Validate = %v, want a *ValidationError wrapping ErrInvalid", err)
			}
			var got []string
			for _, f := range ve.Fields {
				got = append(got, f.Field)
				if f.Message.EN == "" || f.Message.DE == "" || f.Message.EN == f.Message.DE {
					t.Errorf("%s: message not in both languages: %+v", f.Field, f.Message)
				}
			}
			if strings.Join(got, " ") != strings.Join(tt.fields, " ") {
				t.Errorf("refused %v, want %v (%v)", got, tt.fields, err)
			}
			if !strings.Contains(ve.Fields[0].Message.EN, tt.says) {
				t.Errorf("message %q does not say %q", ve.Fields[0].Message.EN, tt.says)
			}
		})
	}
}
