package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime/multipart"
	"net/http"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/release"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/transfer"
	"github.com/wacht-rmm/wacht/internal/service"
)

// Agent files, rollouts and the fleet's versions (issue 21).
func (h *handler) releaseRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/agent-files", authz.Read, h.listAgentFiles)
	rt.HandleFunc("POST /api/v1/agent-files", authz.Admin, h.publishAgentFile)
	rt.HandleFunc("DELETE /api/v1/agent-files/{id}", authz.Admin, h.deleteAgentFile)
	rt.HandleFunc("GET /api/v1/rollouts", authz.Admin, h.listRollouts)
	rt.HandleFunc("POST /api/v1/rollouts", authz.Admin, h.startRollout)
	rt.HandleFunc("GET /api/v1/rollouts/{id}", authz.Admin, h.getRollout)
	for _, a := range []string{service.RolloutPause, service.RolloutResume, service.RolloutPromote, service.RolloutCancel} {
		rt.HandleFunc("POST /api/v1/rollouts/{id}/"+a, authz.Admin, h.rolloutAction(a))
	}
	rt.HandleFunc("GET /api/v1/agent-versions", authz.Admin, h.agentVersions)
}

func (h *handler) listAgentFiles(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.ListAgentFiles(r.Context(), u) })
}

// maxManifest bounds the manifest part of an upload.
const maxManifest = 64 << 10

// publishAgentFile takes a multipart body: the part "manifest" (the
// .sig.json) first, then the part "file" (the bytes), streamed into the
// blob store.
func (h *handler) publishAgentFile(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusCreated, func(u core.User) (any, error) {
		bad := func(field, en, de string) error {
			return &policy.ValidationError{Fields: []policy.FieldError{{Field: field, Message: core.Text{EN: en, DE: de}}}}
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{transfer.Body(w, r), r.Body}
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, bad("body", "send multipart/form-data with the parts manifest and file", "senden Sie multipart/form-data mit den Teilen manifest und file")
		}
		var signed *release.Signed
		for {
			p, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, bad("body", "the multipart body is broken: "+err.Error(), "der Multipart-Inhalt ist fehlerhaft: "+err.Error())
			}
			switch p.FormName() {
			case "manifest":
				s, err := readManifest(p)
				if err != nil {
					return nil, bad("manifest", "the manifest is not a signed manifest (.sig.json): "+err.Error(), "das Manifest ist kein signiertes Manifest (.sig.json): "+err.Error())
				}
				signed = &s
			case "file":
				if signed == nil {
					return nil, bad("manifest", "send the part manifest before the part file", "senden Sie den Teil manifest vor dem Teil file")
				}
				return h.svc.PublishAgentFile(r.Context(), u, *signed, p)
			}
			p.Close()
		}
		return nil, bad("file", "the part file is missing", "der Teil file fehlt")
	})
}

func readManifest(p *multipart.Part) (release.Signed, error) {
	b, err := io.ReadAll(io.LimitReader(p, maxManifest+1))
	if err != nil {
		return release.Signed{}, err
	}
	if len(b) > maxManifest {
		return release.Signed{}, errors.New("larger than 64 KiB")
	}
	var s release.Signed
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return release.Signed{}, err
	}
	return s, nil
}

func (h *handler) deleteAgentFile(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		return nil, h.svc.DeleteAgentFile(r.Context(), u, id)
	})
}

func (h *handler) listRollouts(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.ListRollouts(r.Context(), u) })
}

func (h *handler) startRollout(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusCreated, func(u core.User) (any, error) {
		var nr service.NewRollout
		if err := decodeBody(r, &nr); err != nil {
			return nil, err
		}
		return h.svc.StartRollout(r.Context(), u, nr)
	})
}

func (h *handler) getRollout(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) { return h.svc.GetRollout(r.Context(), u, id) })
}

func (h *handler) rolloutAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
			return h.svc.RolloutAction(r.Context(), u, id, action)
		})
	}
}

func (h *handler) agentVersions(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.AgentVersions(r.Context(), u) })
}
