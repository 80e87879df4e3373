package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/release"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/httperr"
	"github.com/wacht-rmm/wacht/internal/server/transfer"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The Agents page (issue 21, administrators): the published agent files
// with their upload, the fleet's agent versions, starting a rollout and
// the active rollout's progress, which refreshes itself (htmx).

func init() { pageNames = append(pageNames, "agents") }

// AgentsUploadPath takes the browser's multipart upload of a signed agent
// file (static/agents.js); the server streams it (not bounded by the
// dashboard's body limit, but by the blob store's).
const AgentsUploadPath = "/agents/files"

func (s *server) agentRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /agents", authz.Admin, s.withSession(s.agentsPage))
	rt.HandleFunc("POST "+AgentsUploadPath, authz.Admin, s.withSession(s.uploadAgentFile))
	rt.HandleFunc("POST /agents/files/{id}/delete", authz.Admin, s.withSession(s.deleteAgentFile))
	rt.HandleFunc("POST /agents/rollouts", authz.Admin, s.withSession(s.startRollout))
	rt.HandleFunc("GET /agents/rollouts/{id}/progress", authz.Admin, s.withSession(s.rolloutProgress))
	for _, a := range []string{service.RolloutPause, service.RolloutResume, service.RolloutPromote, service.RolloutCancel} {
		rt.HandleFunc("POST /agents/rollouts/{id}/"+a, authz.Admin, s.withSession(s.rolloutAction(a)))
	}
}

// versionRow is one bar of the fleet's versions.
type versionRow struct {
	core.VersionCount
	Percent int
}

type agentsPage struct {
	Files    []core.AgentFile
	Versions []versionRow
	Total    int
	// Binaries are the versions with at least one published binary, newest
	// first: what a rollout may take.
	Binaries []string
	Clients  []core.Client
	Rollout  *rolloutPage
	Recent   []core.Rollout
	Watchdog int
}

// rolloutPage is a rollout's progress.
type rolloutPage struct {
	service.RolloutView
	Active  bool
	Clients map[int64]string
	States  []stateCount
}

func (s *server) agentsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx := r.Context()
	p := agentsPage{Watchdog: 300}
	var err error
	if p.Files, err = s.svc.ListAgentFiles(ctx, rc.user); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	seen := map[string]bool{}
	for _, f := range p.Files {
		if f.Kind == release.KindBinary && !seen[f.Version] {
			seen[f.Version] = true
			p.Binaries = append(p.Binaries, f.Version)
		}
	}
	vs, err := s.svc.AgentVersions(ctx, rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	for _, v := range vs {
		p.Total += v.Devices
	}
	for _, v := range vs {
		p.Versions = append(p.Versions, versionRow{VersionCount: v, Percent: v.Devices * 100 / max(p.Total, 1)})
	}
	if p.Clients, err = s.svc.ListClients(ctx, rc.user); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if p.Recent, err = s.svc.ListRollouts(ctx, rc.user); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if len(p.Recent) > 0 {
		if p.Rollout, err = s.rolloutPage(r, rc, p.Recent[0].ID); err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "agents.title", p
	switch {
	case r.URL.Query().Get("uploaded") != "":
		v.Notice, v.NoticeKind = "agents.uploadedOK", "ok"
	case r.URL.Query().Get("deleted") != "":
		v.Notice, v.NoticeKind = "agents.deletedOK", "ok"
	}
	s.render(w, http.StatusOK, "agents", v)
}

// rolloutStates orders a rollout's counts on the page.
var rolloutStates = []string{service.CountPending, core.UpdateSent, core.UpdateDone, service.CountCurrent, core.UpdateRolledBack, core.UpdateFailed, service.CountSkipped}

func (s *server) rolloutPage(r *http.Request, rc *reqCtx, id int64) (*rolloutPage, error) {
	rv, err := s.svc.GetRollout(r.Context(), rc.user, id)
	if err != nil {
		return nil, err
	}
	cs, err := s.svc.ListClients(r.Context(), rc.user)
	if err != nil {
		return nil, err
	}
	p := &rolloutPage{RolloutView: rv, Active: rv.State == core.RolloutRunning || rv.State == core.RolloutPaused, Clients: map[int64]string{}}
	for _, c := range cs {
		p.Clients[c.ID] = c.Name
	}
	for _, st := range rolloutStates {
		p.States = append(p.States, stateCount{State: st, N: rv.Counts[st]})
	}
	return p, nil
}

// rolloutProgress is the rollout's progress alone, which the page polls
// while it is active.
func (s *server) rolloutProgress(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	var p *rolloutPage
	if err == nil {
		p, err = s.rolloutPage(r, rc, id)
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Page = agentsPage{Rollout: p}
	s.render(w, http.StatusOK, "rollout-progress", v)
}

// uploadAgentFile takes the multipart upload of static/agents.js: the
// part manifest first, then the part file, streamed into the blob store.
// It answers JSON: the file, or {code, message} in the page's language.
func (s *server) uploadAgentFile(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	af, err := s.readAgentUpload(w, r, rc)
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		status, code, _ := httperr.Status(err)
		msg, ok := refusal(rc.lang, err)
		if !ok {
			msg = rc.lang.T("agents.uploadFailed")
		}
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"code": code, "message": msg})
		return
	}
	json.NewEncoder(w).Encode(af)
}

