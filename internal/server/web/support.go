package web

import (
	"cmp"
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The support requests the users send from the tray app (issue 20): the
// list with client, device and state filters, one request with its device
// context, screenshot and replies, and the technicians' reply and state.
// The service authorizes (reading: every role in scope; answering:
// Operate), audits and pushes a change to the device's tray.

func init() { pageNames = append(pageNames, "support", "support-request") }

// supportPerPage is the list's page size; the pager reaches the newest
// supportMaxOffset requests of a filter (listSupport reads every request
// before the page, as the API does).
const (
	supportPerPage   = 50
	supportMaxOffset = 10000
)

// The list's state filter: the stored states, and these two.
const (
	supportOpen = "open" // new and in progress: the default
	supportAll  = "all"
)

var supportStates = []string{core.SupportNew, core.SupportInProgress, core.SupportDone}

func (s *server) supportRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /support", authz.Read, s.withSession(s.supportList))
	rt.HandleFunc("GET /support/{id}", authz.Read, s.withSession(s.supportRequest))
	rt.HandleFunc("POST /support/{id}", authz.Operate, s.withSession(s.updateSupport))
	rt.HandleFunc("GET /support/{id}/screenshot", authz.Read, s.withSession(s.supportScreenshot))
	rt.HandleFunc("GET /partials/support-count", authz.Read, s.withSession(s.supportCount))
}

// supportPage is the list.
type supportPage struct {
	Clients  []core.Client
	ClientID int64
	DeviceID int64
	Device   string // the device filter's host name
	State    string
	Requests []core.SupportRequest
	Total    int
	Offset   int
	// NoDevice is the filter's link without the device.
	NoDevice   string
	Prev, Next string // the pager's links, "" when there is none
}

// States are the state filter's choices.
func (supportPage) States() []string {
	return append([]string{supportOpen}, append(supportStates, supportAll)...)
}

// FirstLine is a message's first non-empty line, cut to 100 characters.
func (supportPage) FirstLine(msg string) string {
	for l := range strings.Lines(msg) {
		if l = strings.TrimSpace(l); l != "" {
			if r := []rune(l); len(r) > 100 {
				return string(r[:100]) + "…"
			}
			return l
		}
	}
	return ""
}

// Who names the user who asked: the contact's name, else the account.
func (supportPage) Who(r core.SupportRequest) string {
	if r.Contact.Name != "" {
		return r.Contact.Name
	}
	return r.OSUser
}

func (s *server) supportList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx, q := r.Context(), r.URL.Query()
	p := supportPage{State: q.Get("state")}
	if p.State == "" {
		p.State = supportOpen
	}
	var bad bool
	num := func(k string) int64 {
		n, err := strconv.ParseInt(q.Get(k), 10, 64)
		if q.Get(k) != "" && (err != nil || n < 0) {
			bad = true
		}
		return max(n, 0)
	}
	p.ClientID, p.DeviceID, p.Offset = num("client"), num("device"), int(num("offset"))
	if bad || p.Offset > supportMaxOffset || !slices.Contains(p.States(), p.State) {
		s.renderError(w, r, rc.lang, core.ErrInvalid)
		return
	}
	var err error
	if p.Clients, err = s.svc.ListClients(ctx, rc.user); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	f := core.SupportFilter{ClientID: p.ClientID, DeviceID: p.DeviceID}
	if p.Requests, p.Total, err = s.listSupport(ctx, rc.user, f, p.State, p.Offset, supportPerPage); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if p.DeviceID != 0 {
		p.Device = "#" + strconv.FormatInt(p.DeviceID, 10)
		if len(p.Requests) > 0 {
			p.Device = p.Requests[0].Hostname
		}
	}
	link := func(device int64, off int) string {
		v := url.Values{}
		if p.ClientID != 0 {
			v.Set("client", strconv.FormatInt(p.ClientID, 10))
		}
		if device != 0 {
			v.Set("device", strconv.FormatInt(device, 10))
		}
		v.Set("state", p.State)
		if off > 0 {
			v.Set("offset", strconv.Itoa(off))
		}
		return "/support?" + v.Encode()
	}
	p.NoDevice = link(0, 0)
	if p.Offset > 0 {
		p.Prev = link(p.DeviceID, max(p.Offset-supportPerPage, 0))
	}
	if p.Offset+len(p.Requests) < p.Total {
		p.Next = link(p.DeviceID, p.Offset+supportPerPage)
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "support.title", p
	s.render(w, http.StatusOK, "support", v)
}

