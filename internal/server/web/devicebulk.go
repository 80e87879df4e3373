package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/service"
)

// bulkDurations are the maintenance lengths the bulk form offers, in minutes.
var bulkDurations = []int{60, 120, 240, 480, 1440, 4320}

// bulkForm is a bulk action request as the list's form posts it: either
// the ticked devices (id) or every device matching the filters (all=1).
type bulkForm struct {
	IDs      []int64
	All      bool
	Filters  string // the list's query string, for all=1
	Action   string
	Minutes  int
	Title    string
	PolicyID int64
	SiteID   int64
	Comment  string
}

func parseBulkForm(r *http.Request) bulkForm {
	f := bulkForm{
		All:     r.PostFormValue("all") == "1",
		Filters: r.PostFormValue("filters"),
		Action:  r.PostFormValue("action"),
		Title:   strings.TrimSpace(r.PostFormValue("title")),
		Comment: strings.TrimSpace(r.PostFormValue("comment")),
	}
	f.IDs = ids(r.PostForm["id"])
	f.Minutes, _ = strconv.Atoi(r.PostFormValue("minutes"))
	f.PolicyID, _ = strconv.ParseInt(r.PostFormValue("policy"), 10, 64)
	f.SiteID, _ = strconv.ParseInt(r.PostFormValue("site"), 10, 64)
	return f
}

func (f bulkForm) action() service.BulkAction {
	return service.BulkAction{Action: f.Action, Comment: f.Comment, Title: f.Title,
		Duration: time.Duration(f.Minutes) * time.Minute, PolicyID: f.PolicyID, SiteID: f.SiteID}
}

// bulkPage is the data of the bulk confirmation and result (view.Page).
type bulkPage struct {
	Form    bulkForm
	Count   int
	Target  string // the chosen policy's or site's name
	Result  *service.BulkResult
	BackURL string
}

// deviceBulk asks for confirmation of a bulk action ("Run checks on 50
// devices?") and, once confirmed, applies it and reports the outcome.
// The devices are resolved again on confirmation: "all matching" means
// the devices matching when the technician confirms.
func (s *server) deviceBulk(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	f := parseBulkForm(r)
	ctx := r.Context()
	ids := f.IDs
	back := "/"
	if vs, err := url.ParseQuery(f.Filters); err == nil {
		back = parseListQuery(vs).URL()
		if f.All {
			q := parseListQuery(vs).core()
			q.Limit, q.Cursor = 0, ""
			p, err := s.svc.DeviceList(ctx, rc.user, q)
			if err != nil {
				s.renderError(w, r, rc.lang, err)
				return
			}
			ids = ids[:0]
			for _, d := range p.Devices {
				ids = append(ids, d.ID)
			}
		}
	}
	v := s.view(r, rc.lang, rc)
	v.Title = "dl.bulk.title"
	page := bulkPage{Form: f, Count: len(ids), BackURL: back}
	if r.PostFormValue("confirm") != "1" {
		// Validate before asking, so the question is never about a
		// request that would be refused as a whole.
		if err := s.svc.CheckBulk(ctx, rc.user, len(ids), f.action()); err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		page.Target = s.bulkTarget(r, rc, f)
	} else {
		res, err := s.svc.BulkDevices(ctx, rc.user, ids, f.action())
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		page.Result = &res
	}
	v.Page = page
	name := "device-bulk"
	if isHTMX(r) {
		name = "bulk-panel"
	}
	s.render(w, http.StatusOK, name, v)
}

// bulkTarget names the policy or site a bulk action names, for the question.
func (s *server) bulkTarget(r *http.Request, rc *reqCtx, f bulkForm) string {
	switch f.Action {
	case service.BulkPolicy:
		if p, err := s.svc.GetPolicy(r.Context(), f.PolicyID); err == nil {
			return p.Name
		}
	case service.BulkMove:
		sites, err := s.svc.ListSites(r.Context(), rc.user)
		if err != nil {
			return ""
		}
		for _, st := range sites {
			if st.ID == f.SiteID {
				return st.ClientName + " / " + st.Name
			}
		}
	}
	return ""
}
