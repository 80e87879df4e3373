package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/patch"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// The server's part of a device's patch policy (issue 19): the resolver
// gives the settings (protocol.Policy.Patch); before the policy is signed
// PatchPolicies adds the technicians' decisions on the updates the device
// misses and, with Schedule.Maintenance, its maintenance windows of the
// coming WindowHorizon. The revision covers both, so a new decision or
// window reaches the agent with the next push (an approval calls
// PushPolicies; a patch report that brings a newly missing update with a
// decision pushes that device's policy again).

// WindowHorizon is how far ahead maintenance windows are sent.
const WindowHorizon = 14 * 24 * time.Hour

// maxPatchWindows bounds the windows sent (a daily window for 14 days is
// 15; several overlapping recurrences stay far below).
const maxPatchWindows = 200

// PatchPolicyStore is what PatchPolicies reads.
type PatchPolicyStore interface {
	GetDevice(ctx context.Context, id int64) (core.Device, error)
	DevicePatches(ctx context.Context, deviceID int64) ([]core.DevicePatch, error)
	PatchApprovals(ctx context.Context, clientID int64) ([]core.PatchApproval, error)
	ListMaintenance(ctx context.Context, f core.MaintenanceFilter) ([]core.Maintenance, error)
}

// PatchPolicies wraps a policy source (the resolver, or what wraps it) and
// completes each policy's patch part: Decisions and Windows.
type PatchPolicies struct {
	Base  PolicySource
	Store PatchPolicyStore
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// AgentPolicy implements PolicySource.
func (pp PatchPolicies) AgentPolicy(ctx context.Context, deviceID int64) (protocol.Policy, error) {
	p, err := pp.Base.AgentPolicy(ctx, deviceID)
	if err != nil || p.Patch == nil || !p.Patch.Enabled {
		return p, err
	}
	now := time.Now()
	if pp.Now != nil {
		now = pp.Now()
	}
	d, err := pp.Store.GetDevice(ctx, deviceID)
	if err != nil {
		return protocol.Policy{}, fmt.Errorf("reading device %d: %w", deviceID, err)
	}
	pat := *p.Patch
	pat.Decisions, err = deviceDecisions(ctx, pp.Store, d)
	if err != nil {
		return protocol.Policy{}, err
	}
	pat.Windows = nil
	if pat.Schedule.Maintenance {
		ms, err := pp.Store.ListMaintenance(ctx, core.MaintenanceFilter{DeviceID: deviceID})
		if err != nil {
			return protocol.Policy{}, fmt.Errorf("reading the maintenance windows of device %d: %w", deviceID, err)
		}
		// Windows that began up to the allowed lateness ago go too, with
		// their real start: a device that was off then installs at its
		// next start, and a push during a window does not move its start
		// (which would make the agent run it twice).
		late := time.Duration(patch.Defaults(pat.PatchPolicy).Schedule.MaxLatenessHours) * time.Hour
		pat.Windows = MaintenanceWindows(ms, d, now.Add(-late), now.Add(WindowHorizon))
	}
	p.Patch = &pat
	p.Revision = patchRevision(p.Revision, &pat)
	return p, nil
}

// patchRevision extends the resolver's revision by the decisions and
// windows, so that they change it.
func patchRevision(base string, p *protocol.PatchPolicy) string {
	b, _ := json.Marshal(struct {
		D map[string]bool       `json:"d,omitempty"`
		W []protocol.TimeWindow `json:"w,omitempty"`
	}{p.Decisions, p.Windows}) // plain data: cannot fail
	if len(p.Decisions) == 0 && len(p.Windows) == 0 {
		return base
	}
	sum := sha256.Sum256(append([]byte(base+"\n"), b...))
	return hex.EncodeToString(sum[:12])
}

// deviceDecisions returns the technicians' decisions on the updates d
// misses, by update key: d's client's decision, else the fleet-wide one.
// Nil when there are none.
func deviceDecisions(ctx context.Context, st PatchPolicyStore, d core.Device) (map[string]bool, error) {
	missing, err := st.DevicePatches(ctx, d.ID)
	if err != nil {
		return nil, fmt.Errorf("reading the missing updates of device %d: %w", d.ID, err)
	}
	if len(missing) == 0 {
		return nil, nil
	}
	as, err := st.PatchApprovals(ctx, d.ClientID)
	if err != nil {
		return nil, fmt.Errorf("reading the patch approvals of client %d: %w", d.ClientID, err)
	}
	return patch.Decisions(as, d.ClientID, missing), nil
}

// MaintenanceWindows returns the periods of the windows in ms that cover d
// and overlap [from, to), whole (maintenancePeriods), by start,
// overlapping periods merged.
func MaintenanceWindows(ms []core.Maintenance, d core.Device, from, to time.Time) []protocol.TimeWindow {
	var out []protocol.TimeWindow
	for _, m := range ms {
		if m.Covers(d) {
			out = append(out, maintenancePeriods(m, from, to)...)
		}
	}
	slices.SortFunc(out, func(a, b protocol.TimeWindow) int { return a.Start.Compare(b.Start) })
	merged := out[:0]
	for _, w := range out {
		if n := len(merged); n > 0 && !w.Start.After(merged[n-1].End) {
			if w.End.After(merged[n-1].End) {
				merged[n-1].End = w.End
			}
			continue
		}
		merged = append(merged, w)
	}
	if len(merged) > maxPatchWindows {
		merged = merged[:maxPatchWindows]
	}
	return merged
}

// maintenancePeriods expands one window into its periods overlapping
// [from, to), clipped only to the window's Start and Until: a period goes
// whole, so that the list (and with it the policy's revision) does not
// change with the clock between two pushes, and a running period keeps its
// real start (a moved start would make the agent run it twice). Periods
// follow the local wall clock of the window's time zone, as
// core.Maintenance.ActiveAt does; a window that does not parse has none.
func maintenancePeriods(m core.Maintenance, from, to time.Time) []protocol.TimeWindow {
	lo, hi := from, to
	if m.Start.After(lo) {
		lo = m.Start
	}
	if m.Until != nil && m.Until.Before(hi) {
		hi = *m.Until
	}
	clip := func(s, e time.Time) []protocol.TimeWindow {
		if s.Before(m.Start) {
			s = m.Start
		}
		if m.Until != nil && e.After(*m.Until) {
			e = *m.Until
		}
		if !s.Before(e) || !e.After(lo) || !s.Before(hi) {
			return nil
		}
		return []protocol.TimeWindow{{Start: s.UTC(), End: e.UTC()}}
	}
	if m.Repeat == core.RepeatOnce {
		if m.End == nil {
			return nil
		}
		return clip(m.Start, *m.End)
	}
	zone := m.TimeZone
	if zone == "" {
		zone = core.DefaultMaintenanceZone
	}
	loc, err := core.LoadZone(zone)
	if err != nil {
		return nil
	}
	fromM, err1 := core.ParseHM(m.From)
	toM, err2 := core.ParseHM(m.To)
	if err1 != nil || err2 != nil || !lo.Before(hi) {
		return nil
	}
	var out []protocol.TimeWindow
	// Start a day early: a period beginning yesterday may run overnight.
	first := lo.In(loc)
	y, mo, dd := first.Date()
	for day := time.Date(y, mo, dd-1, 0, 0, 0, 0, loc); day.Before(hi); {
		if onMaintenanceDay(m, day) {
			y, mo, dd := day.Date()
			s := time.Date(y, mo, dd, fromM/60, fromM%60, 0, 0, loc)
			e := time.Date(y, mo, dd, toM/60, toM%60, 0, 0, loc)
			if toM <= fromM {
				e = time.Date(y, mo, dd+1, toM/60, toM%60, 0, 0, loc)
			}
			out = append(out, clip(s, e)...)
		}
		y, mo, dd := day.Date()
		day = time.Date(y, mo, dd+1, 0, 0, 0, 0, loc)
	}
	return out
}

// onMaintenanceDay reports whether a recurring window has a period
// starting on day's local calendar day (core.Maintenance's rule).
func onMaintenanceDay(m core.Maintenance, day time.Time) bool {
	switch m.Repeat {
	case core.RepeatDaily:
		return true
	case core.RepeatWeekly:
		return slices.Contains(m.Weekdays, int(day.Weekday()))
	case core.RepeatMonthly:
		y, mo, _ := day.Date()
		last := time.Date(y, mo+1, 0, 12, 0, 0, 0, day.Location()).Day()
		return day.Day() == min(m.MonthDay, last)
	}
	return false
}
