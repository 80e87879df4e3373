package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// Daily reports in the dashboard: the preview of a client's report (the
// mail's HTML inside the page), sending it now, its settings on the client
// page, and the technician's digest choice on the account page. The data
// comes from the service.Service, like the API's.

func init() { pageNames = append(pageNames, "report", "account-reports") }

func (s *server) reportRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /clients/{id}/report", authz.Read, s.withSession(s.reportPage))
	rt.HandleFunc("POST /clients/{id}/report/send", authz.Operate, s.withSession(s.sendReport))
	rt.HandleFunc("POST /clients/{id}/report-settings", authz.Operate, s.withSession(s.saveReportSettings))
	rt.HandleFunc("GET /account/reports", authz.Authenticated, s.withSession(s.accountReports))
	rt.HandleFunc("POST /account/reports", authz.Authenticated, s.withSession(s.saveAccountReports))
}

// ReportRecipients lists the client page's report recipients for its form.
func (c clientPageView) ReportRecipients() string { return strings.Join(c.Report.Recipients, ", ") }

// reportView is the data of the report preview.
type reportView struct {
	Client     core.Client
	Lang       string        // the report's
	Recipients string        // where "send now" sends it
	Body       template.HTML // the report, rendered by internal/report
}

func (s *server) reportPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	notice := ""
	if r.URL.Query().Get("sent") != "" {
		notice = "report.sent"
	}
	s.renderReport(w, r, rc, http.StatusOK, "", notice)
}

// renderReport shows the preview in ?lang= (default: the client's).
func (s *server) renderReport(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, errKey, notice string) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	c, err := s.svc.GetClient(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	lang := r.URL.Query().Get("lang")
	if lang != "de" && lang != "en" {
		lang = c.ReportLang
	}
	rep, err := s.svc.ClientReport(r.Context(), rc.user, id, lang)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	body, err := report.BodyHTML(rep)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	rs, err := s.svc.ReportSettings(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	rs.Enabled = true // "send now" ignores the daily switch
	v := s.view(r, rc.lang, rc)
	v.Title, v.Error, v.Notice, v.NoticeKind = "report.title", errKey, notice, "ok"
	v.Page = reportView{Client: c, Lang: rep.Lang, Recipients: strings.Join(report.Recipients(rs, c), ", "), Body: body}
	s.render(w, status, "report", v)
}

func (s *server) sendReport(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if _, err := s.svc.SendReport(r.Context(), rc.user, id); err != nil {
		if errors.Is(err, core.ErrInvalid) {
			s.renderReport(w, r, rc, http.StatusBadRequest, "report.noRecipients", "")
			return
		}
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/clients/"+strconv.FormatInt(id, 10)+"/report?sent=1", http.StatusSeeOther)
}

// saveReportSettings reads enabled (checkbox), recipients (separated by
// commas, semicolons or spaces) and hour.
func (s *server) saveReportSettings(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	rs := core.ReportSettings{ClientID: id, Enabled: r.PostFormValue("enabled") == "on", Hour: r.PostFormValue("hour"),
		Recipients: strings.FieldsFunc(r.PostFormValue("recipients"), func(c rune) bool {
			return c == ',' || c == ';' || c == ' ' || c == '\n' || c == '\r' || c == '\t'
		})}
	if _, err := s.svc.SetReportSettings(r.Context(), rc.user, rs); err != nil {
		if errors.Is(err, core.ErrInvalid) {
			s.clientPage(w, r, rc, id, http.StatusBadRequest, "report.invalid", 0)
			return
		}
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/clients/"+strconv.FormatInt(id, 10)+"#report", http.StatusSeeOther)
}

// accountReportsView is the data of the account's reports tab.
type accountReportsView struct {
	Eligible bool // admins and technicians get the digest
	On       bool
	Label    string
}

func (s *server) accountReports(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderAccountReports(w, r, rc, "")
}

func (s *server) renderAccountReports(w http.ResponseWriter, r *http.Request, rc *reqCtx, notice string) {
	on, err := s.svc.DigestOn(r.Context(), rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Notice, v.NoticeKind = "digest.title", notice, "ok"
	v.Page = accountReportsView{Eligible: authz.CanOperate(rc.user.Role), On: on,
		Label: fmt.Sprintf(rc.lang.T("digest.label"), core.DefaultReportHour)}
	s.render(w, http.StatusOK, "account-reports", v)
}

func (s *server) saveAccountReports(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if err := s.svc.SetDigest(r.Context(), rc.user, r.PostFormValue("digest") == "on"); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	s.renderAccountReports(w, r, rc, "digest.saved")
}
