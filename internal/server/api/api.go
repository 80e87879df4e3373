// Package api serves Wacht's JSON REST API under /api/v1/. Every route needs
// a bearer API token; core sentinel errors map to HTTP status codes here,
// exactly once (see writeError).
package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// Commander sends a command to a connected agent and waits for its answer.
type Commander interface {
	// Command returns core.ErrOffline when the device is not connected.
	Command(ctx context.Context, deviceID int64, cmd protocol.Command) (protocol.CommandResult, error)
}

// Deps are the API's collaborators.
type Deps struct {
	Store     core.Store
	Commander Commander
	Log       *slog.Logger
	// Secrets seals network devices' secret parameters (nil: devices
	// with secrets cannot be saved).
	Secrets *seal.Box
	// Audits, if set, writes the audit entries of agent commands in the
	// background (nil: at once).
	Audits *AuditQueue
}

// Device is a device as the API returns it: the stored facts plus whether
// the agent is online now.
type Device struct {
	core.Device
	Online bool `json:"online"`
}

type handler struct {
	svc *Service
	log *slog.Logger
}

// New returns the API handler, to be mounted at /api/v1/ (it sees full
// paths such as /api/v1/devices).
func New(d Deps) http.Handler {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{svc: NewService(d), log: log.With("component", "api")}
	return h.authenticate(h.routes())
}

// Routes lists every API route with the permission it requires, for the
// authorization tests.
func Routes() []auth.Route {
	h := &handler{svc: NewService(Deps{}), log: slog.New(slog.DiscardHandler)}
	return h.routes().Routes()
}

// routes registers every API route with its permission (see
// docs/internals.md, "Authorization"). Object-level client scope is checked
// by the Service.
func (h *handler) routes() *auth.Router {
	rt := auth.NewRouter(h.guard)
	rt.HandleFunc("GET /api/v1/devices", auth.Read, h.listDevices)
	rt.HandleFunc("GET /api/v1/devices/{id}", auth.Read, h.getDevice)
	rt.HandleFunc("GET /api/v1/devices/{id}/checks", auth.Read, h.listChecks)
	rt.HandleFunc("POST /api/v1/devices/{id}/run-checks", auth.Operate, h.runChecks)
	h.tenancyRoutes(rt)
	h.policyRoutes(rt)
	h.alertRoutes(rt)
	h.maintenanceRoutes(rt)
	h.netDeviceRoutes(rt)
	h.protectionRoutes(rt)
	h.historyRoutes(rt)
	h.reportRoutes(rt)
	h.serverCheckRoutes(rt)
	rt.HandleFunc("/api/v1/", auth.Authenticated, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, protocol.ErrorResponse{Error: "no such API route", Code: "not_found"})
	})
	return rt
}

// guard refuses callers whose role lacks p with 403; authenticate has put
// the token's effective user into the context.
func (h *handler) guard(p auth.Perm, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.UserFrom(r.Context())
		if !auth.Allows(u, p) {
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
		u, err := auth.BearerUser(r.Context(), h.svc.store, r, time.Now())
		if err != nil {
			if errors.Is(err, core.ErrUnauthorized) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="wacht"`)
			}
			h.writeError(w, r, err)
			return
		}
		if err := CheckTOTP(r.Context(), h.svc.store, u); err != nil {
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
		f := DeviceFilter{Tag: q.Get("tag"), IncludeRetire: q.Get("retired") == "true"}
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

// Status maps an error to its HTTP status code, a stable code for clients and
// a message that is safe to show: the one place where core sentinel errors
// become HTTP.
func Status(err error) (status int, code, msg string) {
	for _, rf := range refusals {
		if errors.Is(err, rf.err) {
			return rf.status, rf.code, rf.text.EN
		}
	}
	switch {
	case errors.Is(err, core.ErrNotFound):
		return http.StatusNotFound, "not_found", "not found"
	case errors.Is(err, core.ErrOffline):
		return http.StatusConflict, "offline", "the device's agent is offline"
	case errors.Is(err, core.ErrConflict):
		return http.StatusConflict, "conflict", "conflict"
	case errors.Is(err, core.ErrInvalid):
		return http.StatusBadRequest, "invalid", "invalid input"
	case errors.Is(err, core.ErrUnauthorized):
		return http.StatusUnauthorized, "unauthorized", "a valid API token is required"
	case errors.Is(err, core.ErrForbidden):
		return http.StatusForbidden, "forbidden", "your role does not allow this"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "timeout", "the agent did not answer in time"
	default:
		return http.StatusInternalServerError, "internal", "internal server error"
	}
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
	status, code, msg := Status(err)
	if text, ok := Reason(err); ok {
		writeJSON(w, status, localizedError{Error: msg, Code: code, Message: text})
		return
	}
	if status == http.StatusInternalServerError {
		h.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, protocol.ErrorResponse{Error: msg, Code: code})
}

// refusals are the errors whose reason the API states in English and
// German, with their own status and code.
var refusals = []struct {
	err    error
	status int
	code   string
	text   core.Text
}{
	{ErrTOTPRequired, http.StatusForbidden, "2fa_required", core.Text{
		EN: "two-factor sign-in is mandatory on this server: set it up for your account in the dashboard before using or creating API tokens",
		DE: "die Anmeldung mit zweitem Faktor ist auf diesem Server Pflicht: richten Sie sie für Ihr Konto im Dashboard ein, bevor Sie API-Tokens verwenden oder anlegen"}},
	{ErrLastAdmin, http.StatusConflict, "last_admin", core.Text{
		EN: "the last active administrator cannot be disabled or deleted: make another user administrator first",
		DE: "der letzte aktive Administrator kann nicht deaktiviert oder gelöscht werden: machen Sie zuerst einen anderen Benutzer zum Administrator"}},
	{ErrSelf, http.StatusConflict, "self", core.Text{
		EN: "you cannot disable or delete your own account",
		DE: "Sie können Ihr eigenes Konto nicht deaktivieren oder löschen"}},
}

// Reason returns the English and German reason of a refusal (such as
// ErrTOTPRequired or ErrLastAdmin), if err is one.
func Reason(err error) (core.Text, bool) {
	for _, rf := range refusals {
		if errors.Is(err, rf.err) {
			return rf.text, true
		}
	}
	return core.Text{}, false
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
