package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// History limits: without ?since= the last DefaultHistoryWindow is listed,
// at most MaxHistoryLimit rows (DefaultHistoryLimit without ?limit=).
const (
	DefaultHistoryWindow = 24 * time.Hour
	DefaultHistoryLimit  = 1000
	MaxHistoryLimit      = 5000
)

// History is one check instance's results, newest first.
type History struct {
	DeviceID int64         `json:"device_id"`
	Check    string        `json:"check"`
	Key      string        `json:"key"`
	Since    time.Time     `json:"since"`
	Limit    int           `json:"limit"`
	Results  []core.Result `json:"results"`
}

// CheckHistory returns the results of check (instance key) of device id at
// or after since, newest first, at most limit (1..MaxHistoryLimit) rows. A
// device unknown or outside the scope of ctx's user is core.ErrNotFound; an
// unknown check is an empty history.
func (s *Service) CheckHistory(ctx context.Context, id int64, check, key string, since time.Time, limit int) (History, error) {
	u, err := caller(ctx)
	if err != nil {
		return History{}, err
	}
	if check == "" || limit < 1 || limit > MaxHistoryLimit {
		return History{}, fmt.Errorf("history of %q limit %d: %w", check, limit, core.ErrInvalid)
	}
	if _, err := s.device(ctx, u, id); err != nil {
		return History{}, err
	}
	rs, err := s.store.ListCheckHistory(ctx, id, check, key, since, limit)
	if err != nil {
		return History{}, fmt.Errorf("listing history of %s/%s on device %d: %w", check, key, id, err)
	}
	if rs == nil {
		rs = []core.Result{}
	}
	return History{DeviceID: id, Check: check, Key: key, Since: since.UTC(), Limit: limit, Results: rs}, nil
}

func (h *handler) historyRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/devices/{id}/checks/{name}/history", authz.Read, h.checkHistory)
}

// checkHistory serves ?key= (instance, "" by default), ?since= (RFC 3339,
// default 24 h ago) and ?limit= (default 1000, at most 5000).
func (h *handler) checkHistory(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(_ core.User, id int64) (any, error) {
		q := r.URL.Query()
		since := h.svc.now().Add(-DefaultHistoryWindow)
		var err error
		if v := q.Get("since"); v != "" {
			if since, err = time.Parse(time.RFC3339, v); err != nil {
				return nil, fmt.Errorf("since %q: %w", v, core.ErrInvalid)
			}
		}
		limit := DefaultHistoryLimit
		if v := q.Get("limit"); v != "" {
			if limit, err = strconv.Atoi(v); err != nil {
				return nil, fmt.Errorf("limit %q: %w", v, core.ErrInvalid)
			}
		}
		return h.svc.CheckHistory(r.Context(), id, r.PathValue("name"), q.Get("key"), since, limit)
	})
}
