package api

import (
	"errors"
	"net/http"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// policyRoutes registers the policy routes.
func (h *handler) policyRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/policies", authz.Read, h.listPolicies)
	rt.HandleFunc("POST /api/v1/policies", authz.Admin, h.createPolicy)
	rt.HandleFunc("GET /api/v1/policies/{id}", authz.Read, h.getPolicy)
	rt.HandleFunc("PUT /api/v1/policies/{id}", authz.Admin, h.updatePolicy)
	rt.HandleFunc("DELETE /api/v1/policies/{id}", authz.Admin, h.deletePolicy)
	rt.HandleFunc("GET /api/v1/default/policies", authz.Read, h.getAssignments(core.LevelDefault))
	rt.HandleFunc("PUT /api/v1/default/policies", authz.Admin, h.putAssignments(core.LevelDefault))
	for _, l := range []struct{ level, path string }{
		{core.LevelClient, "clients"}, {core.LevelSite, "sites"}, {core.LevelDevice, "devices"},
	} {
		rt.HandleFunc("GET /api/v1/"+l.path+"/{id}/policies", authz.Read, h.getAssignments(l.level))
		rt.HandleFunc("PUT /api/v1/"+l.path+"/{id}/policies", authz.Operate, h.putAssignments(l.level))
	}
	rt.HandleFunc("GET /api/v1/devices/{id}/effective-policy", authz.Read, h.effectivePolicy)
	rt.HandleFunc("GET /api/v1/check-types", authz.Read, h.checkTypes)
}

// checkTypes answers every check type's parameter declaration, for the
// forms that edit policies and network devices.
func (h *handler) checkTypes(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(core.User) (any, error) { return checkspec.All(), nil })
}

// validationResponse is the 400 body for invalid input: the first
// message names the field; fields lists all, in English and German.
type validationResponse struct {
	Error  string              `json:"error"`
	Code   string              `json:"code"`
	Fields []policy.FieldError `json:"fields,omitempty"` // none for code builtin
}

func (h *handler) policyError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, service.ErrBuiltin):
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
	return decodeStrict(r.Body, v)
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
	Name        string                `json:"name"`
	Description core.Text             `json:"description"`
	Checks      []core.PolicyCheck    `json:"checks"`
	Tasks       []core.PolicyTask     `json:"tasks"`
	Software    []core.PolicySoftware `json:"software"`
	Patch       *core.PatchPolicy     `json:"patch"`
}

// savePolicy creates (id 0) or replaces a policy from the body and returns
// it as stored.
func (h *handler) savePolicy(r *http.Request, u core.User, id int64) (core.Policy, error) {
	var b policyBody
	if err := decodeBody(r, &b); err != nil {
		return core.Policy{}, err
	}
	p := core.Policy{ID: id, Name: b.Name, Description: b.Description, Checks: b.Checks, Tasks: b.Tasks, Software: b.Software, Patch: b.Patch}
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
