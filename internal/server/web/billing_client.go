package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The client page's contract card (administrators) and time tracking
// (technicians and administrators), and the page that records time
// against an outage or a support request.

func (s *server) contractRoutes(rt *auth.Router) {
	rt.HandleFunc("POST /clients/{id}/contract", authz.Admin, s.withSession(s.saveContract))
	rt.HandleFunc("POST /contracts/{id}/delete", authz.Admin, s.withSession(s.deleteContract))
}

func (s *server) timeRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /time/new", authz.Operate, s.withSession(s.newTimePage))
	rt.HandleFunc("POST /time", authz.Operate, s.withSession(s.recordTime))
	rt.HandleFunc("GET /time/{id}/edit", authz.Operate, s.withSession(s.editTimePage))
	rt.HandleFunc("POST /time/{id}", authz.Operate, s.withSession(s.updateTime))
	rt.HandleFunc("POST /time/{id}/stop", authz.Operate, s.withSession(s.stopTime))
	rt.HandleFunc("POST /time/{id}/delete", authz.Operate, s.withSession(s.deleteTime))
}

// contractForm is the contract form as typed (amounts in the page's
// decimal format).
type contractForm struct {
	ID                                   int64
	Plan, Price, Activation, Hourly, VAT string
	Gross, Network                       bool
	Period, Start, End, Reactivate       string
}

func contractFormOf(c core.Contract, lang Lang) contractForm {
	return contractForm{ID: c.ID, Plan: c.Plan, Price: lang.Decimal(c.PriceCents), Activation: lang.Decimal(c.ActivationCents),
		Hourly: lang.Decimal(c.HourlyRateCents), VAT: lang.Rate(c.VATBasisPoints), Gross: c.Gross, Network: c.NetworkDevicesBillable,
		Period: c.Period, Start: c.Start, End: c.End, Reactivate: strconv.Itoa(c.ReactivateMonths)}
}

// contractCard is the client page's contract card.
type contractCard struct {
	Current   *core.Contract
	Contracts []core.Contract
	Form      contractForm
	Errors    map[string]string
	Saved     bool
	Deleted   bool // a contract was just deleted
}

// timeCard is the client page's time tracking card.
type timeCard struct {
	Entries []core.TimeEntry
	Form    timeForm
	Me      string // the user's e-mail: their running entries can be stopped
}

// timeForm is the "record time" form as typed.
type timeForm struct {
	ID        int64
	ClientID  int64
	OutageID  int64
	SupportID int64
	Minutes   string
	Note      string
	Billable  bool
	Date      string
	Next      string // where to return
	Errors    map[string]string
}

// clientBilling fills the client page's billing cards: the contract card
// for administrators (cf: the form as submitted, nil: from the stored
// contracts), time tracking for whoever may operate.
func (s *server) clientBilling(r *http.Request, rc *reqCtx, id int64, cv *clientPageView, cf *contractCard) error {
	ctx := r.Context()
	if rc.user.Role == core.RoleAdmin {
		view, err := s.svc.ClientContract(ctx, rc.user, id)
		if err != nil {
			return err
		}
		card := cf
		if card == nil {
			card = &contractCard{Errors: map[string]string{}}
			q := r.URL.Query()
			edit, _ := strconv.ParseInt(q.Get("contract"), 10, 64)
			card.Saved = q.Get("done") == "contract"
			card.Deleted = q.Get("done") == "contractDeleted"
			var form *core.Contract
			for i := range view.Contracts {
				if view.Contracts[i].ID == edit {
					form = &view.Contracts[i]
				}
			}
			if form == nil {
				c := core.DefaultContract(id, firstOfMonth(s.now()))
				if view.Suggested != nil {
					c = *view.Suggested
				}
				c.ID = 0
				form = &c
			}
			card.Form = contractFormOf(*form, rc.lang)
		}
		card.Current, card.Contracts = view.Current, view.Contracts
		cv.Contract = card
	}
	if authz.CanOperate(rc.user.Role) {
		es, err := s.svc.TimeEntries(ctx, rc.user, core.TimeQuery{ClientID: id, Limit: 100})
		if err != nil {
			return err
		}
		cv.Time = &timeCard{Entries: es, Me: rc.user.Email, Form: timeForm{ClientID: id, Billable: true,
			Date: rc.lang.Day(s.now()), Next: clientURL(id) + "#time"}}
	}
	return nil
}

