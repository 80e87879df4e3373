package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// Maintenance windows: the list (active ones highlighted, filtered by
// ?client=, ?site= or ?device=), the create/edit form with one scope
// picker for clients, sites and devices, and deleting. The service.Service
// checks roles and client scope, validates and audits.

func init() { pageNames = append(pageNames, "maintenance") }

func (s *server) maintenanceRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /maintenance", authz.Read, s.withSession(s.maintenanceList))
	rt.HandleFunc("POST /maintenance", authz.Operate, s.withSession(s.saveMaintenance))
	rt.HandleFunc("GET /maintenance/{id}", authz.Operate, s.withSession(s.editMaintenance))
	rt.HandleFunc("POST /maintenance/{id}", authz.Operate, s.withSession(s.saveMaintenance))
	rt.HandleFunc("POST /maintenance/{id}/delete", authz.Operate, s.withSession(s.deleteMaintenance))
}

type maintRow struct {
	service.MaintenanceWindow
	When string // the period(s), in words
}

type maintOption struct {
	Value, Label string // Value: "client:3", "site:5" or "device:9"
}

// maintForm is the form as the browser sends it.
type maintForm struct {
	ID                      int64
	Target, Title, Repeat   string
	Start, End, Until       string // datetime-local
	Weekdays                []int
	MonthDay                string
	From, To, TimeZone      string
	Zones                   []string      // the time zone select's choices
	Clients, Sites, Devices []maintOption // the scope picker
}

type maintenancePage struct {
	Windows  []maintRow
	Filter   string // what the list is filtered to, "" for everything
	Form     maintForm
	Errors   map[string]string // by form field
	Weekdays []int             // Monday first
}

// dtLayout is the value format of <input type="datetime-local">.
const dtLayout = "2006-01-02T15:04"

func (s *server) maintenanceList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderMaintenance(w, r, rc, http.StatusOK, maintForm{Repeat: core.RepeatWeekly, From: "22:00", To: "02:00",
		TimeZone: rc.lang.ZoneName()}, nil)
}

