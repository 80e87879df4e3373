package api

import (
	"net/http"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

func (h *handler) serverCheckRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/settings/server-checks", authz.Admin, h.getServerChecks)
	rt.HandleFunc("PUT /api/v1/settings/server-checks", authz.Admin, h.setServerChecks)
}

func (h *handler) getServerChecks(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.ServerChecks(r.Context(), u) })
}

func (h *handler) setServerChecks(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.policyError).serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		var in service.ServerChecks
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		return h.svc.SetServerChecks(r.Context(), u, in)
	})
}
