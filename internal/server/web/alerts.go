package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The alerts view: outages open (unacknowledged), acknowledged and recently
// closed, filtered by client and severity, with acknowledge and clear
// actions; the nav badge of open outages; the device page's outage history.
// Filters, scope, acknowledging and clearing are service.Service's, shared with
// the REST API.

func init() { pageNames = append(pageNames, "alerts") }

func (s *server) alertRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /alerts", authz.Read, s.withSession(s.alerts))
	rt.HandleFunc("GET /partials/alert-count", authz.Read, s.withSession(s.alertCount))
	rt.HandleFunc("POST /alerts/{id}/ack", authz.Operate, s.withSession(s.ackOutage))
	rt.HandleFunc("POST /alerts/{id}/clear", authz.Operate, s.withSession(s.clearOutageCheck))
	s.alertSettingsRoutes(rt)
}

// alertRows caps the alerts table; the tab counts say how many there are.
const alertRows = 200

// alertStates are the tabs of the alerts view, in order (service.OutageQuery's
// state values).
var alertStates = []string{core.OutagesOpen, core.OutagesAcked, "recent"}

type alertsPage struct {
	State    string
	ClientID int64
	Severity string
	Tabs     []alertTab
	Clients  []core.Client
}

// outageTable is the outage list of the alerts view and the device page.
type outageTable struct {
	Rows       []outageRow
	ShowDevice bool   // client, site and device columns (the alerts view)
	Capped     string // "showing the newest n of m"
	Back       string // the page's URL, where actions return
	// The device page's presence (alert.Presence*; "" if never heard from).
	Presence, PresenceLabel, PresenceClass string
}

type alertTab struct {
	ID, Label, Href string
	Count           int
	Active          bool
}

// outageRow is one outage as the tables show it.
type outageRow struct {
	core.Outage
	Label    string // severity, translated
	Check    string // check name or "agent not reachable", translated
	Duration string // open: so far; closed: in total
	AckedBy  string // an actor (service.Actor)
	Fix      string // the check's automatic fix, if any
}

func newOutageRow(o core.Outage, lang Lang, now time.Time) outageRow {
	r := outageRow{Outage: o, Label: lang.T("alerts.sev." + o.Severity), Check: lang.Check(o.CheckName),
		AckedBy: o.AckedBy}
	if o.Kind == core.OutageOffline {
		r.Check = lang.T("alerts.offlineCheck")
	}
	if o.Fix != nil {
		r.Fix = lang.Message(o.Fix.Text(lang.Zone())) // in the user's zone, as every time shown
	}
	end := now
	if o.ClosedAt != nil {
		end = *o.ClosedAt
	}
	r.Duration = lang.Duration(end.Sub(o.OpenedAt))
	return r
}

// Duration formats a span coarsely: days and hours, hours and minutes, or
// minutes.
func (l Lang) Duration(d time.Duration) string {
	if d < time.Minute {
		return l.T("dur.lessMinute")
	}
	days, hours, mins := int(d/(24*time.Hour)), int(d/time.Hour)%24, int(d/time.Minute)%60
	switch {
	case days > 0:
		return fmt.Sprintf(l.T("dur.dh"), days, hours)
	case hours > 0:
		return fmt.Sprintf(l.T("dur.hm"), hours, mins)
	}
	return fmt.Sprintf(l.T("dur.m"), mins)
}

