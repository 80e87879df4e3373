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
// default 24 h ago), ?until= (RFC 3339, exclusive; default none) and
// ?limit= (default 1000, at most 5000). A full page links the next one: the
// same query until its oldest result.
func (h *handler) checkHistory(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(_ core.User, id int64) (any, error) {
		q := r.URL.Query()
		since := h.svc.Time().Add(-service.DefaultHistoryWindow)
		var until time.Time
		for _, p := range []struct {
			name string
			t    *time.Time
		}{{"since", &since}, {"until", &until}} {
			if v := q.Get(p.name); v != "" {
				t, err := time.Parse(time.RFC3339, v)
				if err != nil {
					return nil, queryError(p.name, "must be a time as RFC 3339 (2026-11-20T00:00:00Z)",
						"muss eine Zeit nach RFC 3339 sein (2026-11-20T00:00:00Z)")
				}
				*p.t = t
			}
		}
		limit := service.DefaultHistoryLimit
		if v := q.Get("limit"); v != "" {
			var err error
			if limit, err = strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("limit %q: %w", v, core.ErrInvalid)
			}
		}
		hist, err := h.svc.CheckHistory(r.Context(), id, r.PathValue("name"), q.Get("key"), since, until, limit)
		if err == nil && len(hist.Results) == limit {
			q.Set("until", hist.Results[limit-1].At.UTC().Format(time.RFC3339Nano))
			w.Header().Set("Link", "<"+r.URL.Path+"?"+q.Encode()+`>; rel="next"`)
		}
		return hist, err
	})
}
