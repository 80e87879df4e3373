package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Source says where an effective check entry comes from.
type Source struct {
	Level      string `json:"level"` // core.Level*
	TargetID   int64  `json:"target_id,omitempty"`
	PolicyID   int64  `json:"policy_id"`
	PolicyName string `json:"policy_name"`
}

// Entry is one check of a device's effective set, with its schedule
// defaults filled in.
type Entry struct {
	core.PolicyCheck
	Source Source `json:"source"` // the layer the entry was last defined in
	// Overrides is the source of the entry it replaced, if any.
	Overrides *Source `json:"overrides,omitempty"`
}

// Excluded records an inherited check that a later layer removed.
type Excluded struct {
	Name string `json:"name"`
	From Source `json:"from"` // where it was defined
	By   Source `json:"by"`   // the layer that excluded it
}

// Effective is the resolved set of one device.
type Effective struct {
	Checks   []Entry    `json:"checks"`
	Excluded []Excluded `json:"excluded,omitempty"`
	// Revision identifies the content the agent receives (a hash).
	Revision string `json:"revision"`
}

// Layer is one policy at one level, in inheritance order.
type Layer struct {
	Level    string
	TargetID int64
	Policy   core.Policy
}

// Resolve walks the layers in order (default → client → site → device, and
// by position within a level): an entry with a new name adds a check, an
// entry with an inherited name replaces it (type, parameters and schedule:
// an override), an excluding entry removes it. Schedules left empty get the
// defaults for role.
func Resolve(role string, layers []Layer) Effective {
	var out Effective
	idx := map[string]int{} // name → index in out.Checks
	for _, l := range layers {
		src := Source{Level: l.Level, TargetID: l.TargetID, PolicyID: l.Policy.ID, PolicyName: l.Policy.Name}
		for _, c := range l.Policy.Checks {
			i, inherited := idx[c.Name]
			if c.Exclude {
				if inherited {
					out.Excluded = append(out.Excluded, Excluded{Name: c.Name, From: out.Checks[i].Source, By: src})
					out.Checks = append(out.Checks[:i], out.Checks[i+1:]...)
					delete(idx, c.Name)
					for n, j := range idx {
						if j > i {
							idx[n] = j - 1
						}
					}
				}
				continue
			}
			e := Entry{PolicyCheck: c, Source: src}
			e.Schedule = withDefaults(c.Schedule, role)
			if inherited {
				prev := out.Checks[i].Source
				e.Overrides = &prev
				out.Checks[i] = e
				continue
			}
			idx[c.Name] = len(out.Checks)
			out.Checks = append(out.Checks, e)
		}
	}
	out.Revision = Revision(out.AgentChecks())
	return out
}

// AgentChecks is the effective set as the agent receives it.
func (e Effective) AgentChecks() []core.PolicyCheck {
	out := make([]core.PolicyCheck, len(e.Checks))
	for i, c := range e.Checks {
		out[i] = c.PolicyCheck
		out[i].Exclude = false
	}
	return out
}

// Revision is a hash of the checks an agent runs: equal sets, equal
// revisions, so the server pushes only changes.
func Revision(cs []core.PolicyCheck) string {
	b, _ := json.Marshal(cs) // plain data: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// IsServer reports whether role gets the server defaults.
func IsServer(role string) bool { return role == "server" }

func withDefaults(s core.Schedule, role string) core.Schedule {
	switch s.Class {
	case core.ScheduleDaily:
		s.EveryMinutes = 0
		if s.At == "" {
			s.At = DefaultAtWorkstation
			if IsServer(role) {
				s.At = DefaultAtServer
			}
		}
	default:
		s.Class, s.At = core.Schedule24x7, ""
		if s.EveryMinutes == 0 {
			s.EveryMinutes = DefaultEveryMinutes
		}
	}
	return s
}

// Store is what Effective reads.
type Store interface {
	GetDevice(ctx context.Context, id int64) (core.Device, error)
	GetPolicy(ctx context.Context, id int64) (core.Policy, error)
	ListAssignments(ctx context.Context, level string, targetID int64) ([]core.PolicyAssignment, error)
}

// Layers collects the layers of a device: the built-in template of its
// role (with its stored ID, if seeded), then the policies assigned at the
// default level, its client, its site and the device itself.
func Layers(ctx context.Context, st Store, d core.Device, builtinIDs map[string]int64) ([]Layer, error) {
	tpl := TemplateFor(d.Role)
	tpl.ID = builtinIDs[tpl.Builtin]
	layers := []Layer{{Level: core.LevelDefault, Policy: tpl}}
	for _, t := range []struct {
		level string
		id    int64
	}{{core.LevelDefault, 0}, {core.LevelClient, d.ClientID}, {core.LevelSite, d.SiteID}, {core.LevelDevice, d.ID}} {
		as, err := st.ListAssignments(ctx, t.level, t.id)
		if err != nil {
			return nil, fmt.Errorf("listing %s policies: %w", t.level, err)
		}
		for _, a := range as {
			p, err := st.GetPolicy(ctx, a.PolicyID)
			if err != nil {
				return nil, fmt.Errorf("reading policy %d: %w", a.PolicyID, err)
			}
			if p.Builtin != "" {
				// A stored template is refreshed from code at start; use
				// the code's version, the same as the role default.
				id := p.ID
				p = Template(p.Builtin)
				p.ID = id
			}
			layers = append(layers, Layer{Level: t.level, TargetID: t.id, Policy: p})
		}
	}
	return layers, nil
}

// EffectiveFor resolves the effective set of device id.
func EffectiveFor(ctx context.Context, st Store, id int64, builtinIDs map[string]int64) (core.Device, Effective, error) {
	d, err := st.GetDevice(ctx, id)
	if err != nil {
		return d, Effective{}, fmt.Errorf("getting device %d: %w", id, err)
	}
	layers, err := Layers(ctx, st, d, builtinIDs)
	if err != nil {
		return d, Effective{}, err
	}
	return d, Resolve(d.Role, layers), nil
}