func firstOfMonth(t time.Time) string {
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
}

func clientURL(id int64) string { return "/clients/" + strconv.FormatInt(id, 10) }

// fieldErr is one refused form field.
func fieldErr(field, en, de string) policy.FieldError {
	return policy.FieldError{Field: field, Message: core.Text{EN: en, DE: de}}
}

// contractField maps the service's field names to the form's.
func contractField(f string) string {
	switch f {
	case "price_cents", "price":
		return "price"
	case "activation_cents", "activation":
		return "activation"
	case "hourly_rate_cents", "hourly_rate", "hourly":
		return "hourly"
	case "vat_basis_points", "vat":
		return "vat"
	case "reactivate_months", "reactivate":
		return "reactivate"
	case "network_devices_billable":
		return "network"
	}
	return f // plan, period, start, end, client_id
}

// parseContractForm reads the contract form; amounts accept a decimal
// comma or point.
func parseContractForm(r *http.Request, clientID int64) (core.Contract, contractForm, []policy.FieldError) {
	f := contractForm{Plan: strings.TrimSpace(r.PostFormValue("plan")), Price: r.PostFormValue("price"), Activation: r.PostFormValue("activation"),
		Hourly: r.PostFormValue("hourly"), VAT: r.PostFormValue("vat"), Gross: r.PostFormValue("gross") == "gross",
		Network: r.PostFormValue("network") == "on", Period: r.PostFormValue("period"), Start: strings.TrimSpace(r.PostFormValue("start")),
		End: strings.TrimSpace(r.PostFormValue("end")), Reactivate: strings.TrimSpace(r.PostFormValue("reactivate"))}
	f.ID, _ = strconv.ParseInt(r.PostFormValue("contract_id"), 10, 64)
	c := core.Contract{ID: f.ID, ClientID: clientID, Plan: f.Plan, Gross: f.Gross, NetworkDevicesBillable: f.Network,
		Period: f.Period, Start: f.Start, End: f.End}
	var fs []policy.FieldError
	money := func(field, v string, dst *int64) {
		n, err := parseCents(v)
		if err != nil {
			fs = append(fs, fieldErr(field, "must be an amount such as 129,00 or 129.00", "muss ein Betrag wie 129,00 sein"))
			return
		}
		*dst = n
	}
	money("price", f.Price, &c.PriceCents)
	money("activation", f.Activation, &c.ActivationCents)
	money("hourly", f.Hourly, &c.HourlyRateCents)
	if bp, err := parseCents(f.VAT); err != nil {
		fs = append(fs, fieldErr("vat", "must be a percentage such as 19 or 7,5", "muss ein Prozentsatz wie 19 oder 7,5 sein"))
	} else {
		c.VATBasisPoints = int(bp)
	}
	if f.Reactivate == "" {
		c.ReactivateMonths = 0
	} else if n, err := strconv.Atoi(f.Reactivate); err != nil {
		fs = append(fs, fieldErr("reactivate", "must be a whole number of months", "muss eine ganze Zahl von Monaten sein"))
	} else {
		c.ReactivateMonths = n
	}
	return c, f, fs
}

