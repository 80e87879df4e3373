package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/termws"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The device's terminal (xterm.js over a websocket on this origin,
// internal/server/termws) and the replay of recorded sessions for
// administrators.

func init() { pageNames = append(pageNames, "device-terminal", "recording") }

// cspTerminal is csp with inline styles allowed: xterm.js sets its theme
// and cell sizes in <style> elements it creates. Scripts stay 'self' only.
const cspTerminal = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

func (s *server) terminalRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /devices/{id}/terminal", authz.Remote, s.withSession(s.terminalPage))
	rt.HandleFunc("GET /devices/{id}/terminal/ws", authz.Remote, s.withSession(s.terminalWS))
	rt.HandleFunc("GET /recordings/{id}", authz.Admin, s.withSession(s.recordingPage))
	rt.HandleFunc("GET /recordings/{id}/cast", authz.Admin, s.withSession(s.recordingCast))
}

// shells are the shells offered per OS, the device's default first.
var shells = map[string][]string{
	"linux":   {"bash", "sh", "zsh"},
	"darwin":  {"zsh", "bash", "sh"},
	"windows": {"powershell", "pwsh", "cmd"},
}

type terminalPage struct {
	Shells  []string
	WS      string
	Refused string // why no terminal can be opened (the local lock…)
}

func (s *server) terminalPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	d, err := s.svc.GetDevice(r.Context(), id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Title = "term.title"
	v.Device = newDeviceView(d, rc.lang)
	p := terminalPage{Shells: shells[d.OS], WS: fmt.Sprintf("/devices/%d/terminal/ws", id)}
	if p.Shells == nil {
		p.Shells = []string{"sh"}
	}
	if err := s.svc.TerminalAllowed(r.Context(), rc.user, id); err != nil {
		t, ok := service.Reason(err)
		switch {
		case errors.Is(err, core.ErrNotFound) || errors.Is(err, core.ErrForbidden) && !ok:
			s.renderError(w, r, rc.lang, err)
			return
		case ok:
			p.Refused = rc.lang.Message(t)
		case errors.Is(err, core.ErrOffline):
			p.Refused = rc.lang.T("term.offline")
		default:
			s.renderError(w, r, rc.lang, err)
			return
		}
	}
	v.Page = p
	w.Header().Set("Content-Security-Policy", cspTerminal)
	s.render(w, http.StatusOK, "device-terminal", v)
}

// terminalWS is the terminal's websocket. The rules are checked before
// the upgrade so that a refusal is an HTTP status; what only the agent
// knows (a busy device, an unknown shell) arrives as the exit message.
func (s *server) terminalWS(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err == nil {
		err = s.svc.TerminalAllowed(r.Context(), rc.user, id)
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if !termws.IsWebsocket(r) {
		http.Error(w, "websocket required", http.StatusBadRequest)
		return
	}
	req := termws.Request(r)
	err = termws.Serve(w, r, func(ctx context.Context) (*service.Terminal, error) {
		return s.svc.OpenTerminal(ctx, rc.user, id, req)
	})
	if err != nil {
		s.log.Info("terminal ended with an error", "device", id, "user", rc.user.Email, "err", err)
	}
}

type recordingPage struct {
	Rec      core.Recording
	Hostname string
	Cast     string
}

func (s *server) recordingPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	var rec core.Recording
	if err == nil {
		rec, err = s.svc.Recording(r.Context(), rc.user, id)
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Title = "rec.title"
	p := recordingPage{Rec: rec, Cast: "/recordings/" + strconv.FormatInt(id, 10) + "/cast", Hostname: "#" + strconv.FormatInt(rec.DeviceID, 10)}
	if d, err := s.svc.GetDevice(r.Context(), rec.DeviceID); err == nil {
		p.Hostname = d.Hostname
	}
	v.Page = p
	w.Header().Set("Content-Security-Policy", cspTerminal)
	s.render(w, http.StatusOK, "recording", v)
}

// recordingCast serves the .cast file the replay page plays (audited as
// a replay).
func (s *server) recordingCast(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err == nil {
		_, err = s.svc.Recording(r.Context(), rc.user, id)
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	w.Header().Set("Content-Type", "application/x-asciicast")
	if err := s.svc.ReplayRecording(r.Context(), rc.user, id, w); err != nil {
		s.log.Error("replaying a recording", "recording", id, "err", err)
	}
}

// auditRow is an audit entry with the recording it names, if any: the
// end of a terminal session links to its replay.
type auditRow struct {
	core.AuditEntry
	Recording int64
}

func auditRows(es []core.AuditEntry) []auditRow {
	rows := make([]auditRow, len(es))
	for i, e := range es {
		rows[i].AuditEntry = e
		if e.Action == "device.terminal.end" {
			if _, after, ok := strings.Cut(e.Detail, "recording="); ok {
				num, _, _ := strings.Cut(after, " ")
				rows[i].Recording, _ = strconv.ParseInt(num, 10, 64)
			}
		}
	}
	return rows
}
