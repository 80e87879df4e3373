package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// FullStore is what a Resolver needs: reading devices, policies, scripts
// and packages, and seeding the built-in templates.
type FullStore interface {
	Store
	core.ScriptAuth
	EnsureBuiltinPolicy(ctx context.Context, p *core.Policy) error
	GetScript(ctx context.Context, id int64) (core.Script, error)
	GetScriptVersion(ctx context.Context, id int64, version int) (core.Script, error)
	GetPackage(ctx context.Context, id int64) (core.Package, error)
}

// Resolver computes effective policies from the store. On first use it
// seeds (creates or refreshes) the built-in templates, so that they are
// listed with IDs; their content always comes from this package's code.
// It embeds the script of each task and script check, and the package of
// each desired software state, and only when the server's MACs over the
// entry and the script version or package match (scriptmac): what the
// database alone says never reaches an agent.
type Resolver struct {
	st  FullStore
	log *slog.Logger
	sw  SoftwareDeps

	mu  sync.Mutex
	ids map[string]int64 // built-in key → policy ID, once seeded

	logged sync.Map // broken entries already logged
}

// NewResolver returns a Resolver over st; log hears of entries left out
// (nil: discarded).
func NewResolver(st FullStore, log *slog.Logger) *Resolver {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Resolver{st: st, log: log}
}

// Seed creates or refreshes the built-in templates and returns their IDs.
// It runs once per Resolver (again after a failure).
func (r *Resolver) Seed(ctx context.Context) (map[string]int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids != nil {
		return r.ids, nil
	}
	ids := map[string]int64{}
	for _, t := range Templates() {
		if err := r.st.EnsureBuiltinPolicy(ctx, &t); err != nil {
			return nil, fmt.Errorf("seeding template %s: %w", t.Name, err)
		}
		ids[t.Builtin] = t.ID
	}
	r.ids = ids
	return ids, nil
}

// Effective resolves the effective set of a device with its scripts
// embedded; tasks and script checks that cannot be sent are marked
// Broken.
func (r *Resolver) Effective(ctx context.Context, deviceID int64) (core.Device, Effective, error) {
	ids, err := r.Seed(ctx)
	if err != nil {
		return core.Device{}, Effective{}, err
	}
	d, e, err := EffectiveFor(ctx, r.st, deviceID, ids)
	if err != nil {
		return d, e, err
	}
	if err := r.embed(ctx, d, &e); err != nil {
		return d, Effective{}, err
	}
	return d, e, nil
}

// AgentPolicy is the policy message for a device's agent.
func (r *Resolver) AgentPolicy(ctx context.Context, deviceID int64) (protocol.Policy, error) {
	_, e, err := r.Effective(ctx, deviceID)
	if err != nil {
		return protocol.Policy{}, err
	}
	return *e.agent, nil
}

// errBroken is an entry that cannot be sent, with the reason to show.
type errBroken struct{ why core.Text }

func (e *errBroken) Error() string { return e.why.EN }

func broken(en, de string) error { return &errBroken{core.Text{EN: en, DE: de}} }

// embed builds the agent's message of e: script checks and tasks with
// their script versions inline, software states with their packages,
// those that cannot be sent left out.
func (r *Resolver) embed(ctx context.Context, d core.Device, e *Effective) error {
	agent := protocol.Policy{Checks: []core.PolicyCheck{}}
	for i := range e.Checks {
		c := &e.Checks[i]
		pc := c.PolicyCheck
		pc.Exclude, pc.MAC = false, nil
		if c.Type == protocol.CheckScript {
			params, err := r.scriptCheck(ctx, d, c.Source.PolicyID, c.PolicyCheck)
			c.MAC = nil
			if err = r.brokenOr(err, c.Source, "check", c.Name, &c.Broken); err != nil {
				return err
			}
			if c.Broken != nil {
				continue
			}
			pc.Params = params
		}
		agent.Checks = append(agent.Checks, pc)
	}
	for i := range e.Tasks {
		t := &e.Tasks[i]
		task, err := r.task(ctx, d, t)
		if err = r.brokenOr(err, t.Source, "task", t.Name, &t.Broken); err != nil {
			return err
		}
		t.MAC = nil // Secrets are never marshaled
		if t.Broken == nil {
			agent.Tasks = append(agent.Tasks, task)
		}
	}
	if err := r.embedSoftware(ctx, d, e, &agent); err != nil {
		return err
	}
	agent.Patch = AgentPatch(e.Patch)
	agent.Revision = AgentRevision(agent)
	e.Revision, e.agent = agent.Revision, &agent
	return nil
}

