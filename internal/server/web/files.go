package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/fspath"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/httperr"
	"github.com/wacht-rmm/wacht/internal/server/transfer"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The file browser of a device: drives (Windows), folders with
// breadcrumbs, download links, new folder, rename, delete with a
// confirmation step, and uploads that the browser streams with a PUT
// (static/upload.js) because a form POST is bounded to 64 KiB. Names typed
// in the forms are joined to the folder here, for the device's OS; the
// agent checks every path again.

func init() { pageNames = append(pageNames, "device-files") }

func (s *server) fileRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /devices/{id}/files", authz.Remote, s.withSession(s.filesPage))
	rt.HandleFunc("GET /devices/{id}/files/content", authz.Remote, s.withSession(s.downloadFile))
	rt.HandleFunc("PUT /devices/{id}/files/content", authz.Remote, s.withSession(s.uploadFile))
	rt.HandleFunc("POST /devices/{id}/files/mkdir", authz.Remote, s.withSession(s.fileMkdir))
	rt.HandleFunc("POST /devices/{id}/files/rename", authz.Remote, s.withSession(s.fileRename))
	rt.HandleFunc("POST /devices/{id}/files/delete", authz.Remote, s.withSession(s.fileDelete))
}

type filesPage struct {
	DeviceID int64
	Hostname string
	OS       string
	Path     string // the folder shown, "" for the drives
	Sep      string // the device's path separator
	Crumbs   []crumb
	Entries  []fileRow
	Trunc    bool
	Failed   string // why the folder could not be listed, in the page's language
}

type crumb struct{ Name, Path string }

type fileRow struct {
	protocol.FileEntry
	Path string // the entry's full path
	Dir  bool   // opens as a folder (a folder or a drive)
}

func (s *server) filesPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q, done := r.URL.Query(), ""
	switch d := q.Get("done"); d {
	case "mkdir", "rename", "delete", "upload":
		done = "files.done." + d
	}
	s.renderFiles(w, r, rc, q.Get("path"), done, nil)
}

