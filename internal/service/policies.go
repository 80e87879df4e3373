package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// Policies (monitoring templates) and their assignments. Reading needs any
// authenticated user; changing policies and the default level needs an
// administrator; assigning policies to a client, site or device needs the
// Operate permission and that client in the caller's scope.

// PolicyPusher sends changed effective policies to connected agents
// (gateway.Hub implements it). The Service finds it on its Commander.
type PolicyPusher interface {
	PushPolicies()
}

// resolvers holds one policy.Resolver per store, so that the built-in
// templates are seeded once per process rather than per request.
var resolvers sync.Map // core.Store → *policy.Resolver

func (s *Service) resolver() *policy.Resolver {
	if r, ok := resolvers.Load(s.store); ok {
		return r.(*policy.Resolver)
	}
	r, _ := resolvers.LoadOrStore(s.store, policy.NewResolver(s.store, s.log).SetSoftware(SoftwareDeps(s.secrets)))
	return r.(*policy.Resolver)
}

// policyAudit records a policy change through the shared audit helper
// (actor, remote address, result "ok").
func (s *Service) policyAudit(ctx context.Context, u core.User, action, target, detail string) error {
	return s.record(ctx, u, action, target, detail, "ok")
}

func (s *Service) pushPolicies() {
	if p, ok := s.cmd.(PolicyPusher); ok {
		p.PushPolicies()
	}
}

// ListPolicies returns every policy, the built-in templates first.
func (s *Service) ListPolicies(ctx context.Context) ([]core.Policy, error) {
	if _, err := s.resolver().Seed(ctx); err != nil {
		return nil, err
	}
	ps, err := s.store.ListPolicies(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing policies: %w", err)
	}
	if ps == nil {
		ps = []core.Policy{}
	}
	for i := range ps {
		ps[i] = redactPolicy(ps[i])
	}
	return ps, nil
}

// GetPolicy returns one policy.
func (s *Service) GetPolicy(ctx context.Context, id int64) (core.Policy, error) {
	if _, err := s.resolver().Seed(ctx); err != nil {
		return core.Policy{}, err
	}
	p, err := s.store.GetPolicy(ctx, id)
	if err != nil {
		return core.Policy{}, fmt.Errorf("getting policy %d: %w", id, err)
	}
	return redactPolicy(p), nil
}

// ErrBuiltin refuses changes to a built-in template.
var ErrBuiltin = fmt.Errorf("built-in templates are read-only; create a policy that overrides them: %w", core.ErrForbidden)

// SavePolicy creates (p.ID 0) or updates a policy after validating it; the
// error is a *policy.ValidationError for invalid input. Administrators only.
// Secret check parameters left out keep their stored values (keepSecrets);
// p's checks come back without them.
func (s *Service) SavePolicy(ctx context.Context, u core.User, p *core.Policy) error {
	if u.ID == 0 || u.Role != core.RoleAdmin {
		return core.ErrForbidden
	}
	p.Builtin = ""
	policy.Normalize(p)
	var old core.Policy
	if p.ID != 0 {
		var err error
		if old, err = s.store.GetPolicy(ctx, p.ID); err != nil {
			return fmt.Errorf("getting policy %d: %w", p.ID, err)
		}
		if old.Builtin != "" {
			return ErrBuiltin
		}
	}
	for i := range p.Checks {
		p.Checks[i].SecretsSet = nil // an answer's field, echoed back
	}
	defer func() { p.Checks = redactChecks(p.Checks) }()
	checks, err := keepSecrets(p.Checks, old.Checks)
	if err != nil {
		return err
	}
	p.Checks = checks
	if err := validateChecks(*p); err != nil {
		return err
	}
	if err := s.checkPolicyScripts(ctx, p, old); err != nil {
		return err
	}
	if err := s.checkPolicySoftware(ctx, *p); err != nil {
		return err
	}
	action := "policy.create"
	if p.ID == 0 {
		if err := s.store.CreatePolicy(ctx, p); err != nil {
			return fmt.Errorf("creating policy: %w", err)
		}
	} else {
		if err := s.store.UpdatePolicy(ctx, p); err != nil {
			return fmt.Errorf("updating policy %d: %w", p.ID, err)
		}
		action = "policy.update"
	}
	// Secrets are never marshaled (core.PolicyTask.Secrets).
	detail, _ := json.Marshal(struct {
		Name     string                `json:"name"`
		Checks   []core.PolicyCheck    `json:"checks"`
		Tasks    []core.PolicyTask     `json:"tasks,omitempty"`
		Software []core.PolicySoftware `json:"software,omitempty"`
		Patch    *core.PatchPolicy     `json:"patch,omitempty"`
	}{p.Name, redactChecks(p.Checks), p.Tasks, p.Software, p.Patch})
	if err := s.policyAudit(ctx, u, action, "policy:"+strconv.FormatInt(p.ID, 10), string(detail)); err != nil {
		return err
	}
	s.pushPolicies()
	return nil
}

// DeletePolicy removes a policy and its assignments. Administrators only.
func (s *Service) DeletePolicy(ctx context.Context, u core.User, id int64) error {
	if u.ID == 0 || u.Role != core.RoleAdmin {
		return core.ErrForbidden
	}
	p, err := s.store.GetPolicy(ctx, id)
	if err != nil {
		return fmt.Errorf("getting policy %d: %w", id, err)
	}
	if p.Builtin != "" {
		return ErrBuiltin
	}
	if err := s.store.DeletePolicy(ctx, id); err != nil {
		return fmt.Errorf("deleting policy %d: %w", id, err)
	}
	if err := s.policyAudit(ctx, u, "policy.delete", "policy:"+strconv.FormatInt(id, 10), p.Name); err != nil {
		return err
	}
	s.pushPolicies()
	return nil
}

