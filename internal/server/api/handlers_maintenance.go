package api

import (
	"net/http"
	"strconv"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// maintenanceRoutes registers maintenance windows: listing (Read) and
// changes (Operate), scoped to the clients the caller may see.
func (h *handler) maintenanceRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/maintenance", authz.Read, h.listMaintenance)
	rt.HandleFunc("POST /api/v1/maintenance", authz.Operate, h.saveMaintenance)
	rt.HandleFunc("GET /api/v1/maintenance/{id}", authz.Read, h.getMaintenance)
	rt.HandleFunc("PUT /api/v1/maintenance/{id}", authz.Operate, h.saveMaintenance)
	rt.HandleFunc("DELETE /api/v1/maintenance/{id}", authz.Operate, h.deleteMaintenance)
}

// maintenanceFilter reads ?client=, ?site= and ?device=.
func maintenanceFilter(r *http.Request) (core.MaintenanceFilter, error) {
	var f core.MaintenanceFilter
	var fs []policy.FieldError
	for name, dst := range map[string]*int64{"client": &f.ClientID, "site": &f.SiteID, "device": &f.DeviceID} {
		if v := r.URL.Query().Get(name); v != "" {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				fs = append(fs, policy.FieldError{Field: name, Message: core.Text{EN: "must be an ID", DE: "muss eine ID sein"}})
			}
			*dst = id
		}
	}
	if len(fs) > 0 {
		return f, &policy.ValidationError{Fields: fs}
	}
	return f, nil
}

func (h *handler) listMaintenance(w http.ResponseWriter, r *http.Request) {
	u, err := service.Caller(r.Context())
	var ws []service.MaintenanceWindow
	if err == nil {
		var f core.MaintenanceFilter
		if f, err = maintenanceFilter(r); err == nil {
			ws, err = h.svc.ListMaintenance(r.Context(), u, f)
		}
	}
	if err != nil {
		h.policyError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, ws)
}

func (h *handler) getMaintenance(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		return h.svc.GetMaintenance(r.Context(), u, id)
	})
}

// saveMaintenance serves POST (create) and PUT /{id} (replace).
func (h *handler) saveMaintenance(w http.ResponseWriter, r *http.Request) {
	u, err := service.Caller(r.Context())
	var id int64
	if err == nil && r.PathValue("id") != "" {
		id, err = pathID(r)
	}
	var m core.Maintenance
	if err == nil {
		err = decodeBody(r, &m)
	}
	var saved service.MaintenanceWindow
	if err == nil {
		saved, err = h.svc.SaveMaintenance(r.Context(), u, id, m)
	}
	if err != nil {
		h.policyError(w, r, err)
		return
	}
	status := http.StatusOK
	if id == 0 {
		status = http.StatusCreated
	}
	writeJSON(w, status, saved)
}

func (h *handler) deleteMaintenance(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		return nil, h.svc.DeleteMaintenance(r.Context(), u, id)
	})
}
