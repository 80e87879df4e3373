package api

import (
	"context"
	"fmt"
	"net/http"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/termws"
	"github.com/wacht-rmm/wacht/internal/service"
)

// remoteRoutes are the routes of remote management (command line,
// terminal, processes, services, files), its recordings and settings.
func (h *handler) remoteRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/settings/remote", authz.Admin, h.getRemoteSettings)
	rt.HandleFunc("PUT /api/v1/settings/remote", authz.Admin, h.putRemoteSettings)
	rt.HandleFunc("GET /api/v1/devices/{id}/terminal", authz.Remote, h.terminal)
	rt.HandleFunc("GET /api/v1/recordings/{id}", authz.Admin, h.getRecording)
}

// terminal is the terminal's websocket for API clients (termws): the
// rules are checked before the upgrade, so a refusal is an HTTP status.
func (h *handler) terminal(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	id, err := pathID(r)
	if err == nil {
		err = h.svc.TerminalAllowed(r.Context(), u, id)
	}
	if err == nil && !termws.IsWebsocket(r) {
		err = fmt.Errorf("the terminal is a websocket (Upgrade: websocket): %w", core.ErrInvalid)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	req := termws.Request(r)
	if err := termws.Serve(w, r, func(ctx context.Context) (*service.Terminal, error) {
		return h.svc.OpenTerminal(ctx, u, id, req)
	}); err != nil {
		h.log.Info("terminal ended with an error", "device", id, "user", u.Email, "err", err)
	}
}

// getRecording returns a terminal recording as its asciicast v2 file
// (administrators; audited as a replay).
func (h *handler) getRecording(w http.ResponseWriter, r *http.Request) {
	u, _ := auth.UserFrom(r.Context())
	id, err := pathID(r)
	var rec core.Recording
	if err == nil {
		rec, err = h.svc.Recording(r.Context(), u, id)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-asciicast")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="recording-%d.cast"`, rec.ID))
	if err := h.svc.ReplayRecording(r.Context(), u, id, w); err != nil {
		h.log.Error("replaying a recording", "recording", id, "err", err)
	}
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
