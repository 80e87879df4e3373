package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// scriptRoutes are the script library's routes. Reading needs Read;
// changing the library needs Remote, like running a script: a script is
// code that runs as SYSTEM or root on customers' machines.
func (h *handler) scriptRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/scripts", authz.Read, h.listScripts)
	rt.HandleFunc("POST /api/v1/scripts", authz.Remote, h.createScript)
	rt.HandleFunc("GET /api/v1/scripts/{id}", authz.Read, h.getScript)
	rt.HandleFunc("PUT /api/v1/scripts/{id}", authz.Remote, h.updateScript)
	rt.HandleFunc("DELETE /api/v1/scripts/{id}", authz.Remote, h.deleteScript)
	rt.HandleFunc("POST /api/v1/scripts/{id}/run", authz.Remote, h.runScript)
	rt.HandleFunc("GET /api/v1/jobs/{id}", authz.Read, h.getJob)
	rt.HandleFunc("POST /api/v1/jobs/{id}/cancel", authz.Remote, h.cancelJob)
	rt.HandleFunc("GET /api/v1/devices/{id}/runs", authz.Read, h.deviceRuns)
}

// scriptError answers a refused change of a built-in script with its
// reason; everything else as writeError does.
func (h *handler) scriptError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, service.ErrBuiltinScript) {
		writeJSON(w, http.StatusForbidden, localizedError{Error: "built-in scripts are read-only", Code: "builtin", Message: core.Text{
			EN: "built-in scripts are read-only; create a script of your own from its body to change it",
			DE: "mitgelieferte Skripte sind schreibgeschützt; legen Sie mit ihrem Inhalt ein eigenes Skript an, um es zu ändern"}})
		return
	}
	var inUse *service.ScriptInUseError
	if errors.As(err, &inUse) {
		writeJSON(w, http.StatusConflict, localizedError{Error: inUse.Error(), Code: "in_use", Message: inUse.Localized()})
		return
	}
	h.writeError(w, r, err)
}

func (h *handler) listScripts(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.ListScripts(r.Context(), u) })
}

// getScript answers the current version, or ?version=N.
func (h *handler) getScript(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		version := 0
		if v := r.URL.Query().Get("version"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return nil, core.ErrInvalid
			}
			version = n
		}
		return h.svc.GetScript(r.Context(), u, id, version)
	})
}

func (h *handler) saveScript(r *http.Request, u core.User, id int64) (any, error) {
	var in service.ScriptInput
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	return h.svc.SaveScript(r.Context(), u, id, in)
}

func (h *handler) createScript(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.scriptError).serve(w, r, http.StatusCreated, func(u core.User) (any, error) { return h.saveScript(r, u, 0) })
}

func (h *handler) updateScript(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.scriptError).withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) { return h.saveScript(r, u, id) })
}

// deleteScript refuses (409, code in_use) a script that policies run,
// unless ?force=1.
func (h *handler) deleteScript(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.scriptError).withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		return nil, h.svc.DeleteScript(r.Context(), u, id, r.URL.Query().Get("force") == "1")
	})
}

func (h *handler) runScript(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.scriptError).withID(w, r, http.StatusAccepted, func(u core.User, id int64) (any, error) {
		var in service.RunRequest
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		return h.svc.RunScript(r.Context(), u, id, in)
	})
}

func (h *handler) getJob(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) { return h.svc.GetJob(r.Context(), u, id) })
}

// cancelJob cancels the job's queued runs and answers its progress.
func (h *handler) cancelJob(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) { return h.svc.CancelJob(r.Context(), u, id) })
}

func (h *handler) deviceRuns(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		return servePage(w, r, func(after core.PageKey, limit int) ([]core.ScriptRun, error) {
			return h.svc.DeviceRuns(r.Context(), u, id, after, limit)
		}, func(x core.ScriptRun) core.PageKey { return core.PageKey{At: x.QueuedAt, Name: x.ID} }, nil)
	})
}
