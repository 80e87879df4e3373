package policy

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/patch"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestResolvePatch: the most specific policy with patch settings decides
// them whole (no field-wise merge), with its source and the one it
// overrides; the role's defaults fill the rest.
func TestResolvePatch(t *testing.T) {
	base := &core.PatchPolicy{Enabled: true, Install: true, Schedule: core.PatchSchedule{At: "02:00", Weekdays: []int{0}},
		Exclusions: core.PatchExclusions{KBs: []string{"KB5034441"}}}
	client := &core.PatchPolicy{Enabled: true, ScanAt: "12:30"}
	layers := []Layer{
		{Level: core.LevelDefault, Policy: core.Policy{ID: 1, Name: "Basis", Patch: base}},
		{Level: core.LevelClient, TargetID: 7, Policy: core.Policy{ID: 2, Name: "Kanzlei", Patch: client}},
		{Level: core.LevelSite, TargetID: 8, Policy: core.Policy{ID: 3, Name: "Nur Prüfungen"}}, // no patch settings: inherits
	}
	e := Resolve("workstation", layers)
	if e.Patch == nil {
		t.Fatal("no effective patch policy")
	}
	p := e.Patch
	if p.Source != (Source{Level: core.LevelClient, TargetID: 7, PolicyID: 2, PolicyName: "Kanzlei"}) || p.Overrides == nil || p.Overrides.PolicyID != 1 {
		t.Errorf("source %+v overrides %+v", p.Source, p.Overrides)
	}
	// Whole, not merged: the base's install, schedule and exclusion are gone.
	if p.Install || p.Schedule.At != patch.DefaultInstallAt || len(p.Schedule.Weekdays) != 0 || len(p.Exclusions.KBs) != 0 || p.ScanAt != "12:30" {
		t.Errorf("patch policy was merged: %+v", p.PatchPolicy)
	}
	if p.Reboot.Mode != core.RebootModeAsk || p.MaxFailures != patch.DefaultMaxFailures || len(p.AutoApprove) == 0 {
		t.Errorf("workstation defaults not filled: %+v", p.PatchPolicy)
	}
	if client.Reboot.Mode != "" || client.AutoApprove != nil {
		t.Errorf("resolving wrote into the stored policy: %+v", client)
	}
	if s := Resolve("server", layers).Patch; s.Reboot.Mode != core.RebootModeWindow {
		t.Errorf("server reboot mode %q", s.Reboot.Mode)
	}
	// The default level alone.
	if d := Resolve("server", layers[:1]).Patch; d == nil || !d.Install || d.Overrides != nil || d.Schedule.At != "02:00" {
		t.Errorf("default level patch = %+v", d)
	}
	if none := Resolve("server", layers[2:]); none.Patch != nil {
		t.Errorf("patch policy without any layer having one: %+v", none.Patch)
	}
	// A more specific policy can turn patch management off.
	off := append(slices.Clone(layers), Layer{Level: core.LevelDevice, TargetID: 9, Policy: core.Policy{ID: 4, Name: "Aus", Patch: &core.PatchPolicy{}}})
	if e := Resolve("server", off); e.Patch == nil || e.Patch.Enabled || AgentPatch(e.Patch) != nil {
		t.Errorf("device-level off: %+v", e.Patch)
	}
}

// TestPatchRevision: the revision covers the patch policy, the decisions
// and windows the server adds, and stays what it was for policies without
// patch settings.
func TestPatchRevision(t *testing.T) {
	checks := []Layer{{Level: core.LevelDefault, Policy: pol(1, "A", chk("cpu", "cpu", `{"warn":1,"fail":2}`, core.Schedule{}))}}
	plain := Resolve("server", checks)
	if plain.Revision != Revision(plain.AgentChecks(), nil, nil) {
		t.Errorf("a policy without patch settings changed its revision")
	}
	withPatch := func(pp *core.PatchPolicy) Effective {
		ls := slices.Clone(checks)
		ls = append(ls, Layer{Level: core.LevelClient, Policy: core.Policy{ID: 2, Name: "P", Patch: pp}})
		return Resolve("server", ls)
	}
	on := withPatch(&core.PatchPolicy{Enabled: true})
	off := withPatch(&core.PatchPolicy{Enabled: false, ScanAt: "09:00"})
	other := withPatch(&core.PatchPolicy{Enabled: true, Exclusions: core.PatchExclusions{Titles: []string{"*Preview*"}}})
	if on.Revision == plain.Revision || on.Revision == other.Revision {
		t.Errorf("revisions do not cover the patch settings: %s %s %s", plain.Revision, on.Revision, other.Revision)
	}
	if off.Revision != plain.Revision {
		t.Errorf("disabled patch management changed what the agent receives: %s vs %s", off.Revision, plain.Revision)
	}
	msg := protocol.Policy{Checks: on.AgentChecks(), Patch: AgentPatch(on.Patch)}
	if AgentRevision(msg) != on.Revision {
		t.Errorf("AgentRevision differs from the resolved revision")
	}
	msg.Patch.Decisions = map[string]bool{"windows-update:abc@200": true}
	decided := AgentRevision(msg)
	msg.Patch.Decisions["windows-update:abc@200"] = false
	declined := AgentRevision(msg)
	if decided == on.Revision || declined == decided {
		t.Errorf("decisions are not covered: %s %s %s", on.Revision, decided, declined)
	}
}

