package web

import (
	"mime"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// "Add device" (issue 21): per site, administrators create enrollment
// tokens and see them once with ready-made install commands; everyone with
// the site's client in scope sees the site's tokens and the installers
// published, and downloads them.

func init() { pageNames = append(pageNames, "add-device") }

func (s *server) enrollRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /sites/{id}/add-device", authz.Read, s.withSession(s.addDevice))
	rt.HandleFunc("POST /sites/{id}/enrollment-tokens", authz.Admin, s.withSession(s.createEnrollmentToken))
	rt.HandleFunc("POST /sites/{id}/enrollment-tokens/{token}/revoke", authz.Admin, s.withSession(s.revokeEnrollmentToken))
	rt.HandleFunc("GET /installers/{kind}/{arch}", authz.Read, s.withSession(s.downloadInstaller))
}

type tokenRow struct {
	core.EnrollmentToken
	State string
}

type installerLink struct {
	Kind, Arch, OS, Name, Version string
}

type addDeviceView struct {
	Site       core.Site
	Tokens     []tokenRow
	IsAdmin    bool
	Issued     *service.IssuedToken // a new token, shown once
	Installers []installerLink
	Days       int // the form's default expiry
}

func (s *server) addDevicePage(w http.ResponseWriter, r *http.Request, rc *reqCtx, id int64, status int, issued *service.IssuedToken) {
	site, err := s.svc.GetSite(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	ts, err := s.svc.ListSiteEnrollmentTokens(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	now := s.now()
	rows := make([]tokenRow, len(ts))
	for i, t := range ts {
		rows[i] = tokenRow{EnrollmentToken: t, State: service.TokenState(t, now)}
	}
	v := s.view(r, rc.lang, rc)
	v.Title = "enroll.title"
	v.Page = addDeviceView{Site: site, Tokens: rows, IsAdmin: authz.Allows(rc.user, authz.Admin), Issued: issued,
		Installers: s.installerLinks(r, rc), Days: 7}
	if issued == nil && r.URL.Query().Get("revoked") != "" {
		v.Notice, v.NoticeKind = "enroll.revokedOK", "ok"
	}
	if issued != nil {
		w.Header().Set("Cache-Control", "no-store")
	}
	s.render(w, status, "add-device", v)
}

// installerLinks lists the newest published installer per kind and
// architecture; none while nothing is published (or the server cannot
// list release files yet).
func (s *server) installerLinks(r *http.Request, rc *reqCtx) []installerLink {
	fs, err := s.installers.ListAgentFiles(r.Context(), rc.user)
	if err != nil {
		s.log.Warn("listing published agent files", "err", err)
		return nil
	}
	var out []installerLink
	seen := map[string]bool{}
	for _, f := range fs { // newest version first
		if service.CheckInstallerKind(f.Kind, f.Arch) != nil || seen[f.Kind+"/"+f.Arch] {
			continue
		}
		seen[f.Kind+"/"+f.Arch] = true
		out = append(out, installerLink{Kind: f.Kind, Arch: f.Arch, OS: f.OS, Name: f.Name, Version: f.Version})
	}
	slices.SortFunc(out, func(a, b installerLink) int {
		if a.OS+a.Kind+a.Arch < b.OS+b.Kind+b.Arch {
			return -1
		}
		return 1
	})
	return out
}

func (s *server) addDevice(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	s.addDevicePage(w, r, rc, id, http.StatusOK, nil)
}

func (s *server) createEnrollmentToken(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	st := service.SiteToken{Label: r.PostFormValue("label")}
	var fs []policy.FieldError
	if d := r.PostFormValue("days"); d != "" && d != "0" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 || n > 3650 {
			fs = append(fs, policy.FieldError{Field: "days", Message: core.Text{EN: "must be a number of days from 0 to 3650", DE: "muss eine Zahl von Tagen zwischen 0 und 3650 sein"}})
		} else {
			exp := s.now().Add(time.Duration(n) * 24 * time.Hour).UTC().Truncate(time.Millisecond)
			st.ExpiresAt = &exp
		}
	}
	if m := r.PostFormValue("max_uses"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil {
			fs = append(fs, policy.FieldError{Field: "max_uses", Message: core.Text{EN: "must be a whole number", DE: "muss eine ganze Zahl sein"}})
		}
		st.MaxUses = n
	}
	if len(fs) > 0 {
		s.renderError(w, r, rc.lang, &policy.ValidationError{Fields: fs})
		return
	}
	it, err := s.svc.CreateSiteEnrollmentToken(r.Context(), rc.user, id, st)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	s.addDevicePage(w, r, rc, id, http.StatusCreated, &it)
}

func (s *server) revokeEnrollmentToken(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	site, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	id, err := strconv.ParseInt(r.PathValue("token"), 10, 64)
	if err != nil || id <= 0 {
		s.renderError(w, r, rc.lang, core.ErrNotFound)
		return
	}
	if err := s.svc.RevokeEnrollmentToken(r.Context(), rc.user, id); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/sites/"+strconv.FormatInt(site, 10)+"/add-device?revoked=1#tokens", http.StatusSeeOther)
}

func (s *server) downloadInstaller(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	f, rd, err := s.installers.OpenInstaller(r.Context(), r.PathValue("kind"), r.PathValue("arch"))
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	defer rd.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	http.ServeContent(w, r, "", f.UploadedAt, rd)
}
