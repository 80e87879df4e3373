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
	"github.com/wacht-rmm/wacht/internal/service"
)

// tenancyRoutes registers clients, sites, device management, users, API
// tokens, settings and the audit log.
func (h *handler) tenancyRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/clients", authz.Read, h.listClients)
	rt.HandleFunc("POST /api/v1/clients", authz.Admin, h.createClient)
	rt.HandleFunc("GET /api/v1/clients/{id}", authz.Read, h.getClient)
	rt.HandleFunc("PATCH /api/v1/clients/{id}", authz.Operate, h.updateClient)
	rt.HandleFunc("DELETE /api/v1/clients/{id}", authz.Admin, h.deleteClient)
	rt.HandleFunc("GET /api/v1/sites", authz.Read, h.listSites)
	rt.HandleFunc("POST /api/v1/sites", authz.Operate, h.createSite)
	rt.HandleFunc("GET /api/v1/sites/{id}", authz.Read, h.getSite)
	rt.HandleFunc("PATCH /api/v1/sites/{id}", authz.Operate, h.renameSite)
	rt.HandleFunc("DELETE /api/v1/sites/{id}", authz.Operate, h.deleteSite)
	rt.HandleFunc("PATCH /api/v1/devices/{id}", authz.Operate, h.updateDevice)
	rt.HandleFunc("POST /api/v1/devices/{id}/retire", authz.Operate, h.retireDevice)
	rt.HandleFunc("GET /api/v1/users", authz.Admin, h.listUsers)
	rt.HandleFunc("POST /api/v1/users", authz.Admin, h.createUser)
	rt.HandleFunc("PATCH /api/v1/users/{id}", authz.Admin, h.setUserRole)
	rt.HandleFunc("DELETE /api/v1/users/{id}/2fa", authz.Admin, h.userChange(h.svc.ResetTOTP))
	rt.HandleFunc("POST /api/v1/users/{id}/disable", authz.Admin, h.userChange(h.svc.DisableUser))
	rt.HandleFunc("POST /api/v1/users/{id}/enable", authz.Admin, h.userChange(h.svc.EnableUser))
	rt.HandleFunc("DELETE /api/v1/users/{id}", authz.Admin, h.userChange(h.svc.DeleteUser))
	rt.HandleFunc("GET /api/v1/tokens", authz.Authenticated, h.listTokens)
	rt.HandleFunc("POST /api/v1/tokens", authz.Authenticated, h.createToken)
	rt.HandleFunc("DELETE /api/v1/tokens/{id}", authz.Authenticated, h.revokeToken)
	rt.HandleFunc("PUT /api/v1/settings/require-2fa", authz.Admin, h.setRequire2FA)
	rt.HandleFunc("GET /api/v1/audit", authz.Admin, h.listAudit)
	rt.HandleFunc("GET /api/v1/audit.csv", authz.Admin, h.exportAudit)
}

// decode reads a JSON body (at most 64 KiB, no unknown fields).
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	return decodeStrict(http.MaxBytesReader(w, r.Body, 64<<10), v)
}

// errorWriter answers a failed request: handler.writeError, or
// handler.policyError on routes that answer invalid input field by field.
type errorWriter func(http.ResponseWriter, *http.Request, error)

// serve runs fn with the caller and writes its result (204 No Content when
// it is nil) or, through fail, its error.
func (fail errorWriter) serve(w http.ResponseWriter, r *http.Request, status int, fn func(u core.User) (any, error)) {
	u, err := service.Caller(r.Context())
	if err == nil {
		var v any
		if v, err = fn(u); err == nil {
			if v == nil {
				w.WriteHeader(http.StatusNoContent)
				return
			}
			writeJSON(w, status, v)
			return
		}
	}
	fail(w, r, err)
}

// withID is serve for routes with an {id}.
func (fail errorWriter) withID(w http.ResponseWriter, r *http.Request, status int, fn func(u core.User, id int64) (any, error)) {
	id, err := pathID(r)
	if err != nil {
		fail(w, r, err)
		return
	}
	fail.serve(w, r, status, func(u core.User) (any, error) { return fn(u, id) })
}

// serve answers errors with writeError.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, status int, fn func(u core.User) (any, error)) {
	errorWriter(h.writeError).serve(w, r, status, fn)
}

// withID answers errors with writeError.
func (h *handler) withID(w http.ResponseWriter, r *http.Request, status int, fn func(u core.User, id int64) (any, error)) {
	errorWriter(h.writeError).withID(w, r, status, fn)
}

func (h *handler) listClients(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.ListClients(r.Context(), u) })
}

func (h *handler) createClient(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusCreated, func(u core.User) (any, error) {
		var c core.Client
		if err := decode(w, r, &c); err != nil {
			return nil, err
		}
		c.ID = 0
		return c, h.svc.CreateClient(r.Context(), u, &c)
	})
}

func (h *handler) getClient(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) { return h.svc.GetClient(r.Context(), u, id) })
}

func (h *handler) updateClient(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		c, err := h.svc.GetClient(r.Context(), u, id)
		if err != nil {
			return nil, err
		}
		if err := decode(w, r, &c); err != nil {
			return nil, err
		}
		c.ID = id
		if err := h.svc.UpdateClient(r.Context(), u, c); err != nil {
			return nil, err
		}
		return h.svc.GetClient(r.Context(), u, id)
	})
}

