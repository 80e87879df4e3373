package api

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

func (h *handler) historyRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/devices/{id}/checks/{name}/history", authz.Read, h.checkHistory)
}

// checkHistory serves ?key= (instance, "" by default), ?since= (RFC 3339,
// default 24 h ago) and ?limit= (default 1000, at most 5000).
func (h *handler) checkHistory(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(_ core.User, id int64) (any, error) {
		q := r.URL.Query()
		since := h.svc.Time().Add(-service.DefaultHistoryWindow)
		var err error
		if v := q.Get("since"); v != "" {
			if since, err = time.Parse(time.RFC3339, v); err != nil {
				return nil, fmt.Errorf("since %q: %w", v, core.ErrInvalid)
			}
		}
		limit := service.DefaultHistoryLimit
		if v := q.Get("limit"); v != "" {
			if limit, err = strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("limit %q: %w", v, core.ErrInvalid)
			}
		}
		return h.svc.CheckHistory(r.Context(), id, r.PathValue("name"), q.Get("key"), since, limit)
	})
}