func (s *server) saveContract(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	c, f, fs := parseContractForm(r, id)
	if len(fs) == 0 {
		if _, err = s.svc.PutContract(r.Context(), rc.user, c); err == nil {
			http.Redirect(w, r, clientURL(id)+"?done=contract#contract", http.StatusSeeOther)
			return
		}
		var ve *policy.ValidationError
		var bc *service.BillingConflictError
		switch {
		case errors.As(err, &ve):
			fs = ve.Fields
		case errors.As(err, &bc):
			fs = []policy.FieldError{{Field: bc.Field, Message: bc.Text}}
		case errors.Is(err, core.ErrConflict):
			fs = []policy.FieldError{fieldErr("start", "overlaps another contract of this client", "überschneidet sich mit einem anderen Vertrag dieses Kunden")}
		default:
			s.renderError(w, r, rc.lang, err)
			return
		}
	}
	card := &contractCard{Form: f, Errors: map[string]string{}}
	for _, fe := range fs {
		field := contractField(fe.Field)
		if fe.Field == "vat_basis_points" {
			// The form asks for a percentage, not basis points.
			fe.Message = core.Text{EN: "must be 0–100 %", DE: "muss zwischen 0 und 100 % liegen"}
		}
		if prev, ok := card.Errors[field]; ok {
			card.Errors[field] = prev + "; " + fe.Message.In(rc.lang.Code())
		} else {
			card.Errors[field] = fe.Message.In(rc.lang.Code())
		}
	}
	s.clientPageFull(w, r, rc, id, http.StatusBadRequest, "contract.invalid", 0, nil, card)
}

func (s *server) deleteContract(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	if err := s.svc.DeleteContract(r.Context(), rc.user, id); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	back := nextPath(r.PostFormValue("next")) // the client's contract card
	if back == "" {
		back = "/billing"
	}
	http.Redirect(w, r, withParam(back, "done", "contractDeleted"), http.StatusSeeOther)
}

// timeEntryPage is the page that records or edits one time entry.
type timeEntryPage struct {
	Form       timeForm
	ClientName string
	Against    string // what the time is recorded against, in the page's language
	Entries    []core.TimeEntry
}

// newTimePage shows the form for time against ?outage=, ?support= or
// ?client=.
func (s *server) newTimePage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	f := timeForm{Billable: true, Date: rc.lang.Day(s.now()), Next: nextPath(q.Get("next"))}
	f.OutageID, _ = strconv.ParseInt(q.Get("outage"), 10, 64)
	f.SupportID, _ = strconv.ParseInt(q.Get("support"), 10, 64)
	f.ClientID, _ = strconv.ParseInt(q.Get("client"), 10, 64)
	s.renderTimePage(w, r, rc, http.StatusOK, f)
}

// timeTarget derives the client of the time entry from its outage or
// support request, and describes what the time is recorded against.
func (s *server) timeTarget(r *http.Request, rc *reqCtx, f *timeForm) (clientName, against string, err error) {
	ctx := r.Context()
	switch {
	case f.OutageID > 0:
		o, err := s.svc.Outage(ctx, rc.user, f.OutageID)
		if err != nil {
			return "", "", err
		}
		f.ClientID = o.ClientID
		against = rc.lang.T("time.outage") + " #" + strconv.FormatInt(o.ID, 10) + " · " + o.Hostname
	case f.SupportID > 0:
		sr, err := s.svc.GetSupportRequest(ctx, rc.user, f.SupportID)
		if err != nil {
			return "", "", err
		}
		f.ClientID = sr.ClientID
		against = rc.lang.T("time.support") + " " + sr.Ref
	}
	if f.ClientID <= 0 {
		return "", "", core.ErrNotFound
	}
	c, err := s.svc.GetClient(ctx, rc.user, f.ClientID)
	if err != nil {
		return "", "", err
	}
	return c.Name, against, nil
}

