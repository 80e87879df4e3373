package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Source says where an effective check, task or software entry comes from.
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
	// Broken says why a script check is not sent to the agent (Resolver).
	Broken *core.Text `json:"broken,omitempty"`
}

// TaskEntry is one automated task of a device's effective set. Its
// secret parameters are never shown: their values are empty.
type TaskEntry struct {
	core.PolicyTask
	Source    Source  `json:"source"`
	Overrides *Source `json:"overrides,omitempty"`
	// ScriptName names the script the task runs (Resolver).
	ScriptName string `json:"script_name,omitempty"`
	// Broken says why the task is not sent to the agent (Resolver): its
	// script was deleted, or a MAC does not match.
	Broken *core.Text `json:"broken,omitempty"`
}

// Excluded records an inherited check, task or software entry that a
// later layer removed.
type Excluded struct {
	Name string `json:"name"`
	From Source `json:"from"` // where it was defined
	By   Source `json:"by"`   // the layer that excluded it
}

// Effective is the resolved set of one device.
type Effective struct {
	Checks        []Entry     `json:"checks"`
	Excluded      []Excluded  `json:"excluded,omitempty"`
	Tasks         []TaskEntry `json:"tasks"`
	ExcludedTasks []Excluded  `json:"excluded_tasks,omitempty"`
	// Software are the desired software states, merged by package; an
	// excluded one is named by its check name (core.SoftwareCheckName).
	Software         []SoftwareEntry `json:"software"`
	ExcludedSoftware []Excluded      `json:"excluded_software,omitempty"`
	// Patch is the patch policy (issue 19) of the most specific policy
	// that has one, with the defaults filled in; nil if none has.
	Patch *PatchEntry `json:"patch,omitempty"`
	// Layers are the policies the set was resolved from, in inheritance
	// order (the role's template first), so that a page can say what a
	// device inherits even from a policy whose entries were all replaced.
	Layers []Source `json:"layers"`
	// Revision identifies the content the agent receives (a hash).
	Revision string `json:"revision"`

	// agent is what the agent receives, once the Resolver embedded the
	// scripts; nil from Resolve alone.
	agent *protocol.Policy
}

// Layer is one policy at one level, in inheritance order.
type Layer struct {
	Level    string
	TargetID int64
	Policy   core.Policy
}

// byName merges entries by name across layers: a new name adds an entry,
// an inherited name replaces it (an override), an exclusion removes it.
type byName[E any] struct {
	list     []E
	idx      map[string]int // name → index in list
	excluded []Excluded
	source   func(E) Source
}

// apply applies one layer's entry; entry builds it, given the source of
// the entry it overrides.
func (n *byName[E]) apply(name string, exclude bool, src Source, entry func(overrides *Source) E) {
	i, inherited := n.idx[name]
	switch {
	case exclude && inherited:
		n.excluded = append(n.excluded, Excluded{Name: name, From: n.source(n.list[i]), By: src})
		n.list = append(n.list[:i], n.list[i+1:]...)
		delete(n.idx, name)
		for k, j := range n.idx {
			if j > i {
				n.idx[k] = j - 1
			}
		}
	case exclude:
	case inherited:
		prev := n.source(n.list[i])
		n.list[i] = entry(&prev)
	default:
		n.idx[name] = len(n.list)
		n.list = append(n.list, entry(nil))
	}
}

// Resolve walks the layers in order (default → client → site → device, and
// by position within a level): an entry with a new name adds a check or
// task, an entry with an inherited name replaces it (an override), an
// excluding entry removes it. Schedules left empty get the defaults for
// role.
func Resolve(role string, layers []Layer) Effective {
	checks := byName[Entry]{idx: map[string]int{}, source: func(e Entry) Source { return e.Source }}
	tasks := byName[TaskEntry]{idx: map[string]int{}, source: func(e TaskEntry) Source { return e.Source }}
	software := byName[SoftwareEntry]{idx: map[string]int{}, source: func(e SoftwareEntry) Source { return e.Source }}
	sources := make([]Source, 0, len(layers))
	for _, l := range layers {
		src := Source{Level: l.Level, TargetID: l.TargetID, PolicyID: l.Policy.ID, PolicyName: l.Policy.Name}
		sources = append(sources, src)
		for _, c := range l.Policy.Checks {
			checks.apply(c.Name, c.Exclude, src, func(over *Source) Entry {
				e := Entry{PolicyCheck: c, Source: src, Overrides: over}
				e.Schedule = withDefaults(c.Schedule, role)
				return e
			})
		}
		for _, t := range l.Policy.Tasks {
			tasks.apply(t.Name, t.Exclude, src, func(over *Source) TaskEntry {
				return TaskEntry{PolicyTask: t, Source: src, Overrides: over}
			})
		}
		for _, sw := range l.Policy.Software {
			software.apply(softwareKey(sw), sw.Exclude, src, func(over *Source) SoftwareEntry {
				return SoftwareEntry{PolicySoftware: sw, Check: softwareKey(sw), Source: src, Overrides: over}
			})
		}
	}
	out := Effective{Checks: checks.list, Excluded: checks.excluded, Tasks: tasks.list, ExcludedTasks: tasks.excluded,
		Software: software.list, ExcludedSoftware: software.excluded, Layers: sources}
	if out.Tasks == nil {
		out.Tasks = []TaskEntry{}
	}
	if out.Software == nil {
		out.Software = []SoftwareEntry{}
	}
	out.Patch = resolvePatch(role, layers)
	out.Revision = AgentRevision(protocol.Policy{Checks: out.AgentChecks(), Patch: AgentPatch(out.Patch)})
	return out
}

// AgentChecks is the effective set of checks as the agent receives it:
// the Resolver's (script checks with their scripts, broken ones left
// out), or, from Resolve alone, the entries as they are.
func (e Effective) AgentChecks() []core.PolicyCheck {
	if e.agent != nil {
		return e.agent.Checks
	}
	out := make([]core.PolicyCheck, len(e.Checks))
	for i, c := range e.Checks {
		out[i] = c.PolicyCheck
		out[i].Exclude = false
	}
	return out
}

// Revision is a hash of the checks, tasks and software an agent runs
// (with their scripts and packages inline): equal sets, equal revisions,
// so the server pushes only changes, and an edited script or package is
// pushed again.
func Revision(cs []core.PolicyCheck, ts []protocol.Task, sw []protocol.Software) string {
	return revision(cs, ts, sw, nil)
}

// revision hashes the checks, tasks and software as Revision does, and
// then the patch policy's JSON, if any (so that policies without one keep
// their revisions).
func revision(cs []core.PolicyCheck, ts []protocol.Task, sw []protocol.Software, patch []byte) string {
	b, _ := json.Marshal(cs) // plain data: cannot fail
	if len(ts) > 0 || len(sw) > 0 {
		t, _ := json.Marshal(ts)
		b = append(append(b, '\n'), t...)
	}
	if len(sw) > 0 {
		s, _ := json.Marshal(sw)
		b = append(append(b, '\n'), s...)
	}
	if patch != nil {
		b = append(append(b, "\npatch\n"...), patch...)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}

// AgentRevision is the revision of an agent's policy message: Revision of
// its checks, tasks and software, and of its patch policy with the
// decisions and windows the server added. Call it after changing p.
func AgentRevision(p protocol.Policy) string {
	if p.Patch == nil {
		return Revision(p.Checks, p.Tasks, p.Software)
	}
	b, _ := json.Marshal(p.Patch) // plain data: cannot fail
	return revision(p.Checks, p.Tasks, p.Software, b)
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
