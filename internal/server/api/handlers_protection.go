package api

import (
	"net/http"
	"strconv"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

func (h *handler) protectionRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/protection", authz.Read, h.listProtection)
}

// listProtection answers GET /api/v1/protection[?client=ID].
func (h *handler) listProtection(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		var clientID int64
		if c := r.URL.Query().Get("client"); c != "" {
			var err error
			if clientID, err = strconv.ParseInt(c, 10, 64); err != nil || clientID <= 0 {
				return nil, core.ErrInvalid
			}
		}
		return h.svc.Protection(r.Context(), u, clientID)
	})
}