func (s *server) renderTimePage(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, f timeForm) {
	p := timeEntryPage{Form: f}
	var err error
	if p.ClientName, p.Against, err = s.timeTarget(r, rc, &p.Form); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if f.ID == 0 && (f.OutageID > 0 || f.SupportID > 0) {
		if p.Entries, err = s.svc.TimeEntries(r.Context(), rc.user, core.TimeQuery{ClientID: p.Form.ClientID, OutageID: f.OutageID, SupportID: f.SupportID}); err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
	}
	if p.Form.Next == "" {
		p.Form.Next = clientURL(p.Form.ClientID) + "#time"
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "time.title", p
	if len(f.Errors) > 0 {
		v.Error = "time.invalid"
	}
	s.render(w, status, "time-entry", v)
}

// parseTimeForm reads the time form: minutes as "90" or "1:30", the day
// worked (today when empty).
func (s *server) parseTimeForm(r *http.Request) (timeForm, core.TimeEntry) {
	f := timeForm{Minutes: strings.TrimSpace(r.PostFormValue("minutes")), Note: strings.TrimSpace(r.PostFormValue("note")),
		Billable: r.PostFormValue("billable") == "on", Date: strings.TrimSpace(r.PostFormValue("date")),
		Next: nextPath(r.PostFormValue("next")), Errors: map[string]string{}}
	f.ClientID, _ = strconv.ParseInt(r.PostFormValue("client"), 10, 64)
	f.OutageID, _ = strconv.ParseInt(r.PostFormValue("outage"), 10, 64)
	f.SupportID, _ = strconv.ParseInt(r.PostFormValue("support"), 10, 64)
	e := core.TimeEntry{ClientID: f.ClientID, OutageID: f.OutageID, SupportID: f.SupportID, Note: f.Note, Billable: f.Billable}
	now := s.now()
	if r.PostFormValue("action") == "start" {
		e.Running, e.StartedAt = true, now
		return f, e
	}
	m, err := parseMinutes(f.Minutes)
	if err != nil || m <= 0 {
		f.Errors["minutes"] = core.Text{EN: "enter the minutes worked (90) or hours and minutes (1:30)",
			DE: "Minuten (90) oder Stunden und Minuten (1:30) angeben"}.In(pickLangOf(r).code)
	}
	e.Minutes = m
	day := now
	if f.Date != "" {
		d, err := pickLangOf(r).ParseTime(time.DateOnly, f.Date)
		if err != nil {
			f.Errors["date"] = core.Text{EN: "the date must be written YYYY-MM-DD", DE: "das Datum muss als JJJJ-MM-TT angegeben werden"}.In(pickLangOf(r).code)
		} else if d.After(now) {
			f.Errors["date"] = core.Text{EN: "the date is in the future", DE: "das Datum liegt in der Zukunft"}.In(pickLangOf(r).code)
		} else {
			day = d.Add(12 * time.Hour)
		}
	}
	if y, m, d := day.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		day = now.Add(-time.Duration(e.Minutes) * time.Minute)
	}
	e.StartedAt = day
	return f, e
}

// pickLangOf is the request's language (the guard's choice).
func pickLangOf(r *http.Request) Lang {
	if rc, ok := r.Context().Value(rcKey{}).(*reqCtx); ok {
		return rc.lang
	}
	return langOf(langEN)
}

// timeFieldErrors puts a refusal's fields into f.Errors; false when err is
// not a refusal of the input.
func timeFieldErrors(err error, f *timeForm, lang Lang) bool {
	var ve *policy.ValidationError
	if !errors.As(err, &ve) {
		if msg := problemText(err, lang); msg != "" {
			f.Errors["form"] = msg
			return true
		}
		return false
	}
	for _, fe := range ve.Fields {
		field := fe.Field
		switch field {
		case "started_at":
			field = "date"
		case "minutes", "note", "date":
		default:
			field = "form"
		}
		f.Errors[field] = fe.Message.In(lang.Code())
	}
	return true
}

func (s *server) recordTime(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	f, e := s.parseTimeForm(r)
	if len(f.Errors) == 0 {
		_, _, err := s.timeTarget(r, rc, &f)
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		e.ClientID = f.ClientID
		if _, err = s.svc.RecordTime(r.Context(), rc.user, e); err == nil {
			next := f.Next
			if next == "" {
				next = clientURL(f.ClientID) + "#time"
			}
			http.Redirect(w, r, next, http.StatusSeeOther)
			return
		}
		if !timeFieldErrors(err, &f, rc.lang) {
			s.renderError(w, r, rc.lang, err)
			return
		}
	}
	s.renderTimePage(w, r, rc, http.StatusBadRequest, f)
}

