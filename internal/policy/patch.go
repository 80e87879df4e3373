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
// the settings with empty Decisions and Windows — the gateway fills those
// (gateway.PatchPolicies) and extends the revision.
func AgentPatch(e *PatchEntry) *protocol.PatchPolicy {
	if e == nil || !e.Enabled {
		return nil
	}
	return &protocol.PatchPolicy{PatchPolicy: clonePatch(e.PatchPolicy)}
}

// DevicePatchPolicy is device d's effective patch policy with the
// defaults of its role, nil when patch management is off for it. It reads
// the policy layers alone (builtinIDs from Resolver.Seed only name the
// template): patch settings need no scripts or packages embedded, and
// compliance judges every device of a client.
func DevicePatchPolicy(ctx context.Context, st Store, d core.Device, builtinIDs map[string]int64) (*core.PatchPolicy, error) {
	layers, err := Layers(ctx, st, d, builtinIDs)
	if err != nil {
		return nil, fmt.Errorf("resolving the policy of device %d: %w", d.ID, err)
	}
	e := resolvePatch(d.Role, layers)
	if e == nil || !e.Enabled {
		return nil, nil
	}
	return &e.PatchPolicy, nil
}

// PatchReader reads a device's missing updates.
type PatchReader interface {
	DevicePatches(ctx context.Context, deviceID int64) ([]core.DevicePatch, error)
}

// JudgePatches lists what d misses, each with its approval under pp (nil:
// no patch policy, so only the technicians' decisions count) and the
// decisions of as (its client's and the fleet-wide ones), and returns
// those decisions by key. The dashboard, the compliance figures and the
// reports all judge through it.
func JudgePatches(ctx context.Context, st PatchReader, d core.Device, pp *core.PatchPolicy, as []core.PatchApproval) ([]core.DevicePatch, map[string]bool, error) {
	missing, err := st.DevicePatches(ctx, d.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the missing updates of device %d: %w", d.ID, err)
	}
	if missing == nil {
		missing = []core.DevicePatch{}
	}
	decisions := patch.Decisions(as, d.ClientID, missing)
	var p core.PatchPolicy
	if pp != nil {
		p = *pp
	}
	for i := range missing {
		missing[i].Approval = patch.Approve(p, decisions, missing[i].Update)
	}
	return missing, decisions, nil
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
