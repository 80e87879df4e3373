package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
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

// policyRoutes registers the policy routes.
func (h *handler) policyRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/policies", auth.Read, h.listPolicies)
	rt.HandleFunc("POST /api/v1/policies", auth.Admin, h.createPolicy)
	rt.HandleFunc("GET /api/v1/policies/{id}", auth.Read, h.getPolicy)
	rt.HandleFunc("PUT /api/v1/policies/{id}", auth.Admin, h.updatePolicy)
	rt.HandleFunc("DELETE /api/v1/policies/{id}", auth.Admin, h.deletePolicy)
	rt.HandleFunc("GET /api/v1/default/policies", auth.Read, h.getAssignments(core.LevelDefault))
	rt.HandleFunc("PUT /api/v1/default/policies", auth.Admin, h.putAssignments(core.LevelDefault))
	for _, l := range []struct{ level, path string }{
		{core.LevelClient, "clients"}, {core.LevelSite, "sites"}, {core.LevelDevice, "devices"},
	} {
		rt.HandleFunc("GET /api/v1/"+l.path+"/{id}/policies", auth.Read, h.getAssignments(l.level))
		rt.HandleFunc("PUT /api/v1/"+l.path+"/{id}/policies", auth.Operate, h.putAssignments(l.level))
	}
	rt.HandleFunc("GET /api/v1/devices/{id}/effective-policy", auth.Read, h.effectivePolicy)
	rt.HandleFunc("GET /api/v1/check-types", auth.Read, h.checkTypes)
}

// checkTypes answers every check type's parameter declaration, for the
// forms that edit policies and network devices.
func (h *handler) checkTypes(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(core.User) (any, error) { return checkspec.All(), nil })
}

// resolvers holds one policy.Resolver per store, so that the built-in
// templates are seeded once per process rather than per request.
var resolvers sync.Map // core.Store → *policy.Resolver

func (s *Service) resolver() *policy.Resolver {
	if r, ok := resolvers.Load(s.store); ok {
		return r.(*policy.Resolver)
	}
	r, _ := resolvers.LoadOrStore(s.store, policy.NewResolver(s.store))
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
	return p, nil
}

// errBuiltin refuses changes to a built-in template.
var errBuiltin = fmt.Errorf("built-in templates are read-only; create a policy that overrides them: %w", core.ErrForbidden)

// SavePolicy creates (p.ID 0) or updates a policy after validating it; the
// error is a *policy.ValidationError for invalid input. Administrators only.
func (s *Service) SavePolicy(ctx context.Context, u core.User, p *core.Policy) error {
	if u.ID == 0 || u.Role != core.RoleAdmin {
		return core.ErrForbidden
	}
	p.Builtin = ""
	policy.Normalize(p)
	if err := policy.Validate(*p); err != nil {
		return err
	}
	action := "policy.create"
	if p.ID == 0 {
		if err := s.store.CreatePolicy(ctx, p); err != nil {
			return fmt.Errorf("creating policy: %w", err)
		}
	} else {
		old, err := s.store.GetPolicy(ctx, p.ID)
		if err != nil {
			return fmt.Errorf("getting policy %d: %w", p.ID, err)
		}
		if old.Builtin != "" {
			return errBuiltin
		}
		if err := s.store.UpdatePolicy(ctx, p); err != nil {
			return fmt.Errorf("updating policy %d: %w", p.ID, err)
		}
		action = "policy.update"
	}
	detail, _ := json.Marshal(struct {
		Name   string             `json:"name"`
		Checks []core.PolicyCheck `json:"checks"`
	}{p.Name, p.Checks})
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
		return errBuiltin
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
	if clientID == 0 || !auth.CanSeeClient(u, clientID) {
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
	case !auth.CanOperate(u.Role):
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

// EffectivePolicy is a device's resolved set of checks with the source of
// each.
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
	return EffectivePolicy{DeviceID: id, Effective: e}, nil
}

// Handlers.

// validationResponse is the 400 body for invalid input: the first
// message names the field; fields lists all, in English and German.
type validationResponse struct {
	Error  string              `json:"error"`
	Code   string              `json:"code"`
	Fields []policy.FieldError `json:"fields"`
}

func (h *handler) policyError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errBuiltin):
		writeJSON(w, http.StatusForbidden, validationResponse{Error: "built-in templates are read-only", Code: "builtin"})
	case errors.Is(err, core.ErrConflict):
		writeJSON(w, http.StatusConflict, validationResponse{Error: "name: a policy with this name exists", Code: "conflict",
			Fields: []policy.FieldError{{Field: "name", Message: core.Text{EN: "a policy with this name exists", DE: "eine Richtlinie mit diesem Namen gibt es schon"}}}})
	default:
		h.writeError(w, r, err)
	}
}

