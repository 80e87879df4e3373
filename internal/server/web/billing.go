package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/billing"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// Billing (issue 22): the "Billing" page (preview of a period, finalizing
// it, the finalized runs and their CSV/JSON downloads) for administrators.
// The contract and time tracking cards of the client page are in
// billing_client.go.

func init() { pageNames = append(pageNames, "billing", "billing-run", "time-entry") }

func (s *server) billingRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /billing", authz.Admin, s.withSession(s.billingPage))
	rt.HandleFunc("POST /billing/finalize", authz.Admin, s.withSession(s.finalizeBilling))
	// {file} is "12" (the run's page), "12.csv" or "12.json": the API's
	// downloads need a bearer token, these the dashboard session.
	rt.HandleFunc("GET /billing/runs/{file}", authz.Admin, s.withSession(s.billingRun))
	s.contractRoutes(rt)
	s.timeRoutes(rt)
}

type billingPage struct {
	From, To string // "YYYY-MM"
	Preview  *core.BillingRun
	// Problem says why there is no preview (a period not begun…), in
	// the page's language.
	Problem string
	Runs    []core.BillingRun
	Errors  map[string]string // finalize form: field → message
	Ended   bool              // the period has ended: it can be finalized
}

// monthRange turns "YYYY-MM" months into the service's first and last
// days; empty months default to the last full month before now.
func monthRange(from, to string, now time.Time) (fromMonth, toMonth, first, last string, err error) {
	if from == "" {
		from = time.Date(now.Year(), now.Month()-1, 1, 0, 0, 0, 0, time.UTC).Format("2006-01")
	}
	if to == "" {
		to = from
	}
	f, err1 := time.Parse("2006-01", from)
	t, err2 := time.Parse("2006-01", to)
	if err1 != nil {
		return from, to, "", "", &policy.ValidationError{Fields: []policy.FieldError{{Field: "from", Message: core.Text{
			EN: "the month must be written YYYY-MM", DE: "der Monat muss als JJJJ-MM angegeben werden"}}}}
	}
	if err2 != nil {
		return from, to, "", "", &policy.ValidationError{Fields: []policy.FieldError{{Field: "to", Message: core.Text{
			EN: "the month must be written YYYY-MM", DE: "der Monat muss als JJJJ-MM angegeben werden"}}}}
	}
	if t.Before(f) {
		return from, to, "", "", &policy.ValidationError{Fields: []policy.FieldError{{Field: "to", Message: core.Text{
			EN: "the last month is before the first", DE: "der letzte Monat liegt vor dem ersten"}}}}
	}
	return from, to, f.Format("2006-01-02"), t.AddDate(0, 1, -1).Format("2006-01-02"), nil
}

// problemText is what the page says about a refused period or a failed
// computation: the refused fields, the service's reason, or the error's
// general meaning.
func problemText(err error, lang Lang) string {
	if ve := (*policy.ValidationError)(nil); errors.As(err, &ve) {
		return ve.In(lang.Code())
	}
	if t, ok := service.Reason(err); ok {
		return lang.Message(t)
	}
	switch {
	case errors.Is(err, core.ErrInvalid):
		return lang.T("error.invalid")
	case errors.Is(err, core.ErrConflict):
		return lang.T("error.conflict")
	}
	return ""
}

func (s *server) billingPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	s.renderBilling(w, r, rc, http.StatusOK, q.Get("from"), q.Get("to"), nil)
}

