package api

import (
	"net/http"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

func (h *handler) netDeviceRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/sites/{id}/network-devices", authz.Read, h.listNetDevices)
	rt.HandleFunc("POST /api/v1/sites/{id}/network-devices", authz.Operate, h.createNetDevice)
	rt.HandleFunc("GET /api/v1/network-devices/{id}", authz.Read, h.getNetDevice)
	rt.HandleFunc("PUT /api/v1/network-devices/{id}", authz.Operate, h.updateNetDevice)
	rt.HandleFunc("DELETE /api/v1/network-devices/{id}", authz.Operate, h.retireNetDevice)
}

func (h *handler) listNetDevices(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		return h.svc.ListNetDevices(r.Context(), u, id)
	})
}

func (h *handler) getNetDevice(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		return h.svc.GetNetDevice(r.Context(), u, id)
	})
}

// saveNetDevice creates a network device in the site {id} or replaces the
// network device {id}.
func (h *handler) saveNetDevice(w http.ResponseWriter, r *http.Request, create bool) {
	status := http.StatusOK
	if create {
		status = http.StatusCreated
	}
	errorWriter(h.policyError).withID(w, r, status, func(u core.User, id int64) (any, error) {
		var in service.NetDeviceInput
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		if create {
			return h.svc.SaveNetDevice(r.Context(), u, id, 0, in)
		}
		return h.svc.SaveNetDevice(r.Context(), u, 0, id, in)
	})
}

func (h *handler) createNetDevice(w http.ResponseWriter, r *http.Request) {
	h.saveNetDevice(w, r, true)
}

func (h *handler) updateNetDevice(w http.ResponseWriter, r *http.Request) {
	h.saveNetDevice(w, r, false)
}

func (h *handler) retireNetDevice(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		return nil, h.svc.RetireNetDevice(r.Context(), u, id)
	})
}
