package web

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// Clients, sites, device management, users and the audit log. Handlers
// parse, call the service.Service (which checks roles and client scope, and
// audits), and render.

// accessRoutes registers the pages of this file and of access.go.
func (s *server) accessRoutes(rt *auth.Router) {
	s.tokenRoutes(rt)
	rt.HandleFunc("GET /account/2fa", authz.Authenticated, s.withSession(s.account))
	rt.HandleFunc("POST /account/2fa", authz.Authenticated, s.withSession(s.enableTOTP))
	rt.HandleFunc("GET /clients", authz.Read, s.withSession(s.clients))
	rt.HandleFunc("POST /clients", authz.Admin, s.withSession(s.createClient))
	rt.HandleFunc("GET /clients/{id}", authz.Read, s.withSession(s.client))
	rt.HandleFunc("POST /clients/{id}", authz.Operate, s.withSession(s.updateClient))
	rt.HandleFunc("POST /clients/{id}/delete", authz.Admin, s.withSession(s.deleteClient))
	rt.HandleFunc("POST /clients/{id}/sites", authz.Operate, s.withSession(s.createSite))
	rt.HandleFunc("POST /sites/{id}/delete", authz.Operate, s.withSession(s.deleteSite))
	rt.HandleFunc("POST /sites/{id}/rename", authz.Operate, s.withSession(s.renameSite))
	rt.HandleFunc("POST /devices/{id}/edit", authz.Operate, s.withSession(s.editDevice))
	rt.HandleFunc("POST /devices/{id}/retire", authz.Operate, s.withSession(s.retireDevice))
	rt.HandleFunc("GET /users", authz.Admin, s.withSession(s.users))
	rt.HandleFunc("POST /users", authz.Admin, s.withSession(s.createUser))
	rt.HandleFunc("POST /users/{id}", authz.Admin, s.withSession(s.setUserRole))
	rt.HandleFunc("POST /users/{id}/reset-2fa", authz.Admin, s.withSession(s.resetTOTP))
	rt.HandleFunc("POST /users/{id}/disable", authz.Admin, s.withSession(s.disableUser))
	rt.HandleFunc("POST /users/{id}/enable", authz.Admin, s.withSession(s.enableUser))
	rt.HandleFunc("POST /users/{id}/delete", authz.Admin, s.withSession(s.deleteUser))
	rt.HandleFunc("POST /settings/2fa", authz.Admin, s.withSession(s.setRequire2FA))
	rt.HandleFunc("GET /audit", authz.Admin, s.withSession(s.auditPage))
	rt.HandleFunc("GET /audit.csv", authz.Admin, s.withSession(s.auditCSV))
}

// deviceEdit is the device page's edit form: roles and the sites (within
// the user's scope) it can move to.
type deviceEdit struct {
	Roles []string
	Sites []core.Site
}

type clientsView struct {
	Client  core.Client // the new-client form's prefill: empty
	Clients []core.Client
	Devices map[int64]int
	IsAdmin bool
	Deleted string // the name of the client just deleted, for the notice
}

