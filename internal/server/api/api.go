// Package api serves Wacht's JSON REST API under /api/v1/: a thin transport
// that parses requests, calls the service layer (internal/service, which
// authorizes) and renders JSON. Every route needs a bearer API token; errors
// become HTTP statuses through httperr.
package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
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

// listDevices filters by ?tag=, ?client= and ?retired=true (include
// retired devices).
func (h *handler) listDevices(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		q := r.URL.Query()
		f := service.DeviceFilter{Tag: q.Get("tag"), IncludeRetire: q.Get("retired") == "true"}
		if c := q.Get("client"); c != "" {
			var err error
			if f.ClientID, err = strconv.ParseInt(c, 10, 64); err != nil {
				return nil, core.ErrInvalid
			}
		}
		return h.svc.ListDevicesFor(r.Context(), u, f)
	})
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