func (s *server) editMaintenance(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	m, err := s.svc.GetMaintenance(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	s.renderMaintenance(w, r, rc, http.StatusOK, formOf(m.Maintenance), nil)
}

// renderMaintenance shows the list with the form (empty, being edited, or
// sent back with its errors).
func (s *server) renderMaintenance(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, form maintForm, ve *policy.ValidationError) {
	ctx, u := r.Context(), rc.user
	if form.TimeZone == "" {
		form.TimeZone = rc.lang.ZoneName()
	}
	form.Zones = zoneChoices(form.TimeZone)
	var f core.MaintenanceFilter
	q := r.URL.Query()
	for name, dst := range map[string]*int64{"client": &f.ClientID, "site": &f.SiteID, "device": &f.DeviceID} {
		if v := q.Get(name); v != "" {
			id, err := strconv.ParseInt(v, 10, 64)
			if err != nil || id <= 0 {
				s.renderError(w, r, rc.lang, core.ErrNotFound)
				return
			}
			*dst = id
		}
	}
	ws, err := s.svc.ListMaintenance(ctx, u, f)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	p := maintenancePage{Errors: map[string]string{}, Weekdays: []int{1, 2, 3, 4, 5, 6, 0}}
	for _, m := range ws {
		p.Windows = append(p.Windows, maintRow{MaintenanceWindow: m, When: describeWindow(m.Maintenance, rc.lang)})
	}
	if p.Filter, err = s.maintFilterName(ctx, u, f); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if authz.CanOperate(u.Role) {
		if err := s.maintTargets(ctx, u, &form); err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
	}
	p.Form = form
	if ve != nil {
		for _, fe := range ve.Fields {
			field := fe.Field
			if field == "scope" || field == "target_id" {
				field = "target"
			}
			p.Errors[field] = fe.Message.In(rc.lang.Code())
		}
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "maint.title", p
	if ve != nil {
		v.Error = "maint.invalid"
	}
	switch q.Get("done") {
	case "saved":
		v.Notice, v.NoticeKind = "maint.saved", "ok"
	case "deleted":
		v.Notice, v.NoticeKind = "maint.deleted", "ok"
	}
	s.render(w, status, "maintenance", v)
}

// maintFilterName names the client, site or device the list shows.
func (s *server) maintFilterName(ctx context.Context, u core.User, f core.MaintenanceFilter) (string, error) {
	switch {
	case f.DeviceID != 0:
		d, err := s.svc.GetDevice(ctx, f.DeviceID)
		return d.Hostname, err
	case f.SiteID != 0:
		st, err := s.siteOf(ctx, u, f.SiteID)
		return st.ClientName + " / " + st.Name, err
	case f.ClientID != 0:
		cs, err := s.svc.ListClients(ctx, u)
		if err != nil {
			return "", err
		}
		for _, c := range cs {
			if c.ID == f.ClientID {
				return c.Name, nil
			}
		}
		return "", core.ErrNotFound
	}
	return "", nil
}

// maintTargets fills the scope picker with what u may see.
func (s *server) maintTargets(ctx context.Context, u core.User, form *maintForm) error {
	cs, err := s.svc.ListClients(ctx, u)
	if err != nil {
		return err
	}
	sites, err := s.svc.ListSites(ctx, u)
	if err != nil {
		return err
	}
	ds, err := s.svc.ListDevicesFor(ctx, u, service.DeviceFilter{})
	if err != nil {
		return err
	}
	for _, c := range cs {
		form.Clients = append(form.Clients, maintOption{"client:" + strconv.FormatInt(c.ID, 10), c.Name})
	}
	for _, st := range sites {
		form.Sites = append(form.Sites, maintOption{"site:" + strconv.FormatInt(st.ID, 10), st.ClientName + " / " + st.Name})
	}
	for _, d := range ds {
		form.Devices = append(form.Devices, maintOption{"device:" + strconv.FormatInt(d.ID, 10),
			d.Hostname + " (" + d.ClientName + " / " + d.SiteName + ")"})
	}
	return nil
}

// formOf fills the form from a stored window, times in its time zone.
func formOf(m core.Maintenance) maintForm {
	loc, err := core.LoadZone(m.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	local := func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return ""
		}
		return t.In(loc).Format(dtLayout)
	}
	f := maintForm{ID: m.ID, Target: m.Scope + ":" + strconv.FormatInt(m.TargetID, 10), Title: m.Title, Repeat: m.Repeat,
		Start: local(&m.Start), End: local(m.End), Until: local(m.Until), Weekdays: m.Weekdays, From: m.From, To: m.To,
		TimeZone: m.TimeZone}
	if m.MonthDay > 0 {
		f.MonthDay = strconv.Itoa(m.MonthDay)
	}
	return f
}

// parseMaintForm reads the form into a window; what cannot be parsed is a
// field error, the rest the service validates.
func parseMaintForm(r *http.Request) (core.Maintenance, maintForm, []policy.FieldError) {
	form := maintForm{Target: r.PostFormValue("target"), Title: r.PostFormValue("title"), Repeat: r.PostFormValue("repeat"),
		Start: r.PostFormValue("start"), End: r.PostFormValue("end"), Until: r.PostFormValue("until"),
		MonthDay: strings.TrimSpace(r.PostFormValue("month_day")), From: r.PostFormValue("from"), To: r.PostFormValue("to"),
		TimeZone: strings.TrimSpace(r.PostFormValue("timezone"))}
	var fs []policy.FieldError
	bad := func(field, en, de string) {
		fs = append(fs, policy.FieldError{Field: field, Message: core.Text{EN: en, DE: de}})
	}
	m := core.Maintenance{Title: form.Title, Repeat: form.Repeat, From: form.From, To: form.To, TimeZone: form.TimeZone}
	scope, id, _ := strings.Cut(form.Target, ":")
	m.Scope = scope
	m.TargetID, _ = strconv.ParseInt(id, 10, 64)
	for _, v := range r.PostForm["weekdays"] {
		d, err := strconv.Atoi(v)
		if err != nil {
			d = -1 // refused by validation, naming the field
		}
		form.Weekdays = append(form.Weekdays, d)
	}
	if m.Repeat == core.RepeatWeekly {
		m.Weekdays = form.Weekdays
	}
	if form.MonthDay != "" && m.Repeat == core.RepeatMonthly {
		n, err := strconv.Atoi(form.MonthDay)
		if err != nil {
			bad("month_day", "must be a number 1–31", "muss eine Zahl 1–31 sein")
		}
		m.MonthDay = n
	}
	zone := form.TimeZone
	if zone == "" { // a window is defined in a zone: the user's unless named
		zone = pickLangOf(r).ZoneName()
		m.TimeZone = zone
	}
	loc, err := core.LoadZone(zone)
	if err != nil {
		loc = time.UTC // the service names the time zone
	}
	at := func(field, v string) *time.Time {
		if v = strings.TrimSpace(v); v == "" {
			return nil
		}
		for _, layout := range []string{dtLayout, dtLayout + ":05"} {
			if t, err := time.ParseInLocation(layout, v, loc); err == nil {
				return &t
			}
		}
		bad(field, "must be a date and time", "muss ein Datum mit Uhrzeit sein")
		return nil
	}
	if t := at("start", form.Start); t != nil {
		m.Start = *t
	}
	if m.Repeat == core.RepeatOnce {
		m.End = at("end", form.End)
	} else {
		m.Until = at("until", form.Until)
	}
	return m, form, fs
}

func (s *server) saveMaintenance(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	var id int64
	if r.PathValue("id") != "" {
		var err error
		if id, err = pathID(r); err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
	}
	m, form, fs := parseMaintForm(r)
	form.ID = id
	var err error
	if len(fs) > 0 {
		err = &policy.ValidationError{Fields: fs}
	} else {
		_, err = s.svc.SaveMaintenance(r.Context(), rc.user, id, m)
	}
	var ve *policy.ValidationError
	if errors.As(err, &ve) {
		s.renderMaintenance(w, r, rc, http.StatusBadRequest, form, ve)
		return
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/maintenance?done=saved", http.StatusSeeOther)
}

func (s *server) deleteMaintenance(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	id, err := pathID(r)
	if err == nil {
		err = s.svc.DeleteMaintenance(r.Context(), rc.user, id)
	}
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	http.Redirect(w, r, "/maintenance?done=deleted", http.StatusSeeOther)
}

// describeWindow says when a window applies, in the window's time zone.
func describeWindow(m core.Maintenance, l Lang) string {
	loc, err := core.LoadZone(m.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	layout := "2006-01-02 15:04"
	if l.code == langDE {
		layout = "02.01.2006 15:04"
	}
	if m.Repeat == core.RepeatOnce {
		end := ""
		if m.End != nil {
			end = m.End.In(loc).Format(layout)
		}
		return m.Start.In(loc).Format(layout) + " – " + end + " (" + loc.String() + ")"
	}
	var b strings.Builder
	switch m.Repeat {
	case core.RepeatDaily:
		b.WriteString(l.T("maint.daily"))
	case core.RepeatWeekly:
		days := slices.Clone(m.Weekdays)
		slices.SortFunc(days, func(a, b int) int { return (a+6)%7 - (b+6)%7 }) // Monday first
		names := make([]string, len(days))
		for i, d := range days {
			names[i] = l.T("maint.wd." + strconv.Itoa(d))
		}
		b.WriteString(l.T("maint.weekly") + " " + strings.Join(names, ", "))
	case core.RepeatMonthly:
		b.WriteString(strings.Replace(l.T("maint.monthlyOn"), "{day}", strconv.Itoa(m.MonthDay), 1))
	}
	b.WriteString(" " + m.From + "–" + m.To + " (" + loc.String() + ")")
	b.WriteString(", " + l.T("maint.from") + " " + m.Start.In(loc).Format(layout))
	if m.Until != nil {
		b.WriteString(", " + l.T("maint.until") + " " + m.Until.In(loc).Format(layout))
	}
	return b.String()
}

// addMaintenance marks the overview's devices that are in maintenance now.
func (s *server) addMaintenance(ctx context.Context, cs []clientView) error {
	active, err := s.svc.ActiveMaintenance(ctx)
	if err != nil || len(active) == 0 {
		return err
	}
	for ci := range cs {
		for si := range cs[ci].Sites {
			for di := range cs[ci].Sites[si].Devices {
				dv := &cs[ci].Sites[si].Devices[di]
				dv.Maintenance = slices.ContainsFunc(active, func(m core.Maintenance) bool { return m.Covers(dv.Device.Device) })
			}
		}
	}
	return nil
}

// inMaintenance reports whether a window covers the device now.
func (s *server) inMaintenance(ctx context.Context, d core.Device) (bool, error) {
	active, err := s.svc.ActiveMaintenance(ctx)
	return slices.ContainsFunc(active, func(m core.Maintenance) bool { return m.Covers(d) }), err
}

// Day reports whether the form has weekday d ticked.
func (f maintForm) Day(d int) bool { return slices.Contains(f.Weekdays, d) }