// renderFiles lists folder path of the request's device, with done (a
// catalog key) or failed (an action's error) above it.
func (s *server) renderFiles(w http.ResponseWriter, r *http.Request, rc *reqCtx, path, done string, failed error) {
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
	p := filesPage{DeviceID: id, Hostname: d.Hostname, OS: d.OS, Path: path, Sep: "/"}
	if d.OS == "windows" {
		p.Sep = `\`
	} else if path == "" {
		p.Path = "/"
	}
	status := http.StatusOK
	list, err := s.svc.ListFiles(r.Context(), rc.user, id, p.Path)
	if err == nil {
		p.Path, p.Trunc = list.Path, list.Truncated
		for _, e := range list.Entries {
			row := fileRow{FileEntry: e, Dir: e.Type == "dir" || e.Type == "drive", Path: e.Name}
			if e.Type != "drive" {
				row.Path = fspath.Join(d.OS, list.Path, e.Name)
			}
			p.Entries = append(p.Entries, row)
		}
	} else if failed == nil {
		failed = err
	}
	p.Crumbs = crumbs(d.OS, p.Path)
	v := s.view(r, rc.lang, rc)
	v.Title = "files.title"
	if failed != nil {
		p.Failed = s.fileError(rc.lang, failed)
		status, _, _ = httperr.Status(failed)
	} else if done != "" {
		v.Notice, v.NoticeKind = done, "ok"
	}
	v.Page = p
	s.render(w, status, "device-files", v)
}

// fileError is why a file action failed, in lang: the agent's reason, the
// refused input, or what the error's code means.
func (s *server) fileError(lang Lang, err error) string {
	status, code, _ := httperr.Status(err)
	if status == http.StatusInternalServerError {
		s.log.Error("file browser", "err", err)
	}
	var ve *policy.ValidationError
	if errors.As(err, &ve) {
		return ve.In(lang.Code())
	}
	if t, ok := service.Reason(err); ok {
		return lang.Message(t)
	}
	if msg := lang.T("files.err." + code); msg != "files.err."+code {
		return msg
	}
	return lang.T("files.err.internal")
}

// crumbs splits a cleaned path into its folders, each with its path; on
// Windows the first is the list of drives.
func crumbs(goos, p string) []crumb {
	if goos != "windows" {
		cs := []crumb{{Name: "/", Path: "/"}}
		cur := ""
		for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
			if part != "" {
				cur += "/" + part
				cs = append(cs, crumb{Name: part, Path: cur})
			}
		}
		return cs
	}
	cs := []crumb{{Name: "", Path: ""}} // the drives
	if p == "" {
		return cs
	}
	parts := strings.Split(strings.TrimRight(p, `\`), `\`)
	cur := ""
	for i, part := range parts {
		if i == 0 {
			cur = part + `\` // C:\
			cs = append(cs, crumb{Name: cur, Path: cur})
			continue
		}
		cur = fspath.Join(goos, cur, part)
		cs = append(cs, crumb{Name: part, Path: cur})
	}
	return cs
}

// child joins a name typed into a form to the folder dir, refusing what
// is no single name.
func child(goos, dir, name string) (string, error) {
	bad := name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") ||
		goos == "windows" && strings.ContainsAny(name, `\:*?"<>|`)
	if bad || dir == "" {
		return "", &policy.ValidationError{Fields: []policy.FieldError{{Field: "name", Message: core.Text{
			EN: "give one name, without a folder separator", DE: "einen einzelnen Namen ohne Ordnertrenner angeben"}}}}
	}
	return fspath.Join(goos, dir, name), nil
}

// fileForm runs a form's action on the device and shows the folder again,
// with the outcome.
func (s *server) fileForm(w http.ResponseWriter, r *http.Request, rc *reqCtx, done string, act func(id int64, goos, dir string) error) {
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
	dir := r.PostFormValue("dir")
	if err := act(id, d.OS, dir); err != nil {
		s.renderFiles(w, r, rc, dir, "", err)
		return
	}
	http.Redirect(w, r, "/devices/"+strconv.FormatInt(id, 10)+"/files?path="+url.QueryEscape(dir)+"&done="+done, http.StatusSeeOther)
}

func (s *server) fileMkdir(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.fileForm(w, r, rc, "mkdir", func(id int64, goos, dir string) error {
		p, err := child(goos, dir, r.PostFormValue("name"))
		if err != nil {
			return err
		}
		return s.svc.Mkdir(r.Context(), rc.user, id, p)
	})
}

func (s *server) fileRename(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.fileForm(w, r, rc, "rename", func(id int64, goos, dir string) error {
		from, err := child(goos, dir, r.PostFormValue("name"))
		if err != nil {
			return err
		}
		to, err := child(goos, dir, r.PostFormValue("to"))
		if err != nil {
			return err
		}
		return s.svc.RenameFile(r.Context(), rc.user, id, from, to)
	})
}

func (s *server) fileDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	s.fileForm(w, r, rc, "delete", func(id int64, goos, dir string) error {
		p, err := child(goos, dir, r.PostFormValue("name"))
		if err != nil {
			return err
		}
		return s.svc.DeleteFile(r.Context(), rc.user, id, p, r.PostFormValue("recursive") == "true")
	})
}

func (s *server) downloadFile(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err == nil {
		err = transfer.Download(w, r, s.svc, rc.user, id, r.URL.Query().Get("path"))
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
	}
}

// uploadFile takes the browser's PUT of one file (static/upload.js) into
// folder ?dir= as ?name= and answers JSON: the transfer, or the error
// with its reason in the page's language.
func (s *server) uploadFile(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	id, err := pathID(r)
	var ft service.FileTransfer
	if err == nil {
		var d service.Device
		if d, err = s.svc.GetDevice(r.Context(), id); err == nil {
			var p string
			if p, err = child(d.OS, q.Get("dir"), q.Get("name")); err == nil {
				ft, err = s.svc.Upload(r.Context(), rc.user, id, service.UploadRequest{
					Path: p, Size: r.ContentLength, Overwrite: q.Get("overwrite") == "true",
				}, transfer.Body(w, r))
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		status, code, _ := httperr.Status(err)
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"code": code, "message": s.fileError(rc.lang, err)})
		return
	}
	json.NewEncoder(w).Encode(ft)
}

// Bytes formats a file size for people: 512 B, 1.5 MiB (1,5 MiB in German).
func (l Lang) Bytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	f, unit := float64(n), ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f, unit = f/1024, u
		if f < 1024 {
			break
		}
	}
	s := strconv.FormatFloat(f, 'f', 1, 64)
	if l.code == langDE {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s + " " + unit
}
