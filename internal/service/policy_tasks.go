package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Automated tasks and script checks of policies (issue 16): what
// policy.Validate cannot know without the library. A task's script must
// exist and take its parameters; secret parameters move from Params to
// Secrets, which the store seals and the API never returns (an empty one
// keeps the stored value); a fix names a check some policy has.

// checkPolicyScripts validates p's tasks and script checks against the
// library and splits the tasks' secret parameters off; old is the stored
// policy (zero for a new one).
func (s *Service) checkPolicyScripts(ctx context.Context, p *core.Policy, old core.Policy) error {
	var fs []policy.FieldError
	known, err := s.knownCheckNames(ctx, *p)
	if err != nil {
		return err
	}
	for i := range p.Tasks {
		t := &p.Tasks[i]
		if t.Exclude {
			continue
		}
		at := fmt.Sprintf("tasks[%d]", i)
		sc, fe, err := s.policyScript(ctx, at, t.ScriptID, t.ScriptVersion)
		if err != nil {
			return err
		}
		if fe != nil {
			fs = append(fs, *fe)
			continue
		}
		splitSecrets(sc, t, old)
		all := maps.Clone(t.Params)
		if all == nil {
			all = map[string]string{}
		}
		maps.Copy(all, t.Secrets)
		if _, _, err := policy.ScriptParams(sc, policy.TaskParams(sc, all)); err != nil {
			fs = append(fs, prefixed(at, err)...)
		}
		if t.FixCheck != "" && !known[t.FixCheck] {
			fs = append(fs, fieldErr(at+".fix_check", fmt.Sprintf("no policy has a check named %q", t.FixCheck),
				fmt.Sprintf("keine Richtlinie hat eine Prüfung namens %q", t.FixCheck)))
		}
	}
	for i, c := range p.Checks {
		if c.Exclude || c.Type != protocol.CheckScript {
			continue
		}
		at := fmt.Sprintf("checks[%d].params", i)
		var sp policy.ScriptCheck
		if json.Unmarshal(c.Params, &sp) != nil {
			continue // policy.Validate refused it
		}
		sc, fe, err := s.policyScript(ctx, at, sp.ScriptID, sp.ScriptVersion)
		if err != nil {
			return err
		}
		if fe != nil {
			fs = append(fs, *fe)
			continue
		}
		_, secrets, err := policy.ScriptParams(sc, policy.TaskParams(sc, sp.Params))
		switch {
		case err != nil:
			fs = append(fs, prefixed(at, err)...)
		case len(secrets) > 0:
			fs = append(fs, fieldErr(at+".params", "a script check cannot pass secret parameters; use a task",
				"eine Skript-Prüfung kann keine geheimen Parameter übergeben; verwenden Sie eine Aufgabe"))
		}
	}
	if len(fs) > 0 {
		return &policy.ValidationError{Fields: fs}
	}
	return nil
}

// policyScript reads the script version a task or script check names: a
// field error if it does not exist.
func (s *Service) policyScript(ctx context.Context, at string, id int64, version int) (core.Script, *policy.FieldError, error) {
	var sc core.Script
	var err error
	if version > 0 {
		sc, err = s.store.GetScriptVersion(ctx, id, version)
		if err == nil && sc.Deleted {
			err = core.ErrNotFound
		}
	} else {
		sc, err = s.store.GetScript(ctx, id)
	}
	if errors.Is(err, core.ErrNotFound) {
		fe := fieldErr(at+".script_id", fmt.Sprintf("the library has no script %d (version %d)", id, version),
			fmt.Sprintf("die Bibliothek hat kein Skript %d (Version %d)", id, version))
		return sc, &fe, nil
	}
	if err != nil {
		return sc, nil, fmt.Errorf("getting script %d: %w", id, err)
	}
	return sc, nil, nil
}

// splitSecrets moves the values of sc's secret parameters from t.Params
// to t.Secrets; one left empty keeps the value old's task of the same
// name and script has.
func splitSecrets(sc core.Script, t *core.PolicyTask, old core.Policy) {
	var prev map[string]string
	for _, o := range old.Tasks {
		if o.Name == t.Name && o.ScriptID == t.ScriptID {
			prev = o.Secrets
		}
	}
	t.Secrets = nil
	for _, p := range sc.Params {
		if p.Type != core.ParamSecret {
			continue
		}
		v, given := t.Params[p.Name]
		delete(t.Params, p.Name)
		if !given || v == "" {
			v = prev[p.Name]
		}
		if v == "" {
			continue
		}
		if t.Secrets == nil {
			t.Secrets = map[string]string{}
		}
		t.Secrets[p.Name] = v
	}
	if len(t.Params) == 0 {
		t.Params = nil
	}
}

// prefixed puts at before the fields of a validation error.
func prefixed(at string, err error) []policy.FieldError {
	var ve *policy.ValidationError
	if !errors.As(err, &ve) {
		return []policy.FieldError{fieldErr(at, err.Error(), err.Error())}
	}
	out := make([]policy.FieldError, len(ve.Fields))
	for i, f := range ve.Fields {
		out[i] = policy.FieldError{Field: at + "." + f.Field, Message: f.Message}
	}
	return out
}

// knownCheckNames are the check names a fix may name: those of p, of
// every stored policy and of the built-in templates. Which of them a
// device has is known only per device; the effective policy shows a fix
// whose check is missing.
func (s *Service) knownCheckNames(ctx context.Context, p core.Policy) (map[string]bool, error) {
	known := map[string]bool{}
	if !slices.ContainsFunc(p.Tasks, func(t core.PolicyTask) bool { return t.FixCheck != "" }) {
		return known, nil
	}
	ps, err := s.store.ListPolicies(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing policies: %w", err)
	}
	ps = append(append(ps, p), policy.Templates()...)
	for _, q := range ps {
		for _, c := range q.Checks {
			if !c.Exclude {
				known[c.Name] = true
			}
		}
	}
	return known, nil
}

// scriptUsers names the policies that run script id, quoted and
// comma-separated ("" for none).
func (s *Service) scriptUsers(ctx context.Context, id int64) (string, error) {
	ps, err := s.store.ListPolicies(ctx)
	if err != nil {
		return "", fmt.Errorf("listing policies: %w", err)
	}
	names := policy.ScriptUsers(ps, id)
	for i, n := range names {
		names[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(names, ", "), nil
}
