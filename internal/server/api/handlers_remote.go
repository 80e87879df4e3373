package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// remoteRoutes are the routes of remote management (command line,
// processes, services, files) and its settings.
func (h *handler) remoteRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/settings/remote", authz.Admin, h.getRemoteSettings)
	rt.HandleFunc("PUT /api/v1/settings/remote", authz.Admin, h.putRemoteSettings)
	rt.HandleFunc("POST /api/v1/devices/{id}/exec", authz.Remote, h.exec)
	rt.HandleFunc("GET /api/v1/devices/{id}/processes", authz.Remote, h.processes)
	rt.HandleFunc("POST /api/v1/devices/{id}/processes/{pid}/kill", authz.Remote, h.killProcess)
	rt.HandleFunc("GET /api/v1/devices/{id}/services", authz.Remote, h.services)
	rt.HandleFunc("POST /api/v1/devices/{id}/services/{name}/{op}", authz.Remote, h.controlService)
	rt.HandleFunc("PUT /api/v1/devices/{id}/services/{name}/start-type", authz.Remote, h.setStartType)
}

// remote answers a remote action: invalid input field by field, a
// refusal with its reason in English and German (writeError).
func (h *handler) remote(w http.ResponseWriter, r *http.Request, fn func(u core.User, id int64) (any, error)) {
	waitLonger(w, service.RemoteWait)
	h.withID(w, r, http.StatusOK, fn)
}

// waitLonger lets the answer take d beyond the server's write timeout:
// a command may run for up to an hour, a service take minutes to stop.
func waitLonger(w http.ResponseWriter, d time.Duration) {
	// Not every writer can (a test recorder); the server's timeout then
	// stands.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(d + time.Minute))
}

func (h *handler) exec(w http.ResponseWriter, r *http.Request) {
	h.remote(w, r, func(u core.User, id int64) (any, error) {
		var in service.ExecRequest
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		waitLonger(w, in.Wait())
		return h.svc.Exec(r.Context(), u, id, in)
	})
}

func (h *handler) processes(w http.ResponseWriter, r *http.Request) {
	h.remote(w, r, func(u core.User, id int64) (any, error) { return h.svc.Processes(r.Context(), u, id) })
}

// killProcess ends process {pid}; ?tree=true ends its descendants too, an
// optional body {"start_time":…,"tree":…} names the process as listed.
func (h *handler) killProcess(w http.ResponseWriter, r *http.Request) {
	h.remote(w, r, func(u core.User, id int64) (any, error) {
		var in service.KillRequest
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil && !errors.Is(err, io.EOF) { // no body: look the process up
			return nil, &policy.ValidationError{Fields: []policy.FieldError{{Field: "body",
				Message: core.Text{EN: "not valid JSON: " + err.Error(), DE: "kein gültiges JSON: " + err.Error()}}}}
		}
		pid, err := strconv.ParseInt(r.PathValue("pid"), 10, 32)
		if err != nil {
			return nil, &policy.ValidationError{Fields: []policy.FieldError{{Field: "pid",
				Message: core.Text{EN: "a process ID is a positive number", DE: "eine Prozess-ID ist eine positive Zahl"}}}}
		}
		in.PID = int32(pid)
		if t := r.URL.Query().Get("tree"); t != "" {
			in.Tree = t == "true" || t == "1"
		}
		return h.svc.KillProcess(r.Context(), u, id, in)
	})
}

func (h *handler) services(w http.ResponseWriter, r *http.Request) {
	h.remote(w, r, func(u core.User, id int64) (any, error) { return h.svc.Services(r.Context(), u, id) })
}

// controlService runs {op} (start, stop, restart) on service {name}.
func (h *handler) controlService(w http.ResponseWriter, r *http.Request) {
	h.remote(w, r, func(u core.User, id int64) (any, error) {
		op := r.PathValue("op")
		if op == protocol.ServiceSetStartType {
			return nil, core.ErrNotFound // PUT …/start-type
		}
		return h.svc.ControlService(r.Context(), u, id, r.PathValue("name"), op, "")
	})
}

func (h *handler) setStartType(w http.ResponseWriter, r *http.Request) {
	h.remote(w, r, func(u core.User, id int64) (any, error) {
		var in struct {
			StartType string `json:"start_type"`
		}
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		return h.svc.ControlService(r.Context(), u, id, r.PathValue("name"), protocol.ServiceSetStartType, in.StartType)
	})
}

func (h *handler) getRemoteSettings(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.RemoteSettings(r.Context(), u) })
}

func (h *handler) putRemoteSettings(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.policyError).serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		var in service.RemoteSettings
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		if err := h.svc.SetRemoteSettings(r.Context(), u, in); err != nil {
			return nil, err
		}
		return h.svc.RemoteSettings(r.Context(), u)
	})
}