func (s *server) clients(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	cs, err := s.svc.ListClients(r.Context(), rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	ds, err := s.svc.ListDevicesFor(r.Context(), rc.user, service.DeviceFilter{})
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	counts := map[int64]int{}
	for _, d := range ds {
		counts[d.ClientID]++
	}
	v := s.view(r, rc.lang, rc)
	v.Title = "clients.title"
	v.Page = clientsView{Clients: cs, Devices: counts, IsAdmin: rc.user.Role == core.RoleAdmin, Deleted: r.URL.Query().Get("deleted")}
	s.render(w, http.StatusOK, "clients", v)
}

func formClient(r *http.Request) core.Client {
	return core.Client{Name: r.PostFormValue("name"), Contact: core.Contact{
		ContactName: strings.TrimSpace(r.PostFormValue("contact_name")), ContactEmail: strings.TrimSpace(r.PostFormValue("contact_email")),
		ContactPhone: strings.TrimSpace(r.PostFormValue("contact_phone")), ReportLang: r.PostFormValue("report_lang"),
	}}
}

func (s *server) createClient(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c := formClient(r)
	if err := s.svc.CreateClient(r.Context(), rc.user, &c); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/clients/"+strconv.FormatInt(c.ID, 10), http.StatusSeeOther)
}

type clientPageView struct {
	Client  core.Client
	Sites   []core.Site
	Devices []service.Device
	AllSite []core.Site // move targets
	IsAdmin bool
	Confirm int // devices a delete would retire, when asking to confirm
	// DeleteQuestion names the client and what goes with it, asked
	// before deleting; AskDelete opens it (a delete posted unconfirmed).
	DeleteQuestion string
	AskDelete      bool
	SiteDeleted    string              // the site just deleted, for the notice
	TimeDeleted    bool                // a time entry was just deleted
	Report         core.ReportSettings // the daily report's (reports.go)
	Tray           *trayForm           // the tray app's branding (branding.go)
	// Contract and Time are the billing cards (billing_client.go); nil
	// for roles that do not see them.
	Contract *contractCard
	Time     *timeCard
}

func (s *server) clientPage(w http.ResponseWriter, r *http.Request, rc *reqCtx, id int64, status int, errKey string, confirm int) {
	s.clientPageWith(w, r, rc, id, status, errKey, confirm, nil)
}

// clientPageWith shows the client page with the tray card tray (nil: as
// stored).
func (s *server) clientPageWith(w http.ResponseWriter, r *http.Request, rc *reqCtx, id int64, status int, errKey string, confirm int, tray *trayForm) {
	s.clientPageFull(w, r, rc, id, status, errKey, confirm, tray, nil)
}

// clientPageFull shows the client page with the tray card tray and the
// contract card contract (nil: as stored).
func (s *server) clientPageFull(w http.ResponseWriter, r *http.Request, rc *reqCtx, id int64, status int, errKey string, confirm int, tray *trayForm, contract *contractCard) {
	c, err := s.svc.GetClient(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	sites, err := s.svc.ListSites(r.Context(), rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	f := service.DeviceFilter{ClientID: id, Tag: r.URL.Query().Get("tag")}
	ds, err := s.svc.ListDevicesFor(r.Context(), rc.user, f)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	rs, err := s.svc.ReportSettings(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if tray == nil {
		if tray, err = s.trayCard(r, rc, id); err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
	}
	cv := clientPageView{Client: c, Devices: ds, AllSite: sites, IsAdmin: rc.user.Role == core.RoleAdmin, Confirm: confirm, Report: rs, Tray: tray,
		SiteDeleted: r.URL.Query().Get("site_deleted"), TimeDeleted: r.URL.Query().Get("time_deleted") != ""}
	if err := s.clientBilling(r, rc, id, &cv, contract); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	for _, st := range sites {
		if st.ClientID == id {
			cv.Sites = append(cv.Sites, st)
		}
	}
	if cv.IsAdmin {
		n, err := s.store.CountClientDevices(r.Context(), id)
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		cv.DeleteQuestion = deleteQuestion(rc.lang, c.Name, len(cv.Sites), n)
		cv.AskDelete = errKey == "client.confirmDelete"
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Error, v.Page = "client.title", errKey, cv
	s.render(w, status, "client", v)
}

func (s *server) client(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	s.clientPage(w, r, rc, id, http.StatusOK, "", 0)
}

func (s *server) updateClient(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.act(w, r, rc, func(id int64) (string, error) {
		c := formClient(r)
		c.ID = id
		return "/clients/" + strconv.FormatInt(id, 10), s.svc.UpdateClient(r.Context(), rc.user, c)
	})
}

// deleteClient asks for confirmation (409 with the number of devices that
// would be retired) unless the form says confirm=yes.
func (s *server) deleteClient(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	// Deleting takes a second, confirmed post, whether or not devices go
	// with the client: the first shows what would be deleted.
	if !s.confirmed(w, r, rc, func() {
		n, err := s.store.CountClientDevices(r.Context(), id)
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		s.clientPage(w, r, rc, id, http.StatusConflict, "client.confirmDelete", n)
	}) {
		return
	}
	c, err := s.svc.GetClient(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if _, err := s.svc.DeleteClient(r.Context(), rc.user, id, true); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/clients?deleted="+url.QueryEscape(c.Name), http.StatusSeeOther)
}

// deleteQuestion asks whether to delete the client name with its sites
// and devices.
func deleteQuestion(l Lang, name string, sites, devices int) string {
	return fmt.Sprintf(l.T("client.deleteQuestion"), name, l.N("client.nSites", sites), l.N("client.nDevices", devices))
}

func (s *server) createSite(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.act(w, r, rc, func(id int64) (string, error) {
		st := core.Site{ClientID: id, Name: r.PostFormValue("name")}
		return "/clients/" + strconv.FormatInt(id, 10), s.svc.CreateSite(r.Context(), rc.user, &st)
	})
}

// deleteSite deletes a site with its devices once confirmed, and says so
// on the client's page.
func (s *server) deleteSite(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	st, err := s.svc.GetSite(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if _, err := s.svc.DeleteSite(r.Context(), rc.user, id, true); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, clientURL(st.ClientID)+"?site_deleted="+url.QueryEscape(st.Name), http.StatusSeeOther)
}

func (s *server) renameSite(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.act(w, r, rc, func(id int64) (string, error) {
		st, err := s.svc.GetSite(r.Context(), rc.user, id)
		if err != nil {
			return "", err
		}
		return "/clients/" + strconv.FormatInt(st.ClientID, 10), s.svc.RenameSite(r.Context(), rc.user, id, r.PostFormValue("name"))
	})
}

// editDevice applies the device form: site, role and comma-separated tags.
func (s *server) editDevice(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.act(w, r, rc, func(id int64) (string, error) {
		var ch service.DeviceChange
		if v := r.PostFormValue("site_id"); v != "" {
			sid, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return "", core.ErrInvalid
			}
			ch.SiteID = &sid
		}
		if v := r.PostFormValue("role"); v != "" {
			ch.Role = &v
		}
		if _, ok := r.PostForm["tags"]; ok {
			tags := strings.Split(r.PostFormValue("tags"), ",")
			ch.Tags = &tags
		}
		_, err := s.svc.UpdateDevice(r.Context(), rc.user, id, ch)
		return "/devices/" + strconv.FormatInt(id, 10), err
	})
}

func (s *server) retireDevice(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.act(w, r, rc, func(id int64) (string, error) { return "/", s.svc.RetireDevice(r.Context(), rc.user, id) })
}

type usersView struct {
	Roles    []string
	Users    []core.User
	Clients  []core.Client
	Require  bool
	Names    map[int64]string
	SelfID   int64
	NewEmail string
	Remote   service.RemoteSettings // remote.go
}

func (s *server) users(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	us, err := s.svc.ListUsers(r.Context(), rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	cs, err := s.svc.ListClients(r.Context(), rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	names := map[int64]string{}
	for _, c := range cs {
		names[c.ID] = c.Name
	}
	v := s.view(r, rc.lang, rc)
	v.Title = "users.title"
	if r.URL.Query().Get("deleted") != "" {
		v.Notice, v.NoticeKind = "users.deleted", "ok"
	}
	rs, err := s.svc.RemoteSettings(r.Context(), rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v.Page = usersView{Roles: []string{core.RoleTechnician, core.RoleReadOnly, core.RoleAdmin}, Users: us, Clients: cs, Require: s.require2FA(r), Names: names, SelfID: rc.user.ID, Remote: rs}
	s.render(w, http.StatusOK, "users", v)
}

// Has reports whether u's scope lists client id (for the checkboxes).
func (usersView) Has(u core.User, id int64) bool { return u.Scope.Has(id) }

// formScope reads the clients checkboxes: none checked is every client.
func formScope(r *http.Request) (core.Scope, error) {
	var sc core.Scope
	for _, v := range r.PostForm["clients"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return sc, core.ErrInvalid
		}
		sc.Restricted, sc.Clients = true, append(sc.Clients, id)
	}
	return sc, nil
}

func (s *server) disableUser(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.act(w, r, rc, func(id int64) (string, error) { return "/users", s.svc.DisableUser(r.Context(), rc.user, id) })
}

func (s *server) enableUser(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.act(w, r, rc, func(id int64) (string, error) { return "/users", s.svc.EnableUser(r.Context(), rc.user, id) })
}

func (s *server) deleteUser(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	s.act(w, r, rc, func(id int64) (string, error) {
		return "/users?deleted=1", s.svc.DeleteUser(r.Context(), rc.user, id)
	})
}

func (s *server) setUserRole(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.act(w, r, rc, func(id int64) (string, error) {
		sc, err := formScope(r)
		if err != nil {
			return "", err
		}
		return "/users", s.svc.SetUserRole(r.Context(), rc.user, id, r.PostFormValue("role"), sc)
	})
}

func (s *server) resetTOTP(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.act(w, r, rc, func(id int64) (string, error) { return "/users", s.svc.ResetTOTP(r.Context(), rc.user, id) })
}

func (s *server) createUser(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	nu := service.NewUser{Email: r.PostFormValue("email"), Password: r.PostFormValue("password"), Role: r.PostFormValue("role")}
	sc, err := formScope(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	nu.Scope = sc
	if _, err := s.svc.CreateUser(r.Context(), rc.user, nu); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/users", http.StatusSeeOther)
}

func (s *server) setRequire2FA(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if err := s.svc.SetRequire2FA(r.Context(), rc.user, r.PostFormValue("required") == "true"); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/users", http.StatusSeeOther)
}

type auditView struct {
	Entries []auditRow
	Q       auditForm
	CSVLink template.URL
}

type auditForm struct{ Actor, Action, Target, Since, Until string }

// auditQuery reads the filter form; since/until are dates (YYYY-MM-DD,
// UTC), until inclusive.
func auditQuery(r *http.Request) (core.AuditQuery, auditForm, error) {
	v := r.URL.Query()
	f := auditForm{Actor: v.Get("actor"), Action: v.Get("action"), Target: v.Get("target"), Since: v.Get("since"), Until: v.Get("until")}
	q := core.AuditQuery{Actor: f.Actor, Action: f.Action, Target: f.Target, Limit: 500}
	if f.Since != "" {
		t, err := time.Parse(time.DateOnly, f.Since)
		if err != nil {
			return q, f, core.ErrInvalid
		}
		q.Since = t
	}
	if f.Until != "" {
		t, err := time.Parse(time.DateOnly, f.Until)
		if err != nil {
			return q, f, core.ErrInvalid
		}
		q.Until = t.AddDate(0, 0, 1)
	}
	return q, f, nil
}

func (s *server) auditPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q, f, err := auditQuery(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	es, err := s.svc.QueryAudit(r.Context(), rc.user, q)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Title = "audit.title"
	v.Page = auditView{Entries: auditRows(es), Q: f, CSVLink: template.URL("/audit.csv?" + r.URL.Query().Encode())}
	s.render(w, http.StatusOK, "audit", v)
}

func (s *server) auditCSV(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q, _, err := auditQuery(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	q.Limit = 0
	es, err := s.svc.QueryAudit(r.Context(), rc.user, q)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="wacht-audit.csv"`)
	if err := service.WriteAuditCSV(w, es); err != nil {
		s.log.Warn("writing audit CSV", "err", err)
	}
}

// act runs a form action on the path's {id} and redirects to the page it
// names, or renders its error.
func (s *server) act(w http.ResponseWriter, r *http.Request, rc *reqCtx, fn func(id int64) (to string, err error)) {
	id, err := pathID(r)
	var to string
	if err == nil {
		to, err = fn(id)
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, core.ErrNotFound
	}
	return id, nil
}
