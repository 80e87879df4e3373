package api

import (
	"net/http"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// remoteRoutes are the routes of remote management (command line,
// processes, services, files) and its settings.
func (h *handler) remoteRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/settings/remote", authz.Admin, h.getRemoteSettings)
	rt.HandleFunc("PUT /api/v1/settings/remote", authz.Admin, h.putRemoteSettings)
	h.fileRoutes(rt)
}

func (h *handler) getRemoteSettings(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.RemoteSettings(r.Context(), u) })
}

func (h *handler) putRemoteSettings(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.policyError).serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		var in service.RemoteSettings
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		if err := h.svc.SetRemoteSettings(r.Context(), u, in); err != nil {
			return nil, err
		}
		return h.svc.RemoteSettings(r.Context(), u)
	})
}