// deleted answers a delete that retired devices.
type deleted struct {
	RetiredDevices int `json:"retired_devices"`
}

func (h *handler) deleteClient(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		n, err := h.svc.DeleteClient(r.Context(), u, id, r.URL.Query().Get("confirm") == "true")
		return deleted{n}, err
	})
}

func (h *handler) listSites(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.ListSites(r.Context(), u) })
}

func (h *handler) createSite(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusCreated, func(u core.User) (any, error) {
		var st core.Site
		if err := decode(w, r, &st); err != nil {
			return nil, err
		}
		st.ID = 0
		return st, h.svc.CreateSite(r.Context(), u, &st)
	})
}

func (h *handler) getSite(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) { return h.svc.GetSite(r.Context(), u, id) })
}

func (h *handler) renameSite(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		var body struct {
			Name string `json:"name"`
		}
		if err := decode(w, r, &body); err != nil {
			return nil, err
		}
		if err := h.svc.RenameSite(r.Context(), u, id, body.Name); err != nil {
			return nil, err
		}
		return h.svc.GetSite(r.Context(), u, id)
	})
}

func (h *handler) deleteSite(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		n, err := h.svc.DeleteSite(r.Context(), u, id, r.URL.Query().Get("confirm") == "true")
		return deleted{n}, err
	})
}

func (h *handler) updateDevice(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		var ch service.DeviceChange
		if err := decode(w, r, &ch); err != nil {
			return nil, err
		}
		return h.svc.UpdateDevice(r.Context(), u, id, ch)
	})
}

func (h *handler) retireDevice(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		if err := h.svc.RetireDevice(r.Context(), u, id); err != nil {
			return nil, err
		}
		return h.svc.GetDevice(r.Context(), id)
	})
}

func (h *handler) listUsers(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.ListUsers(r.Context(), u) })
}

func (h *handler) createUser(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusCreated, func(u core.User) (any, error) {
		var nu service.NewUser
		if err := decode(w, r, &nu); err != nil {
			return nil, err
		}
		return h.svc.CreateUser(r.Context(), u, nu)
	})
}

func (h *handler) setUserRole(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		var body struct {
			Role  string     `json:"role"`
			Scope core.Scope `json:"scope"`
		}
		if err := decode(w, r, &body); err != nil {
			return nil, err
		}
		if err := h.svc.SetUserRole(r.Context(), u, id, body.Role, body.Scope); err != nil {
			return nil, err
		}
		return nil, nil
	})
}

// userChange serves a change of the user in the path that answers nothing
// (204): reset 2FA, disable, enable, delete.
func (h *handler) userChange(change func(ctx context.Context, u core.User, id int64) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
			return nil, change(r.Context(), u, id)
		})
	}
}

func (h *handler) listTokens(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.ListAPITokens(r.Context(), u) })
}

func (h *handler) createToken(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusCreated, func(u core.User) (any, error) {
		var nt service.NewToken
		if err := decode(w, r, &nt); err != nil {
			return nil, err
		}
		return h.svc.CreateAPIToken(r.Context(), u, nt)
	})
}

func (h *handler) revokeToken(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		return nil, h.svc.RevokeAPIToken(r.Context(), u, id)
	})
}

func (h *handler) setRequire2FA(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		var body struct {
			Required bool `json:"required"`
		}
		if err := decode(w, r, &body); err != nil {
			return nil, err
		}
		return body, h.svc.SetRequire2FA(r.Context(), u, body.Required)
	})
}

// auditQuery reads the audit filters actor, action (prefix), target, since,
// until (RFC 3339) and limit from the query string.
func auditQuery(r *http.Request) (core.AuditQuery, error) {
	v := r.URL.Query()
	q := core.AuditQuery{Actor: v.Get("actor"), Action: v.Get("action"), Target: v.Get("target")}
	for name, dst := range map[string]*time.Time{"since": &q.Since, "until": &q.Until} {
		if s := v.Get(name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return q, fmt.Errorf("%s: %w", name, core.ErrInvalid)
			}
			*dst = t
		}
	}
	return q, nil
}

// listAudit answers one page of the audit log, newest first. It sends no
// X-Total-Count: counting the log would read all of it for every page.
func (h *handler) listAudit(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		q, err := auditQuery(r)
		if err != nil {
			return nil, err
		}
		return servePage(w, r, func(after core.PageKey, limit int) ([]core.AuditEntry, error) {
			q.After, q.Limit = after, limit
			return h.svc.QueryAudit(r.Context(), u, q)
		}, func(e core.AuditEntry) core.PageKey { return core.PageKey{ID: e.ID} }, nil)
	})
}

func (h *handler) exportAudit(w http.ResponseWriter, r *http.Request) {
	u, err := service.Caller(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	q, err := auditQuery(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	// An export is complete unless ?limit= asks for the newest entries only.
	if s := r.URL.Query().Get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil || q.Limit < 0 {
			h.writeError(w, r, queryError("limit", "must be a number from 0 (every entry)", "muss eine Zahl ab 0 (alle Einträge) sein"))
			return
		}
	}
	es, err := h.svc.QueryAudit(r.Context(), u, q)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="wacht-audit.csv"`)
	if err := service.WriteAuditCSV(w, es); err != nil {
		h.log.Warn("writing audit CSV", "err", err)
	}
}
