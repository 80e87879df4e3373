// Package api serves Wacht's JSON REST API under /api/v1/: a thin transport
// that parses requests, calls the service layer (internal/service, which
// authorizes) and renders JSON. Every route needs a bearer API token; errors
// become HTTP statuses through httperr.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/httperr"
	"github.com/wacht-rmm/wacht/internal/service"
)

type handler struct {
	svc        *service.Service
	installers InstallerSource
	log        *slog.Logger
}

// New returns the API handler over svc, to be mounted at /api/v1/ (it sees
// full paths such as /api/v1/devices). log may be nil.
func New(svc *service.Service, log *slog.Logger) http.Handler {
	return NewWithInstallers(svc, svc, log)
}

// NewWithInstallers is New with the source of installer downloads
// (GET /api/v1/installers/{kind}/{arch}) given apart from svc.
func NewWithInstallers(svc *service.Service, src InstallerSource, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{svc: svc, installers: src, log: log.With("component", "api")}
	return h.authenticate(h.routes())
}

// Routes lists every API route with the permission it requires, for the
// authorization tests.
func Routes() []auth.Route {
	h := &handler{svc: service.New(service.Deps{}), log: slog.New(slog.DiscardHandler)}
	return append(h.routes().Routes(), AgentInstallerRoutes()...)
}

// routes registers every API route with its permission (see
// docs/internals.md, "Authorization"). Object-level client scope is checked
// by the Service.
func (h *handler) routes() *auth.Router {
	rt := auth.NewRouter(h.guard)
	rt.HandleFunc("GET /api/v1/devices", authz.Read, h.listDevices)
	rt.HandleFunc("GET /api/v1/devices/{id}", authz.Read, h.getDevice)
	rt.HandleFunc("GET /api/v1/devices/{id}/checks", authz.Read, h.listChecks)
	rt.HandleFunc("POST /api/v1/devices/{id}/run-checks", authz.Operate, h.runChecks)
	h.tenancyRoutes(rt)
	h.policyRoutes(rt)
	h.alertRoutes(rt)
	h.maintenanceRoutes(rt)
	h.netDeviceRoutes(rt)
	h.protectionRoutes(rt)
	h.historyRoutes(rt)
	h.reportRoutes(rt)
	h.monthlyRoutes(rt)
	h.serverCheckRoutes(rt)
	h.remoteRoutes(rt)
	h.scriptRoutes(rt)
	h.packageRoutes(rt)
	h.inventoryRoutes(rt)
	h.patchRoutes(rt)
	h.supportRoutes(rt)
	h.releaseRoutes(rt)
	h.billingRoutes(rt)
	h.enrollmentRoutes(rt)
	rt.HandleFunc("/api/v1/", authz.Authenticated, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, protocol.ErrorResponse{Error: "no such API route", Code: "not_found"})
	})
	return rt
}

// guard refuses callers whose role lacks p with 403; authenticate has put
// the token's effective user into the context.
func (h *handler) guard(p authz.Perm, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.UserFrom(r.Context())
		if !authz.Allows(u, p) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				h.svc.RecordDenied(r.Context(), u, r.Method, r.URL.Path)
			}
			h.writeError(w, r, core.ErrForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authenticate puts the bearer token's user into the request context and
// refuses everything else, including unknown routes, with 401; the token of
// a user without a second factor is refused with 403 while 2FA is
// mandatory.
func (h *handler) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		u, err := h.svc.APIUser(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			if errors.Is(err, core.ErrUnauthorized) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="wacht"`)
			}
			h.writeError(w, r, err)
			return
		}
		ctx := auth.WithRemote(auth.WithUser(r.Context(), u), r.RemoteAddr)
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// listDevices answers one page of the device list (core.DeviceListQuery):
// ?q=, ?status=, ?online=, ?os=, ?client=, ?site=, ?role=, ?tag=,
// ?maintenance=, ?retired=true, ?sort=, ?order=asc|desc and the paging
// of parsePage (limit=all: every device).
func (h *handler) listDevices(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		q, err := deviceListQuery(r.URL.Query())
		if err != nil {
			return nil, err
		}
		p, err := h.svc.DeviceList(r.Context(), u, q)
		if err != nil {
			return nil, err
		}
		setPageHeaders(w, r, p.Next, p.Total)
		return p.Devices, nil
	})
}

// deviceListQuery parses the device list's query parameters.
func deviceListQuery(v url.Values) (core.DeviceListQuery, error) {
	pg, err := parsePage(v, true)
	if err != nil {
		return core.DeviceListQuery{}, err
	}
	q := core.DeviceListQuery{Search: v.Get("q"), OS: service.ListParam(v, "os"), Roles: service.ListParam(v, "role"),
		Tags: service.ListParam(v, "tag"), Sort: core.DeviceSort(v.Get("sort")), Limit: pg.Limit, Cursor: pg.Cursor}
	for _, name := range service.ListParam(v, "status") {
		st := core.ParseStatus(name)
		if st.String() != name {
			return q, queryError("status", fmt.Sprintf("unknown status %q", name), fmt.Sprintf("unbekannter Status %q", name))
		}
		q.Statuses = append(q.Statuses, st)
	}
	switch v.Get("order") {
	case "", "asc":
	case "desc":
		q.Desc = true
	default:
		return q, queryError("order", "must be asc or desc", "muss asc oder desc sein")
	}
	if q.ClientIDs, err = idsParam(v, "client"); err != nil {
		return q, err
	}
	if q.SiteIDs, err = idsParam(v, "site"); err != nil {
		return q, err
	}
	if q.Online, err = boolParam(v, "online"); err != nil {
		return q, err
	}
	if q.Maintenance, err = boolParam(v, "maintenance"); err != nil {
		return q, err
	}
	retired, err := boolParam(v, "retired")
	q.Retired = retired != nil && *retired
	return q, err
}

func (h *handler) getDevice(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(_ core.User, id int64) (any, error) { return h.svc.GetDevice(r.Context(), id) })
}

func (h *handler) listChecks(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(_ core.User, id int64) (any, error) { return h.svc.CheckStates(r.Context(), id) })
}

func (h *handler) runChecks(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) { return h.svc.RunChecks(r.Context(), u, id) })
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, core.ErrInvalid
	}
	return id, nil
}

// writeError answers err: a *policy.ValidationError as 400 with every
// refused field in English and German, anything else by Status.
func (h *handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *policy.ValidationError
	if errors.As(err, &ve) {
		msg := ve.Error()
		if ve.OnlyParams() {
			msg = "invalid check parameters"
		}
		writeJSON(w, http.StatusBadRequest, validationResponse{Error: msg, Code: "invalid", Fields: ve.Fields})
		return
	}
	var pe *policy.PrivilegeError
	if errors.As(err, &pe) {
		writeJSON(w, http.StatusForbidden, validationResponse{Error: pe.Error(), Code: "privileged", Fields: pe.Fields})
		return
	}
	status, code, msg := httperr.Status(err)
	if text, ok := service.Reason(err); ok {
		writeJSON(w, status, localizedError{Error: msg, Code: code, Message: text})
		return
	}
	if status == http.StatusInternalServerError {
		h.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, protocol.ErrorResponse{Error: msg, Code: code})
}

// localizedError is an error body that also says why in English and German.
type localizedError struct {
	Error   string    `json:"error"`
	Code    string    `json:"code"`
	Message core.Text `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the status is sent; a failed write has no one to tell
}