func (s *server) alerts(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	ctx, q, now := r.Context(), r.URL.Query(), s.now()
	if q.Get("state") == "" {
		q.Set("state", core.OutagesOpen)
	}
	f, err := service.OutageQuery(q, now)
	if err != nil {
		s.renderError(w, r, rc.lang, core.ErrInvalid)
		return
	}
	p := alertsPage{State: q.Get("state"), ClientID: f.ClientID, Severity: f.Severity}
	q.Del("done") // the notice is shown once, not after returning
	t := &outageTable{ShowDevice: true, Back: "/alerts?" + q.Encode()}
	if p.Clients, err = s.svc.ListClients(ctx, rc.user); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	for _, st := range alertStates {
		tq := url.Values{"state": {st}}
		for _, k := range []string{"client", "severity"} {
			if v := q.Get(k); v != "" {
				tq.Set(k, v)
			}
		}
		tf, _ := service.OutageQuery(tq, now) // the same filters, valid above
		n, err := s.svc.CountOutages(ctx, rc.user, tf)
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		p.Tabs = append(p.Tabs, alertTab{ID: st, Label: rc.lang.T("alerts.tab." + st), Href: "/alerts?" + tq.Encode(),
			Count: n, Active: st == p.State})
	}
	f.Limit = alertRows
	os, err := s.svc.ListOutages(ctx, rc.user, f)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	for _, o := range os {
		t.Rows = append(t.Rows, newOutageRow(o, rc.lang, now))
	}
	for _, tab := range p.Tabs {
		if tab.Active && tab.Count > len(os) {
			t.Capped = fmt.Sprintf(rc.lang.T("alerts.capped"), rc.lang.Int(len(os)), rc.lang.Int(tab.Count))
		}
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page, v.Outages, v.Path = "alerts.title", p, t, t.Back
	doneNotice(&v, r)
	s.render(w, http.StatusOK, "alerts", v)
}

// alertCount is the nav badge: open outages nobody acknowledged.
func (s *server) alertCount(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	n, err := s.svc.CountOutages(r.Context(), rc.user, core.OutageFilter{State: core.OutagesOpen})
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Page = n
	s.render(w, http.StatusOK, "alert-count", v)
}

// doneNotice shows the outcome of an action that actionReturn redirected
// back to the page.
func doneNotice(v *view, r *http.Request) {
	switch r.URL.Query().Get("done") {
	case "ack":
		v.Notice, v.NoticeKind = "alerts.acked", "ok"
	case "clear":
		v.Notice, v.NoticeKind = "alerts.cleared", "ok"
	case "clear-invalid":
		v.Notice, v.NoticeKind = "alerts.clearInvalid", "failure"
	}
}

// actionReturn is where an action on the alerts view or the device page
// sends the browser back to, with the outcome for the notice.
func actionReturn(r *http.Request, done string) string {
	back := localPath(r.PostFormValue("next"))
	u, err := url.Parse(back)
	if err != nil {
		return "/alerts"
	}
	q := u.Query()
	q.Set("done", done)
	u.RawQuery = q.Encode()
	return u.RequestURI()
}

func (s *server) ackOutage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.act(w, r, rc, func(id int64) (string, error) {
		_, err := s.svc.AckOutage(r.Context(), rc.user, id, r.PostFormValue("comment"))
		return actionReturn(r, "ack"), err
	})
}

// clearOutageCheck clears the check of an outage until a time (the
// browser's datetime-local, in the server's zone like every time shown)
// and/or until it passes.
func (s *server) clearOutageCheck(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	ctx := r.Context()
	o, err := s.svc.Outage(ctx, rc.user, id)
	if err == nil && o.CheckID == 0 {
		err = fmt.Errorf("an offline outage has no check to clear: %w", core.ErrInvalid)
	}
	req := service.ClearRequest{UntilPass: r.PostFormValue("until_pass") == "on", Comment: strings.TrimSpace(r.PostFormValue("comment"))}
	if v := strings.TrimSpace(r.PostFormValue("until")); err == nil && v != "" {
		if t, perr := rc.lang.ParseTime("2006-01-02T15:04", v); perr == nil {
			req.Until = &t
		} else {
			err = fmt.Errorf("until %q: %w", v, core.ErrInvalid)
		}
	}
	if err == nil {
		err = s.svc.ClearCheck(ctx, rc.user, o.DeviceID, o.CheckID, req)
	}
	if errors.Is(err, core.ErrInvalid) {
		// Back to the page, which says what a clear needs.
		http.Redirect(w, r, actionReturn(r, "clear-invalid"), http.StatusSeeOther)
		return
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, actionReturn(r, "clear"), http.StatusSeeOther)
}

// closedOnDevicePage is how many closed outages the device page lists.
const closedOnDevicePage = 50

// presenceClass colours a presence state.
var presenceClass = map[string]string{
	alert.PresenceOnline: "ok", alert.PresenceOffline: "warning", alert.PresenceShutdown: "unknown",
	alert.PresenceRebooting: "unknown", alert.PresenceAlerted: "failure",
}

// deviceOutages is the device page's outage section: its presence, the
// open outages, then the newest closed ones.
func (s *server) deviceOutages(ctx context.Context, rc *reqCtx, deviceID int64, back string) (*outageTable, error) {
	now := s.now()
	t := &outageTable{Back: back}
	for _, f := range []core.OutageFilter{
		{DeviceID: deviceID, OpenOnly: true},
		{DeviceID: deviceID, State: core.OutagesClosed, Limit: closedOnDevicePage},
	} {
		os, err := s.svc.ListOutages(ctx, rc.user, f)
		if err != nil {
			return nil, err
		}
		for _, o := range os {
			t.Rows = append(t.Rows, newOutageRow(o, rc.lang, now))
		}
	}
	p, err := s.svc.DevicePresence(ctx, rc.user, deviceID)
	if err != nil {
		return nil, err
	}
	if p.State != "" {
		t.Presence, t.PresenceLabel, t.PresenceClass = p.State, rc.lang.T("presence."+p.State), presenceClass[p.State]
	}
	return t, nil
}
