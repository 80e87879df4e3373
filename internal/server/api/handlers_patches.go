package api

import (
	"fmt"
	"net/http"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// patchRoutes serve patch management (issue 19): a device's updates, scan
// and install now, the fleet view, approvals per client and compliance.
func (h *handler) patchRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/devices/{id}/updates", authz.Read, h.deviceUpdates)
	rt.HandleFunc("POST /api/v1/devices/{id}/updates/scan", authz.Operate, h.scanUpdates)
	rt.HandleFunc("POST /api/v1/devices/{id}/updates/install", authz.Operate, h.installUpdates)
	rt.HandleFunc("GET /api/v1/patches", authz.Read, h.listPatches)
	rt.HandleFunc("GET /api/v1/patches/compliance", authz.Read, h.patchCompliance)
	rt.HandleFunc("PUT /api/v1/patches/{id}/approval", authz.Operate, h.setApproval)
	rt.HandleFunc("DELETE /api/v1/patches/{id}/approval", authz.Operate, h.deleteApproval)
}

func (h *handler) deviceUpdates(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) { return h.svc.DeviceUpdates(r.Context(), u, id) })
}

// scanAccepted is the answer to a scan: the report follows on the agent's
// session.
type scanAccepted struct {
	Status string `json:"status"`
}

// scanUpdates answers 202.
func (h *handler) scanUpdates(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusAccepted, func(u core.User, id int64) (any, error) {
		if err := h.svc.ScanUpdates(r.Context(), u, id); err != nil {
			return nil, err
		}
		return scanAccepted{Status: "scanning"}, nil
	})
}

// installUpdates takes {"ids":[…]} (patch IDs), or {} / {"approved":true}
// / no body for every approved update, and answers 202 with what the
// agent started and refused; the attempts follow in its reports.
func (h *handler) installUpdates(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusAccepted, func(u core.User, id int64) (any, error) {
		var req service.InstallRequest
		if err := optionalBody(w, r, &req, 256<<10); err != nil {
			return nil, err
		}
		return h.svc.InstallUpdates(r.Context(), u, id, req)
	})
}

// listPatches: ?client=&site=&severity=&classification=&source=&cve=&q=
// &limit=&offset=.
func (h *handler) listPatches(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		n, err := queryInts(r, "client", "site", "limit", "offset")
		if err != nil {
			return nil, err
		}
		q := r.URL.Query()
		return h.svc.ListPatches(r.Context(), u, service.PatchQuery{ClientID: n[0], SiteID: n[1],
			Severity: q.Get("severity"), Classification: q.Get("classification"), Source: q.Get("source"),
			CVE: q.Get("cve"), Search: q.Get("q"), Limit: int(min(n[2], 1<<20)), Offset: int(min(n[3], 1<<30))})
	})
}

// patchCompliance: ?client=.
func (h *handler) patchCompliance(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		c, err := queryInt(r, "client")
		if err != nil {
			return nil, err
		}
		return h.svc.PatchCompliance(r.Context(), u, c)
	})
}

// setApproval takes {"client":ID or 0/absent for every client,
// "approved":true|false}.
func (h *handler) setApproval(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		var a struct {
			Client   int64 `json:"client"`
			Approved *bool `json:"approved"`
		}
		if err := decode(w, r, &a); err != nil {
			return nil, err
		}
		if a.Approved == nil {
			return nil, requiredField("approved", "true or false", "true oder false")
		}
		return h.svc.SetPatchApproval(r.Context(), u, id, service.Approval{Client: a.Client, Approved: *a.Approved})
	})
}

// deleteApproval removes the decision for ?client= (or {"client":…}; 0 or
// absent: the fleet-wide one) and answers 204.
func (h *handler) deleteApproval(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		c, err := queryInt(r, "client")
		if err != nil {
			return nil, err
		}
		var body struct {
			Client int64 `json:"client"`
		}
		if err := optionalBody(w, r, &body, 256<<10); err != nil {
			return nil, err
		}
		if body.Client != 0 {
			if c != 0 && c != body.Client {
				return nil, fmt.Errorf("client in the query and the body differ: %w", core.ErrInvalid)
			}
			c = body.Client
		}
		return nil, h.svc.DeletePatchApproval(r.Context(), u, id, c)
	})
}