func (s *server) editTimePage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	e, err := s.timeEntry(r, rc, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	f := timeForm{ID: e.ID, ClientID: e.ClientID, OutageID: e.OutageID, SupportID: e.SupportID, Minutes: rc.lang.HM(e.Minutes),
		Note: e.Note, Billable: e.Billable, Date: rc.lang.Day(e.StartedAt), Next: clientURL(e.ClientID) + "#time"}
	s.renderTimePage(w, r, rc, http.StatusOK, f)
}

// timeEntry finds entry id among those the user may see.
func (s *server) timeEntry(r *http.Request, rc *reqCtx, id int64) (core.TimeEntry, error) {
	es, err := s.svc.TimeEntries(r.Context(), rc.user, core.TimeQuery{})
	if err != nil {
		return core.TimeEntry{}, err
	}
	for _, e := range es {
		if e.ID == id {
			return e, nil
		}
	}
	return core.TimeEntry{}, core.ErrNotFound
}

func (s *server) updateTime(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	id, err := pathID(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	old, err := s.timeEntry(r, rc, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	f, e := s.parseTimeForm(r)
	f.ID, f.ClientID, f.OutageID, f.SupportID = id, old.ClientID, old.OutageID, old.SupportID
	if len(f.Errors) == 0 {
		upd := old
		upd.Minutes, upd.Note, upd.Billable = e.Minutes, e.Note, e.Billable
		if f.Date != "" && f.Date != rc.lang.Day(old.StartedAt) {
			upd.StartedAt = e.StartedAt
		}
		if _, err = s.svc.UpdateTimeEntry(r.Context(), rc.user, upd); err == nil {
			http.Redirect(w, r, clientURL(old.ClientID)+"#time", http.StatusSeeOther)
			return
		}
		if !timeFieldErrors(err, &f, rc.lang) {
			s.renderError(w, r, rc.lang, err)
			return
		}
	}
	s.renderTimePage(w, r, rc, http.StatusBadRequest, f)
}

func (s *server) stopTime(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.act(w, r, rc, func(id int64) (string, error) {
		e, err := s.svc.StopTime(r.Context(), rc.user, id)
		return timeBack(r, e.ClientID), err
	})
}

func (s *server) deleteTime(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	s.act(w, r, rc, func(id int64) (string, error) {
		e, err := s.timeEntry(r, rc, id)
		if err != nil {
			return "", err
		}
		return withParam(timeBack(r, e.ClientID), "time_deleted", "1"), s.svc.DeleteTimeEntry(r.Context(), rc.user, id)
	})
}

// timeBack is where a time action returns: the form's next, else the
// client's time card.
func timeBack(r *http.Request, clientID int64) string {
	if next := nextPath(r.PostFormValue("next")); next != "" {
		return next
	}
	return clientURL(clientID) + "#time"
}

// withParam sets a query parameter on a local path, keeping its fragment.
func withParam(path, name, value string) string {
	u, err := url.Parse(path)
	if err != nil {
		return path
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// nextPath is a local path to return to, "" when p is none.
func nextPath(p string) string {
	if l := localPath(p); l != "/" || p == "/" {
		return l
	}
	return ""
}

// timeTableData is what the "time-table" template shows.
type timeTableData struct {
	L       Lang
	CSRF    string
	User    core.User
	Entries []core.TimeEntry
}

// timeFormData is what the "time-form" template shows.
type timeFormData struct {
	L    Lang
	CSRF string
	Form timeForm
}

// TimeTable is the data of the "time-table" template for es.
func (v view) TimeTable(es []core.TimeEntry) timeTableData {
	return timeTableData{L: v.L, CSRF: v.CSRF, User: v.User, Entries: es}
}

// TimeForm is the data of the "time-form" template for f.
func (v view) TimeForm(f timeForm) timeFormData {
	if f.Errors == nil {
		f.Errors = map[string]string{}
	}
	return timeFormData{L: v.L, CSRF: v.CSRF, Form: f}
}
