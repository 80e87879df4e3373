package api

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// inventoryRoutes serve device inventories, their change history and the
// fleet-wide searches (issue 18).
func (h *handler) inventoryRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/devices/{id}/inventory", authz.Read, h.getInventory)
	rt.HandleFunc("GET /api/v1/devices/{id}/inventory/changes", authz.Read, h.inventoryChanges)
	rt.HandleFunc("POST /api/v1/devices/{id}/inventory/refresh", authz.Operate, h.refreshInventory)
	rt.HandleFunc("GET /api/v1/inventory/software", authz.Read, h.searchSoftware)
	rt.HandleFunc("GET /api/v1/inventory/devices", authz.Read, h.searchInventories)
	rt.HandleFunc("GET /api/v1/inventory/export.csv", authz.Read, h.exportInventory)
}

// queryInt parses query parameter name as an integer ≥ 0 (absent: 0).
func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s=%q: want a whole number ≥ 0: %w", name, v, core.ErrInvalid)
	}
	return n, nil
}

// queryInts parses several query parameters with queryInt.
func queryInts(r *http.Request, names ...string) ([]int64, error) {
	out := make([]int64, len(names))
	for i, n := range names {
		var err error
		if out[i], err = queryInt(r, n); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (h *handler) getInventory(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) { return h.svc.DeviceInventory(r.Context(), u, id) })
}

// inventoryChanges pages like the other lists (?limit=, ?cursor=); the
// older ?before= (an entry's ID) still starts a page below that entry.
func (h *handler) inventoryChanges(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		before, err := queryInt(r, "before")
		if err != nil {
			return nil, err
		}
		return servePage(w, r, func(after core.PageKey, limit int) ([]core.InventoryChange, error) {
			if after.First() {
				after.ID = before
			}
			return h.svc.InventoryChanges(r.Context(), u, id, after.ID, limit)
		}, func(c core.InventoryChange) core.PageKey { return core.PageKey{ID: c.ID} }, nil)
	})
}

// refreshRequest is the optional body of a refresh.
type refreshRequest struct {
	Full bool `json:"full"`
}

// refreshInventory answers 202: the inventory follows on the agent's
// session.
func (h *handler) refreshInventory(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusAccepted, func(u core.User, id int64) (any, error) {
		var req refreshRequest
		if err := optionalBody(w, r, &req, 4<<10); err != nil {
			return nil, err
		}
		if err := h.svc.RefreshInventory(r.Context(), u, id, req.Full); err != nil {
			return nil, err
		}
		return req, nil
	})
}

// searchSoftware: ?name= (required), ?version_below=, ?client=, ?limit=.
func (h *handler) searchSoftware(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		q, err := queryInts(r, "client", "limit")
		if err != nil {
			return nil, err
		}
		return h.svc.SearchSoftware(r.Context(), u, service.SoftwareSearch{Name: r.URL.Query().Get("name"),
			VersionBelow: r.URL.Query().Get("version_below"), ClientID: q[0], Limit: int(min(q[1], service.MaxSearchLimit))})
	})
}

// searchInventories: ?os=, ?memory_below_gb=, ?battery_below=, ?client=,
// ?limit=.
func (h *handler) searchInventories(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		q, err := queryInts(r, "memory_below_gb", "battery_below", "client", "limit")
		if err != nil {
			return nil, err
		}
		if q[0] > 1<<20 || q[1] > 100 {
			return nil, fmt.Errorf("memory_below_gb ≤ 1048576, battery_below ≤ 100: %w", core.ErrInvalid)
		}
		return h.svc.SearchInventories(r.Context(), u, service.InventorySearch{OS: r.URL.Query().Get("os"),
			MemoryBelow: uint64(q[0]) << 30, BatteryBelow: int(q[1]), ClientID: q[2], Limit: int(min(q[3], service.MaxSearchLimit))})
	})
}

// exportInventory writes ?client='s inventories (all the caller's without)
// as CSV for a spreadsheet.
func (h *handler) exportInventory(w http.ResponseWriter, r *http.Request) {
	u, err := service.Caller(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	client, err := queryInt(r, "client")
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	var buf bytes.Buffer // an error must not leave half a file behind a 200
	if err := h.svc.WriteInventoryCSV(r.Context(), u, client, &buf); err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="wacht-inventory.csv"`)
	w.Write(buf.Bytes())
}