func TestValidatePatch(t *testing.T) {
	p := core.Policy{Name: "Patches", Patch: &core.PatchPolicy{Enabled: true, ScanAt: " 11:00 ",
		DisabledSources: []string{"winget", " winget", "choco"},
		AutoApprove:     []core.PatchRule{{Classification: " security "}, {Classification: "feature-pack"}},
		Exclusions:      core.PatchExclusions{KBs: []string{"kb5034441", "5034441", "KBX"}, Titles: []string{"*Preview*", "[oops"}},
		Schedule:        core.PatchSchedule{Weekdays: []int{6, 0, 6}, At: "25:00"},
		Reboot:          core.PatchReboot{Mode: "reboot"}}}
	Normalize(&p)
	pp := p.Patch
	if pp.ScanAt != "11:00" || !slices.Equal(pp.DisabledSources, []string{"winget", "choco"}) || pp.AutoApprove[0].Classification != "security" ||
		!slices.Equal(pp.Exclusions.KBs, []string{"KB5034441", "KBX"}) || !slices.Equal(pp.Schedule.Weekdays, []int{0, 6}) {
		t.Errorf("normalized = %+v", pp)
	}
	err := Validate(p)
	var ve *ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("Validate = %v", err)
	}
	var fields []string
	for _, f := range ve.Fields {
		fields = append(fields, f.Field)
	}
	want := []string{"patch.auto_approve[1].classification", "patch.exclusions.kbs[1]", "patch.exclusions.titles[1]", "patch.schedule.at", "patch.reboot.mode"}
	if !slices.Equal(fields, want) {
		t.Errorf("refused %v, want %v", fields, want)
	}
	if msg := ve.For("patch.reboot", "de"); !strings.Contains(msg, "Neustart-Modus") {
		t.Errorf("German message %q", msg)
	}
	ok := core.Policy{Name: "Patches", Patch: &core.PatchPolicy{Enabled: true}}
	Normalize(&ok)
	if err := Validate(ok); err != nil {
		t.Errorf("Validate(enabled only) = %v", err)
	}
	if err := AuthorizePrivileged(false, nil, p.Checks); err != nil {
		t.Errorf("patch settings need no administrator: %v", err)
	}
}

// patchStore is the smallest FullStore: one device, two policies, no
// scripts or packages.
type patchStore struct {
	dev      core.Device
	policies map[int64]core.Policy
	assigned map[string][]int64 // level → policy IDs
}

func (s *patchStore) GetDevice(context.Context, int64) (core.Device, error) { return s.dev, nil }
func (s *patchStore) GetPolicy(_ context.Context, id int64) (core.Policy, error) {
	p, ok := s.policies[id]
	if !ok {
		return p, core.ErrNotFound
	}
	return p, nil
}
func (s *patchStore) ListAssignments(_ context.Context, level string, _ int64) ([]core.PolicyAssignment, error) {
	var out []core.PolicyAssignment
	for _, id := range s.assigned[level] {
		out = append(out, core.PolicyAssignment{PolicyID: id})
	}
	return out, nil
}
func (s *patchStore) EnsureBuiltinPolicy(_ context.Context, p *core.Policy) error {
	p.ID = 100 + int64(len(p.Builtin))
	return nil
}
func (s *patchStore) GetScript(context.Context, int64) (core.Script, error) {
	return core.Script{}, core.ErrNotFound
}
func (s *patchStore) GetScriptVersion(context.Context, int64, int) (core.Script, error) {
	return core.Script{}, core.ErrNotFound
}
func (s *patchStore) GetPackage(context.Context, int64) (core.Package, error) {
	return core.Package{}, core.ErrNotFound
}
func (s *patchStore) ScriptVersionAuthentic(core.Script) bool                 { return true }
func (s *patchStore) PolicyTaskAuthentic(int64, core.PolicyTask) bool         { return true }
func (s *patchStore) PolicyCheckAuthentic(int64, core.PolicyCheck) bool       { return true }
func (s *patchStore) PolicySoftwareAuthentic(int64, core.PolicySoftware) bool { return true }
func (s *patchStore) PackageAuthentic(core.Package) bool                      { return true }

// TestResolverSendsPatch: the Resolver sends the patch policy with the
// role's defaults, in the revision; none when patch management is off.
func TestResolverSendsPatch(t *testing.T) {
	st := &patchStore{dev: core.Device{ID: 5, ClientID: 2, SiteID: 3, Role: "server"},
		policies: map[int64]core.Policy{1: {ID: 1, Name: "Patches", Patch: &core.PatchPolicy{Enabled: true, Install: true}}},
		assigned: map[string][]int64{core.LevelClient: {1}}}
	ctx := context.Background()
	r := NewResolver(st, nil)
	on, err := r.AgentPolicy(ctx, 5)
	if err != nil {
		t.Fatal(err)
	}
	if on.Patch == nil || !on.Patch.Install || on.Patch.Decisions != nil || on.Patch.Reboot.Mode != core.RebootModeWindow {
		t.Fatalf("patch policy = %+v", on.Patch)
	}
	if on.Revision != AgentRevision(on) {
		t.Errorf("revision %s is not the policy's (%s)", on.Revision, AgentRevision(on))
	}
	pp, err := DevicePatchPolicy(ctx, st, st.dev, nil)
	if err != nil || pp == nil || !pp.Install || pp.Reboot.Mode != core.RebootModeWindow {
		t.Errorf("DevicePatchPolicy = %+v, %v", pp, err)
	}
	// Patch management off: no patch policy, another revision.
	st.policies[1] = core.Policy{ID: 1, Name: "Patches", Patch: &core.PatchPolicy{}}
	off, err := NewResolver(st, nil).AgentPolicy(ctx, 5)
	if err != nil || off.Patch != nil || off.Revision == on.Revision {
		t.Errorf("off: %+v, %v, revision %s", off.Patch, err, off.Revision)
	}
	if pp, err := DevicePatchPolicy(ctx, st, st.dev, nil); err != nil || pp != nil {
		t.Errorf("DevicePatchPolicy when off = %+v, %v", pp, err)
	}
}