// decodeBody parses a JSON body strictly; its error names the problem.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &policy.ValidationError{Fields: []policy.FieldError{{Field: "body",
			Message: core.Text{EN: "not valid JSON: " + err.Error(), DE: "kein gültiges JSON: " + err.Error()}}}}
	}
	return nil
}

func (h *handler) listPolicies(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.policyError).serve(w, r, http.StatusOK, func(core.User) (any, error) {
		return h.svc.ListPolicies(r.Context())
	})
}

func (h *handler) getPolicy(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.policyError).withID(w, r, http.StatusOK, func(_ core.User, id int64) (any, error) {
		return h.svc.GetPolicy(r.Context(), id)
	})
}

// policyBody is what POST and PUT accept.
type policyBody struct {
	Name        string             `json:"name"`
	Description core.Text          `json:"description"`
	Checks      []core.PolicyCheck `json:"checks"`
}

// savePolicy creates (id 0) or replaces a policy from the body and returns
// it as stored.
func (h *handler) savePolicy(r *http.Request, u core.User, id int64) (core.Policy, error) {
	var b policyBody
	if err := decodeBody(r, &b); err != nil {
		return core.Policy{}, err
	}
	p := core.Policy{ID: id, Name: b.Name, Description: b.Description, Checks: b.Checks}
	if err := h.svc.SavePolicy(r.Context(), u, &p); err != nil {
		return core.Policy{}, err
	}
	return h.svc.GetPolicy(r.Context(), p.ID)
}

func (h *handler) createPolicy(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.policyError).serve(w, r, http.StatusCreated, func(u core.User) (any, error) {
		return h.savePolicy(r, u, 0)
	})
}

func (h *handler) updatePolicy(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.policyError).withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		return h.savePolicy(r, u, id)
	})
}

func (h *handler) deletePolicy(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.policyError).withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		return nil, h.svc.DeletePolicy(r.Context(), u, id)
	})
}

func targetID(r *http.Request, level string) (int64, error) {
	if level == core.LevelDefault {
		return 0, nil
	}
	return pathID(r)
}

func (h *handler) getAssignments(level string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		errorWriter(h.policyError).serve(w, r, http.StatusOK, func(u core.User) (any, error) {
			id, err := targetID(r, level)
			if err != nil {
				return nil, err
			}
			return h.svc.Assignments(r.Context(), u, level, id)
		})
	}
}

// assignmentsBody is what PUT …/policies accepts: the policy IDs in order.
type assignmentsBody struct {
	PolicyIDs []int64 `json:"policy_ids"`
}

func (h *handler) putAssignments(level string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		errorWriter(h.policyError).serve(w, r, http.StatusOK, func(u core.User) (any, error) {
			id, err := targetID(r, level)
			if err != nil {
				return nil, err
			}
			var b assignmentsBody
			if err := decodeBody(r, &b); err != nil {
				return nil, err
			}
			return h.svc.SetAssignments(r.Context(), u, level, id, b.PolicyIDs)
		})
	}
}

func (h *handler) effectivePolicy(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.policyError).withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		return h.svc.EffectivePolicy(r.Context(), u, id)
	})
}