// brokenOr sets *why for an entry that cannot be sent, and logs it once
// per process; other errors (the store failing) are returned.
func (r *Resolver) brokenOr(err error, src Source, kind, name string, why **core.Text) error {
	var b *errBroken
	if !errors.As(err, &b) {
		return err
	}
	*why = &b.why
	key := fmt.Sprintf("%d/%s/%s/%s", src.PolicyID, kind, name, b.why.EN)
	if _, seen := r.logged.LoadOrStore(key, true); !seen {
		r.log.Error("policy entry not sent to agents", "policy", src.PolicyID, "policy_name", src.PolicyName, kind, name, "reason", b.why.EN)
	}
	return nil
}

// script returns the version a task or check runs, if the server wrote it.
func (r *Resolver) script(ctx context.Context, d core.Device, id int64, version int) (core.Script, error) {
	var sc core.Script
	var err error
	if version > 0 {
		sc, err = r.st.GetScriptVersion(ctx, id, version)
	} else {
		sc, err = r.st.GetScript(ctx, id)
	}
	switch {
	case errors.Is(err, core.ErrNotFound):
		return sc, broken(fmt.Sprintf("script %d (version %d) was deleted or does not exist", id, version),
			fmt.Sprintf("Skript %d (Version %d) wurde gelöscht oder existiert nicht", id, version))
	case err != nil:
		return sc, fmt.Errorf("reading script %d: %w", id, err)
	case sc.Deleted:
		return sc, broken(fmt.Sprintf("script %q was deleted", sc.Name), fmt.Sprintf("Skript %q wurde gelöscht", sc.Name))
	case !r.st.ScriptVersionAuthentic(sc):
		return sc, broken(fmt.Sprintf("version %d of script %q does not carry the server's authentication (stored before Wacht authenticated scripts, or written into the database directly): check it and save the script again", sc.Version, sc.Name),
			fmt.Sprintf("Version %d des Skripts %q trägt nicht die Authentifizierung des Servers (gespeichert, bevor Wacht Skripte authentifizierte, oder direkt in die Datenbank geschrieben): prüfen Sie es und speichern Sie das Skript erneut", sc.Version, sc.Name))
	case len(sc.OS) > 0 && d.OS != "" && !slices.Contains(sc.OS, d.OS):
		return sc, broken(fmt.Sprintf("script %q is for %v, this device runs %s", sc.Name, sc.OS, d.OS),
			fmt.Sprintf("Skript %q ist für %v, dieses Gerät läuft unter %s", sc.Name, sc.OS, d.OS))
	}
	return sc, nil
}

// args checks a task's or check's parameters against the script version
// and builds the script as the agent runs it (no run ID: it names each run).
func args(sc core.Script, params map[string]string) (protocol.ScriptArgs, error) {
	plain, secrets, err := ScriptParams(sc, TaskParams(sc, params))
	if err != nil {
		de := err.Error()
		var ve *ValidationError
		if errors.As(err, &ve) {
			de = ve.In("de")
		}
		return protocol.ScriptArgs{}, broken(fmt.Sprintf("the parameters do not fit version %d of script %q: %v", sc.Version, sc.Name, err),
			fmt.Sprintf("die Parameter passen nicht zu Version %d des Skripts %q: %s", sc.Version, sc.Name, de))
	}
	a := protocol.ScriptArgs{Language: sc.Language, Body: sc.Body, Params: plain, TimeoutSeconds: sc.TimeoutSeconds, Signature: sc.Signature}
	if len(secrets) > 0 {
		a.Secrets = secrets
	}
	if len(plain) == 0 {
		a.Params = nil
	}
	return a, nil
}