// assignmentTarget checks that the target exists and that u may see it
// (a target outside u's scope is ErrNotFound).
func (s *Service) assignmentTarget(ctx context.Context, u core.User, level string, id int64) error {
	var clientID int64
	switch level {
	case core.LevelDefault:
		return nil
	case core.LevelClient:
		cs, err := s.store.ListClients(ctx)
		if err != nil {
			return fmt.Errorf("listing clients: %w", err)
		}
		for _, c := range cs {
			if c.ID == id {
				clientID = c.ID
			}
		}
	case core.LevelSite:
		ss, err := s.store.ListSites(ctx)
		if err != nil {
			return fmt.Errorf("listing sites: %w", err)
		}
		for _, st := range ss {
			if st.ID == id {
				clientID = st.ClientID
			}
		}
	case core.LevelDevice:
		d, err := s.store.GetDevice(ctx, id)
		if err != nil {
			return fmt.Errorf("getting device %d: %w", id, err)
		}
		clientID = d.ClientID
	default:
		return core.ErrInvalid
	}
	if clientID == 0 || !authz.CanSeeClient(u, clientID) {
		return fmt.Errorf("%s %d: %w", level, id, core.ErrNotFound)
	}
	return nil
}

// Assignments returns the policies assigned to a target.
func (s *Service) Assignments(ctx context.Context, u core.User, level string, id int64) ([]core.PolicyAssignment, error) {
	if err := s.assignmentTarget(ctx, u, level, id); err != nil {
		return nil, err
	}
	as, err := s.store.ListAssignments(ctx, level, id)
	if err != nil {
		return nil, fmt.Errorf("listing %s policies: %w", level, err)
	}
	return as, nil
}

// SetAssignments replaces the policies assigned to a target, in order.
// The default level needs an administrator; the others Operate and the
// target's client in u's scope.
func (s *Service) SetAssignments(ctx context.Context, u core.User, level string, id int64, policyIDs []int64) ([]core.PolicyAssignment, error) {
	switch {
	case u.ID == 0:
		return nil, core.ErrUnauthorized
	case level == core.LevelDefault && u.Role != core.RoleAdmin:
		return nil, core.ErrForbidden
	case !authz.CanOperate(u.Role):
		return nil, core.ErrForbidden
	}
	if err := s.assignmentTarget(ctx, u, level, id); err != nil {
		return nil, err
	}
	if len(policyIDs) > policy.MaxChecks {
		return nil, &policy.ValidationError{Fields: []policy.FieldError{{Field: "policy_ids",
			Message: core.Text{EN: "too many policies", DE: "zu viele Richtlinien"}}}}
	}
	for i, pid := range policyIDs {
		if _, err := s.store.GetPolicy(ctx, pid); errors.Is(err, core.ErrNotFound) {
			return nil, &policy.ValidationError{Fields: []policy.FieldError{{Field: fmt.Sprintf("policy_ids[%d]", i),
				Message: core.Text{EN: fmt.Sprintf("no policy %d", pid), DE: fmt.Sprintf("keine Richtlinie %d", pid)}}}}
		} else if err != nil {
			return nil, fmt.Errorf("getting policy %d: %w", pid, err)
		}
	}
	if err := s.store.SetAssignments(ctx, level, id, policyIDs); err != nil {
		if errors.Is(err, core.ErrInvalid) {
			return nil, &policy.ValidationError{Fields: []policy.FieldError{{Field: "policy_ids",
				Message: core.Text{EN: "lists a policy twice", DE: "enthält eine Richtlinie doppelt"}}}}
		}
		return nil, fmt.Errorf("assigning policies: %w", err)
	}
	ids := make([]string, len(policyIDs))
	for i, pid := range policyIDs {
		ids[i] = strconv.FormatInt(pid, 10)
	}
	if err := s.policyAudit(ctx, u, "policy.assign", level+":"+strconv.FormatInt(id, 10), "policies="+strings.Join(ids, ",")); err != nil {
		return nil, err
	}
	s.pushPolicies()
	return s.store.ListAssignments(ctx, level, id)
}

// EffectivePolicy is a device's resolved set of checks, tasks and desired
// software states with the source of each, and why a task, script check or
// software state is not sent (Broken) or does not apply (Skipped).
type EffectivePolicy struct {
	DeviceID int64 `json:"device_id"`
	policy.Effective
}

// EffectivePolicy resolves a device's effective policy.
func (s *Service) EffectivePolicy(ctx context.Context, u core.User, id int64) (EffectivePolicy, error) {
	if err := s.assignmentTarget(ctx, u, core.LevelDevice, id); err != nil {
		return EffectivePolicy{}, err
	}
	_, e, err := s.resolver().Effective(ctx, id)
	if err != nil {
		return EffectivePolicy{}, fmt.Errorf("resolving the policy of device %d: %w", id, err)
	}
	if e.Checks == nil {
		e.Checks = []policy.Entry{}
	}
	for i := range e.Checks {
		e.Checks[i].PolicyCheck = redactChecks([]core.PolicyCheck{e.Checks[i].PolicyCheck})[0]
	}
	return EffectivePolicy{DeviceID: id, Effective: e}, nil
}
