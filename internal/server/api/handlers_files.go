package api

import (
	"net/http"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/transfer"
	"github.com/wacht-rmm/wacht/internal/service"
)

// fileRoutes are the routes of a device's file browser. The content routes
// stream: nothing holds a whole file in memory.
func (h *handler) fileRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/devices/{id}/files", authz.Remote, h.listFiles)
	rt.HandleFunc("DELETE /api/v1/devices/{id}/files", authz.Remote, h.deleteFile)
	rt.HandleFunc("POST /api/v1/devices/{id}/files/mkdir", authz.Remote, h.mkdir)
	rt.HandleFunc("POST /api/v1/devices/{id}/files/rename", authz.Remote, h.renameFile)
	rt.HandleFunc("GET /api/v1/devices/{id}/files/content", authz.Remote, h.downloadFile)
	rt.HandleFunc("PUT /api/v1/devices/{id}/files/content", authz.Remote, h.uploadFile)
}

func (h *handler) listFiles(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		return h.svc.ListFiles(r.Context(), u, id, r.URL.Query().Get("path"))
	})
}

func (h *handler) deleteFile(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		q := r.URL.Query()
		return nil, h.svc.DeleteFile(r.Context(), u, id, q.Get("path"), q.Get("recursive") == "true")
	})
}

func (h *handler) mkdir(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		var in struct {
			Path string `json:"path"`
		}
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		return nil, h.svc.Mkdir(r.Context(), u, id, in.Path)
	})
}

func (h *handler) renameFile(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		var in struct {
			From string `json:"from"`
			To   string `json:"to"`
		}
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		return nil, h.svc.RenameFile(r.Context(), u, id, in.From, in.To)
	})
}

// downloadFile streams a file: Content-Length when the size is known, or,
// for a client that sends "TE: trailers", chunked with the content's
// SHA-256 in the trailer X-Content-SHA256. A transfer that fails midway
// aborts the connection, so that no client takes a cut-off body for the
// file.
func (h *handler) downloadFile(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		var u core.User
		if u, err = service.Caller(r.Context()); err == nil {
			err = transfer.Download(w, r, h.svc, u, id, r.URL.Query().Get("path"))
		}
	}
	if err != nil {
		h.writeError(w, r, err)
	}
}

// uploadFile streams the request body to the device: it needs a
// Content-Length (the agent is told the size in the signed opening);
// X-Content-SHA256, if given, is the content's hash the agent checks.
func (h *handler) uploadFile(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		q := r.URL.Query()
		req := service.UploadRequest{
			Path: q.Get("path"), Size: r.ContentLength, SHA256: r.Header.Get(transfer.HashHeader),
			Overwrite: q.Get("overwrite") == "true",
		}
		return h.svc.Upload(r.Context(), u, id, req, transfer.Body(w, r))
	})
}