func (s *server) readAgentUpload(w http.ResponseWriter, r *http.Request, rc *reqCtx) (core.AgentFile, error) {
	bad := func(field, key string) error {
		return &policy.ValidationError{Fields: []policy.FieldError{{Field: field,
			Message: core.Text{EN: langOf(langEN).T(key), DE: langOf(langDE).T(key)}}}}
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return core.AgentFile{}, bad("body", "agents.needBoth")
	}
	var signed *release.Signed
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return core.AgentFile{}, bad("file", "agents.needBoth")
		}
		if err != nil {
			return core.AgentFile{}, bad("body", "agents.needBoth")
		}
		switch part.FormName() {
		case "manifest":
			b, err := io.ReadAll(io.LimitReader(part, 64<<10))
			var sg release.Signed
			if err == nil {
				dec := json.NewDecoder(bytes.NewReader(b))
				dec.DisallowUnknownFields()
				err = dec.Decode(&sg)
			}
			if err != nil {
				return core.AgentFile{}, bad("manifest", "agents.badManifest")
			}
			signed = &sg
		case "file":
			if signed == nil {
				return core.AgentFile{}, bad("manifest", "agents.needBoth")
			}
			return s.svc.PublishAgentFile(r.Context(), rc.user, *signed, transfer.Body(w, &http.Request{Body: io.NopCloser(part)}))
		}
		part.Close()
	}
}

func (s *server) deleteAgentFile(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	s.act(w, r, rc, func(id int64) (string, error) {
		return "/agents?deleted=1", s.svc.DeleteAgentFile(r.Context(), rc.user, id)
	})
}

func (s *server) startRollout(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	num := func(name string) int {
		n, _ := strconv.Atoi(r.PostFormValue(name))
		return n
	}
	nr := service.NewRollout{Version: r.PostFormValue("version"), PilotPercent: num("pilot_percent"),
		AutoPromote: r.PostFormValue("auto_promote") != "", AllowDowngrade: r.PostFormValue("allow_downgrade") != "",
		MaxFailures: num("max_failures"), WatchdogSeconds: num("watchdog_seconds"), Concurrency: num("concurrency")}
	for _, c := range r.PostForm["pilot_clients"] {
		id, err := strconv.ParseInt(c, 10, 64)
		if err != nil {
			s.renderError(w, r, rc.lang, core.ErrInvalid)
			return
		}
		nr.PilotClients = append(nr.PilotClients, id)
	}
	if _, err := s.svc.StartRollout(r.Context(), rc.user, nr); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/agents#rollout", http.StatusSeeOther)
}

func (s *server) rolloutAction(action string) func(http.ResponseWriter, *http.Request, *reqCtx) {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		s.act(w, r, rc, func(id int64) (string, error) {
			_, err := s.svc.RolloutAction(r.Context(), rc.user, id, action)
			return "/agents#rollout", err
		})
	}
}
