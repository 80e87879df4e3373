package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/patch"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Patch settings of policies (issue 19). Unlike checks, tasks and
// software, they do not merge entry by entry: the most specific policy of
// a device that has patch settings (core.Policy.Patch not nil) decides
// them whole, and the effective set names it as their source. Editing
// them needs the role that edits policies (operate), not an
// administrator: they start no program of the technician's choosing —
// the agent installs only what its own update sources (Windows Update,
// winget, apt…) report missing, and only updates the approval rules or a
// technician's decision let through.

// PatchEntry is the effective patch policy of a device, with the defaults
// for its role filled in, and the policy it comes from.
type PatchEntry struct {
	core.PatchPolicy
	Source Source `json:"source"`
	// Overrides is the source of the less specific patch settings it
	// replaced, if any.
	Overrides *Source `json:"overrides,omitempty"`
}

// resolvePatch returns the patch settings of the last layer that has
// any, with the defaults of role; nil if no layer has.
func resolvePatch(role string, layers []Layer) *PatchEntry {
	var out *PatchEntry
	for _, l := range layers {
		if l.Policy.Patch == nil {
			continue
		}
		src := Source{Level: l.Level, TargetID: l.TargetID, PolicyID: l.Policy.ID, PolicyName: l.Policy.Name}
		e := &PatchEntry{PatchPolicy: patch.DefaultsFor(clonePatch(*l.Policy.Patch), role), Source: src}
		if out != nil {
			prev := out.Source
			e.Overrides = &prev
		}
		out = e
	}
	return out
}

// clonePatch copies p's slices, so that filling in defaults never writes
// into a stored policy.
func clonePatch(p core.PatchPolicy) core.PatchPolicy {
	p.DisabledSources = slices.Clone(p.DisabledSources)
	p.AutoApprove = slices.Clone(p.AutoApprove)
	p.Exclusions.KBs = slices.Clone(p.Exclusions.KBs)
	p.Exclusions.Packages = slices.Clone(p.Exclusions.Packages)
	p.Exclusions.Titles = slices.Clone(p.Exclusions.Titles)
	p.Schedule.Weekdays = slices.Clone(p.Schedule.Weekdays)
	return p
}

// AgentPatch is what the agent receives of an effective patch policy:
// nil when patch management is off (no settings, or not Enabled), else
// the settings with empty Decisions and Windows — the server's patch
// service fills those (Resolver.SetPatch) before the revision is computed.
func AgentPatch(e *PatchEntry) *protocol.PatchPolicy {
	if e == nil || !e.Enabled {
		return nil
	}
	return &protocol.PatchPolicy{PatchPolicy: clonePatch(e.PatchPolicy)}
}

// PatchHook completes a device's patch policy before it is sent: the
// technicians' decisions on the updates it misses (Decisions) and, with
// Schedule.Maintenance, its coming maintenance windows (Windows). An
// error fails the resolution (the store is down); nothing half-filled is
// sent.
type PatchHook func(ctx context.Context, d core.Device, p *protocol.PatchPolicy) error

// SetPatch gives r the hook that completes patch policies; call it before
// r is used. Without one, agents receive the settings with no decisions
// and no maintenance windows.
func (r *Resolver) SetPatch(h PatchHook) *Resolver {
	r.patch = h
	return r
}

// embedPatch adds the agent's patch policy of e to agent.
func (r *Resolver) embedPatch(ctx context.Context, d core.Device, e *Effective, agent *protocol.Policy) error {
	agent.Patch = AgentPatch(e.Patch)
	if agent.Patch == nil || r.patch == nil {
		return nil
	}
	if err := r.patch(ctx, d, agent.Patch); err != nil {
		return fmt.Errorf("completing the patch policy of device %d: %w", d.ID, err)
	}
	return nil
}

// normalizePatch trims the patch settings' strings, writes KB numbers as
// KB1234567, sorts the weekdays and drops duplicates and empty lists, so
// that what is stored is what was validated. A KB that is not one is kept
// as typed, for Validate to name.
func normalizePatch(p *core.PatchPolicy) {
	if p == nil {
		return
	}
	p.ScanAt = strings.TrimSpace(p.ScanAt)
	p.Schedule.At = strings.TrimSpace(p.Schedule.At)
	p.Reboot.Mode = strings.TrimSpace(p.Reboot.Mode)
	trim := func(l []string, f func(string) string) []string {
		var out []string
		for _, s := range l {
			s = strings.TrimSpace(s)
			if f != nil {
				s = f(s)
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
		return out
	}
	p.DisabledSources = trim(p.DisabledSources, nil)
	p.Exclusions.KBs = trim(p.Exclusions.KBs, func(s string) string {
		if kb := core.NormalizeKB(s); kb != "" {
			return kb
		}
		return s
	})
	p.Exclusions.Packages = trim(p.Exclusions.Packages, nil)
	p.Exclusions.Titles = trim(p.Exclusions.Titles, nil)
	for i := range p.AutoApprove {
		r := &p.AutoApprove[i]
		r.Classification, r.MinSeverity = strings.TrimSpace(r.Classification), strings.TrimSpace(r.MinSeverity)
	}
	if len(p.AutoApprove) == 0 {
		p.AutoApprove = nil
	}
	if len(p.Schedule.Weekdays) > 0 {
		p.Schedule.Weekdays = slices.Compact(slices.Sorted(slices.Values(p.Schedule.Weekdays)))
	} else {
		p.Schedule.Weekdays = nil
	}
}

// validatePatch adds the patch settings' refused fields, below "patch.".
func validatePatch(v *errs, p *core.PatchPolicy) {
	if p == nil {
		return
	}
	var ve *patch.ValidationError
	if err := patch.Validate(*p); errors.As(err, &ve) {
		for _, f := range ve.Fields {
			v.list = append(v.list, FieldError{Field: "patch." + f.Field, Message: f.Message})
		}
	}
}