var errEntryMAC = broken("this entry does not carry the server's authentication (written into the database directly, or by an older Wacht): check it and save the policy again",
	"dieser Eintrag trägt nicht die Authentifizierung des Servers (direkt in die Datenbank geschrieben oder von einer älteren Wacht-Version): prüfen Sie ihn und speichern Sie die Richtlinie erneut")

// task builds the agent's task of an effective entry.
func (r *Resolver) task(ctx context.Context, d core.Device, t *TaskEntry) (protocol.Task, error) {
	if !r.st.PolicyTaskAuthentic(t.Source.PolicyID, t.PolicyTask) {
		return protocol.Task{}, errEntryMAC
	}
	sc, err := r.script(ctx, d, t.ScriptID, t.ScriptVersion)
	t.ScriptName = sc.Name
	if err != nil {
		return protocol.Task{}, err
	}
	params := make(map[string]string, len(t.Params)+len(t.Secrets))
	maps.Copy(params, t.Params)
	maps.Copy(params, t.Secrets)
	a, err := args(sc, params)
	if err != nil {
		return protocol.Task{}, err
	}
	return protocol.Task{Name: t.Name, ScriptID: sc.ID, ScriptVersion: sc.Version, ScriptName: sc.Name, Schedule: t.Schedule,
		FixCheck: t.FixCheck, MaxPerDay: t.MaxPerDay, RunAgain: t.RunAgain, Script: a}, nil
}

// ScriptCheck are a script check's parameters in a policy.
type ScriptCheck struct {
	ScriptID      int64             `json:"script_id"`
	ScriptVersion int               `json:"script_version,omitempty"`
	Params        map[string]string `json:"params,omitempty"`
}

// scriptCheck returns a script check's parameters as the agent receives
// them (protocol.ScriptCheckParams).
func (r *Resolver) scriptCheck(ctx context.Context, d core.Device, policyID int64, c core.PolicyCheck) (json.RawMessage, error) {
	if !r.st.PolicyCheckAuthentic(policyID, c) {
		return nil, errEntryMAC
	}
	var p ScriptCheck
	if err := json.Unmarshal(c.Params, &p); err != nil {
		return nil, broken("its parameters are not valid: "+err.Error(), "seine Parameter sind ungültig: "+err.Error())
	}
	sc, err := r.script(ctx, d, p.ScriptID, p.ScriptVersion)
	if err != nil {
		return nil, err
	}
	a, err := args(sc, p.Params)
	if err != nil {
		return nil, err
	}
	if len(a.Secrets) > 0 {
		return nil, broken("a script check cannot pass secret parameters; use a task", "eine Skript-Prüfung kann keine geheimen Parameter übergeben; verwenden Sie eine Aufgabe")
	}
	b, err := json.Marshal(protocol.ScriptCheckParams{ScriptID: sc.ID, ScriptVersion: sc.Version, Script: a})
	if err != nil {
		return nil, fmt.Errorf("encoding the script of check %q: %w", c.Name, err)
	}
	return b, nil
}

// ScriptUsers lists the policies whose tasks or script checks run script
// id, by name (a script edit must reach their agents; deleting it breaks
// them).
func ScriptUsers(ps []core.Policy, id int64) []string {
	var out []string
	for _, p := range ps {
		uses := slices.ContainsFunc(p.Tasks, func(t core.PolicyTask) bool { return !t.Exclude && t.ScriptID == id })
		for _, c := range p.Checks {
			var sc ScriptCheck
			if c.Type == protocol.CheckScript && json.Unmarshal(c.Params, &sc) == nil && sc.ScriptID == id {
				uses = true
			}
		}
		if uses {
			out = append(out, p.Name)
		}
	}
	return out
}
