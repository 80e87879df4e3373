package patch

import "github.com/wacht-rmm/wacht/internal/core"

// Defaults of a patch policy, chosen for devices that are off at night:
//
//   - the daily scan runs at 11:00 device time, when workstations are on
//     (servers are on anyway); a device that was off at 11:00 scans at its
//     next start, so the scan also happens "at start + daily";
//   - updates install every day at 03:00 for 180 minutes; a device that
//     was off or offline then installs at its next start if the window
//     began at most 48 hours ago (MaxLatenessHours), so workstations
//     switched off at night install in the morning;
//   - restart at the end of the window if an update needs it; a
//     workstation (DefaultsFor with a role other than "server") instead
//     asks its logged-on user, who may postpone 3 times, and is restarted
//     24 hours after the first question at the latest, because its "late"
//     window runs while someone works on it;
//   - approved automatically: critical and security updates of any
//     severity, definition updates (antivirus signatures), and any other
//     classification rated at least important, except feature updates
//     (upgrades) and drivers, which need a technician;
//   - the verification fails for an approved critical or security update
//     missing 14 days, any approved update missing 30 days, and warns for
//     a restart pending 3 days; an update that failed 3 times is stuck.
const (
	DefaultScanAt           = "11:00"
	DefaultInstallAt        = "03:00"
	DefaultWindowMinutes    = 180
	DefaultMaxLatenessHours = 48
	DefaultRebootMode       = core.RebootModeWindow
	DefaultDeferrals        = 3
	DefaultDeadlineHours    = 24
	DefaultCriticalDays     = 14
	DefaultMaxWaitDays      = 30
	DefaultRebootDays       = 3
	DefaultMaxFailures      = 3
)

// ClassNone in an auto-approval rule matches no update: a policy whose only
// rule is {classification: "none"} approves nothing automatically (an
// empty rule list takes the default rules).
const ClassNone = "none"

// DefaultAutoApprove are the default approval rules.
func DefaultAutoApprove() []core.PatchRule {
	rs := []core.PatchRule{
		{Classification: core.ClassCritical},
		{Classification: core.ClassSecurity},
		{Classification: core.ClassDefinition},
	}
	for _, c := range []string{core.ClassRollup, core.ClassServicePack, core.ClassUpdate, core.ClassApplication, core.ClassTool} {
		rs = append(rs, core.PatchRule{Classification: c, MinSeverity: core.SeverityImportant})
	}
	return rs
}

// Defaults returns p with its zero fields set to the defaults above
// (Enabled, Install, exclusions and disabled sources are left as they
// are). Schedule.At stays empty when the schedule uses maintenance windows
// only (Maintenance set, no time). It is idempotent.
func Defaults(p core.PatchPolicy) core.PatchPolicy {
	if p.ScanAt == "" {
		p.ScanAt = DefaultScanAt
	}
	if len(p.AutoApprove) == 0 {
		p.AutoApprove = DefaultAutoApprove()
	}
	s := &p.Schedule
	if s.At == "" && !s.Maintenance {
		s.At = DefaultInstallAt
	}
	if s.WindowMinutes == 0 {
		s.WindowMinutes = DefaultWindowMinutes
	}
	if s.MaxLatenessHours == 0 {
		s.MaxLatenessHours = DefaultMaxLatenessHours
	}
	r := &p.Reboot
	if r.Mode == "" {
		r.Mode = DefaultRebootMode
	}
	if r.Deferrals == 0 {
		r.Deferrals = DefaultDeferrals
	}
	if r.DeadlineHours == 0 {
		r.DeadlineHours = DefaultDeadlineHours
	}
	t := &p.Thresholds
	if t.CriticalDays == 0 {
		t.CriticalDays = DefaultCriticalDays
	}
	if t.MaxWaitDays == 0 {
		t.MaxWaitDays = DefaultMaxWaitDays
	}
	if t.RebootDays == 0 {
		t.RebootDays = DefaultRebootDays
	}
	if p.MaxFailures == 0 {
		p.MaxFailures = DefaultMaxFailures
	}
	return p
}

// DefaultsFor is Defaults for a device of role (core.Device.Role): a
// device that is not a server asks its user before a restart unless the
// policy chose a reboot mode.
func DefaultsFor(p core.PatchPolicy, role string) core.PatchPolicy {
	if role != "server" && p.Reboot.Mode == "" {
		p.Reboot.Mode = core.RebootModeAsk
	}
	return Defaults(p)
}