// listSupport lists requests of f in state (supportOpen: new and in
// progress; supportAll: every state) from offset, newest first, with the
// total. The store filters one state at a time: for several, the first
// offset+limit of each, merged, hold the page.
func (s *server) listSupport(ctx context.Context, u core.User, f core.SupportFilter, state string, offset, limit int) ([]core.SupportRequest, int, error) {
	states := []string{state}
	switch state {
	case supportOpen:
		states = []string{core.SupportNew, core.SupportInProgress}
	case supportAll:
		states = []string{""}
	}
	var all []core.SupportRequest
	total := 0
	for _, st := range states {
		f.State, f.Limit = st, offset+limit
		rs, n, err := s.svc.ListSupportRequests(ctx, u, f)
		if err != nil {
			return nil, 0, err
		}
		all, total = append(all, rs...), total+n
	}
	slices.SortStableFunc(all, func(a, b core.SupportRequest) int {
		if c := b.ReceivedAt.Compare(a.ReceivedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	if offset >= len(all) {
		return nil, total, nil
	}
	return all[offset:min(offset+limit, len(all))], total, nil
}

// supportRequestPage is one request.
type supportRequestPage struct {
	Req   core.SupportRequest
	Reply string // the reply typed before a refusal
	Error string // the refusal, in the page's language
}

// States are the state select's choices.
func (supportRequestPage) States() []string { return supportStates }

// Tel is a phone number as a tel: link: its digits and a leading plus
// only, so nothing else the user typed reaches the link.
func (supportRequestPage) Tel(phone string) template.URL {
	var b strings.Builder
	for i, c := range strings.TrimSpace(phone) {
		if c >= '0' && c <= '9' || c == '+' && i == 0 {
			b.WriteRune(c)
		}
	}
	return template.URL("tel:" + b.String())
}

func (s *server) supportRequest(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	notice := ""
	switch r.URL.Query().Get("done") {
	case "reply":
		notice = "support.replied"
	case "state":
		notice = "support.stateSaved"
	}
	s.renderSupportRequest(w, r, rc, http.StatusOK, notice, supportRequestPage{})
}

// renderSupportRequest shows request {id} with p's typed reply and
// refusal.
func (s *server) renderSupportRequest(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, notice string, p supportRequestPage) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if p.Req, err = s.svc.GetSupportRequest(r.Context(), rc.user, id); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Notice, v.NoticeKind, v.Page = "support.request", notice, "ok", p
	s.render(w, status, "support-request", v)
}

// updateSupport adds the form's reply (if any) and sets its state (if
// changed).
func (s *server) updateSupport(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	cur, err := s.svc.GetSupportRequest(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	reply := strings.TrimSpace(strings.ReplaceAll(r.PostFormValue("reply"), "\r\n", "\n"))
	state := r.PostFormValue("state")
	if state == cur.State {
		state = ""
	}
	to := "/support/" + strconv.FormatInt(id, 10)
	if reply == "" && state == "" {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	if _, err := s.svc.UpdateSupportRequest(r.Context(), rc.user, id, state, reply); err != nil {
		p := supportRequestPage{Reply: reply}
		var ve *policy.ValidationError
		switch t, ok := service.Reason(err); {
		case errors.As(err, &ve):
			p.Error = ve.In(rc.lang.Code())
		case ok:
			p.Error = rc.lang.Message(t)
		default:
			s.renderError(w, r, rc.lang, err)
			return
		}
		s.renderSupportRequest(w, r, rc, http.StatusBadRequest, "", p)
		return
	}
	done := "state"
	if reply != "" {
		done = "reply"
	}
	http.Redirect(w, r, to+"?done="+done, http.StatusSeeOther)
}

// supportScreenshot serves a request's screenshot (a PNG, checked when it
// arrived); 404 without one.
func (s *server) supportScreenshot(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	png, err := s.svc.SupportScreenshot(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	servePNG(w, png)
}

// supportCount is the nav badge: the new requests in the user's scope.
func (s *server) supportCount(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	n, err := s.svc.CountNewSupportRequests(r.Context(), rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Page = n
	s.render(w, http.StatusOK, "support-count", v)
}