// renderBilling shows the billing page for the months from..to with the
// finalize form's errors.
func (s *server) renderBilling(w http.ResponseWriter, r *http.Request, rc *reqCtx, status int, from, to string, errs map[string]string) {
	ctx := r.Context()
	p := billingPage{Errors: errs}
	if p.Errors == nil {
		p.Errors = map[string]string{}
	}
	now := s.now()
	var first, last string
	var err error
	p.From, p.To, first, last, err = monthRange(from, to, now)
	if err == nil {
		var run core.BillingRun
		run, err = s.svc.BillingPreview(ctx, rc.user, first, last)
		if err == nil {
			p.Preview = &run
			end, _ := rc.lang.ParseTime(time.DateOnly, last)
			p.Ended = !now.Before(end.AddDate(0, 0, 1))
		}
	}
	if err != nil {
		if p.Problem = problemText(err, rc.lang); p.Problem == "" {
			s.renderError(w, r, rc.lang, err)
			return
		}
		if status == http.StatusOK {
			status = http.StatusBadRequest
		}
	}
	if p.Runs, err = s.svc.BillingRuns(ctx, rc.user); err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "billing.title", p
	s.render(w, status, "billing", v)
}

func (s *server) finalizeBilling(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	from, to := r.PostFormValue("from"), r.PostFormValue("to")
	if r.PostFormValue("confirm") != "yes" {
		s.renderBilling(w, r, rc, http.StatusBadRequest, from, to, map[string]string{"confirm": rc.lang.T("billing.confirmMissing")})
		return
	}
	var corrects int64
	if c := r.PostFormValue("corrects"); c != "" {
		var err error
		if corrects, err = strconv.ParseInt(c, 10, 64); err != nil || corrects <= 0 {
			s.renderError(w, r, rc.lang, core.ErrInvalid)
			return
		}
	}
	_, _, first, last, err := monthRange(from, to, s.now())
	if err == nil {
		var run core.BillingRun
		if run, err = s.svc.FinalizeBilling(r.Context(), rc.user, first, last, corrects); err == nil {
			http.Redirect(w, r, "/billing/runs/"+strconv.FormatInt(run.ID, 10)+"?done=finalized", http.StatusSeeOther)
			return
		}
	}
	msg := problemText(err, rc.lang)
	if msg == "" {
		s.renderError(w, r, rc.lang, err)
		return
	}
	s.renderBilling(w, r, rc, http.StatusBadRequest, from, to, map[string]string{"finalize": msg})
}

type billingRunPage struct {
	Run core.BillingRun
}

// billingRun shows a finalized run ("12") or downloads it ("12.csv",
// "12.json").
func (s *server) billingRun(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	file := r.PathValue("file")
	idText, ext, _ := strings.Cut(file, ".")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 || (ext != "" && ext != "csv" && ext != "json") {
		s.renderError(w, r, rc.lang, core.ErrNotFound)
		return
	}
	run, err := s.svc.BillingRun(r.Context(), rc.user, id)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	if ext != "" {
		s.downloadRun(w, r, rc, run, ext)
		return
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "billing.run", billingRunPage{Run: run}
	if r.URL.Query().Get("done") == "finalized" {
		v.Notice, v.NoticeKind = "billing.finalized", "ok"
	}
	s.render(w, http.StatusOK, "billing-run", v)
}

func (s *server) downloadRun(w http.ResponseWriter, r *http.Request, rc *reqCtx, run core.BillingRun, ext string) {
	var buf strings.Builder
	var err error
	ctype := "text/csv; charset=utf-8"
	if ext == "csv" {
		err = billing.WriteCSV(&buf, run)
	} else {
		ctype = "application/json"
		err = billing.WriteJSON(&buf, run)
	}
	if err != nil {
		s.renderError(w, r, rc.lang, fmt.Errorf("exporting billing run %d: %w", run.ID, err))
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="billing-%s-%s-%d.%s"`, run.From, run.To, run.ID, ext))
	_, _ = io.WriteString(w, buf.String())
}

// billsData is what the "billing-bills" template shows.
type billsData struct {
	L   Lang
	Run core.BillingRun
}

// Bills is the data of the "billing-bills" template for a run (a
// core.BillingRun or a pointer to one).
func (v view) Bills(run any) billsData {
	d := billsData{L: v.L}
	switch r := run.(type) {
	case core.BillingRun:
		d.Run = r
	case *core.BillingRun:
		d.Run = *r
	}
	return d
}
