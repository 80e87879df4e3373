package api

import (
	"bytes"
	"errors"
	"fmt"
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

// billingRoutes serve issue 22: contracts and billing runs
// (administrators) and time worked (technicians and administrators).
func (h *handler) billingRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/clients/{id}/contract", authz.Admin, h.getContract)
	rt.HandleFunc("PUT /api/v1/clients/{id}/contract", authz.Admin, h.putContract)
	rt.HandleFunc("DELETE /api/v1/contracts/{id}", authz.Admin, h.deleteContract)
	rt.HandleFunc("GET /api/v1/billing", authz.Admin, h.billingPreview)
	rt.HandleFunc("GET /api/v1/billing/runs", authz.Admin, h.listBillingRuns)
	rt.HandleFunc("POST /api/v1/billing/runs", authz.Admin, h.finalizeBilling)
	// {id} is the run's ID, or the ID with .csv or .json for an export.
	rt.HandleFunc("GET /api/v1/billing/runs/{id}", authz.Admin, h.getBillingRun)
	rt.HandleFunc("GET /api/v1/time-entries", authz.Operate, h.listTimeEntries)
	rt.HandleFunc("POST /api/v1/time-entries", authz.Operate, h.recordTime)
	rt.HandleFunc("PUT /api/v1/time-entries/{id}", authz.Operate, h.updateTimeEntry)
	rt.HandleFunc("DELETE /api/v1/time-entries/{id}", authz.Operate, h.deleteTimeEntry)
	rt.HandleFunc("POST /api/v1/time-entries/{id}/stop", authz.Operate, h.stopTimeEntry)
}

// decodeLimited is decodeBody with the body bounded to 64 KiB.
func decodeLimited(w http.ResponseWriter, r *http.Request, v any) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	return decodeBody(r, v)
}

// conflictResponse is a refusal because of what is stored: the field and
// why, in English and German.
type conflictResponse struct {
	Error   string              `json:"error"`
	Code    string              `json:"code"`
	Message core.Text           `json:"message"`
	Fields  []policy.FieldError `json:"fields"`
}

// billingError answers a *service.BillingConflictError with 409 naming
// the field, anything else with writeError.
func (h *handler) billingError(w http.ResponseWriter, r *http.Request, err error) {
	var bc *service.BillingConflictError
	if errors.As(err, &bc) {
		writeJSON(w, http.StatusConflict, conflictResponse{Error: bc.Error(), Code: "conflict", Message: bc.Text,
			Fields: []policy.FieldError{{Field: bc.Field, Message: bc.Text}}})
		return
	}
	h.writeError(w, r, err)
}

func (h *handler) getContract(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.billingError).withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		return h.svc.ClientContract(r.Context(), u, id)
	})
}

// putContract stores the body as a new contract of the client (id 0 or
// absent) or in place of contract id.
func (h *handler) putContract(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.billingError).withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		var c core.Contract
		if err := decodeLimited(w, r, &c); err != nil {
			return nil, err
		}
		if c.ClientID != 0 && c.ClientID != id {
			return nil, &policy.ValidationError{Fields: []policy.FieldError{{Field: "client_id",
				Message: core.Text{EN: "must be the client of the path, or absent", DE: "muss der Kunde des Pfads sein oder fehlen"}}}}
		}
		c.ClientID = id
		return h.svc.PutContract(r.Context(), u, c)
	})
}

func (h *handler) deleteContract(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.billingError).withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		return nil, h.svc.DeleteContract(r.Context(), u, id)
	})
}

// billingPreview: ?from=&to= (optional; the last full month by default).
func (h *handler) billingPreview(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.billingError).serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		q := r.URL.Query()
		return h.svc.BillingPreview(r.Context(), u, q.Get("from"), q.Get("to"))
	})
}

// finalizeBody is what POST /api/v1/billing/runs takes; every field may
// be absent.
type finalizeBody struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Corrects int64  `json:"corrects"`
}

func (h *handler) finalizeBilling(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.billingError).serve(w, r, http.StatusCreated, func(u core.User) (any, error) {
		var b finalizeBody
		if r.ContentLength != 0 {
			if err := decodeLimited(w, r, &b); err != nil {
				return nil, err
			}
		}
		return h.svc.FinalizeBilling(r.Context(), u, b.From, b.To, b.Corrects)
	})
}

func (h *handler) listBillingRuns(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.billingError).serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		return h.svc.BillingRuns(r.Context(), u)
	})
}

// getBillingRun answers /runs/{id} with the run as JSON, /runs/{id}.csv
// and /runs/{id}.json with a download.
func (h *handler) getBillingRun(w http.ResponseWriter, r *http.Request) {
	seg := r.PathValue("id")
	format := ""
	for _, ext := range []string{".csv", ".json"} {
		if strings.HasSuffix(seg, ext) {
			seg, format = strings.TrimSuffix(seg, ext), ext[1:]
		}
	}
	id, err := strconv.ParseInt(seg, 10, 64)
	if err != nil || id <= 0 {
		h.writeError(w, r, fmt.Errorf("billing run %q: want a run's ID, optionally with .csv or .json: %w", r.PathValue("id"), core.ErrInvalid))
		return
	}
	u, err := service.Caller(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	run, err := h.svc.BillingRun(r.Context(), u, id)
	if err != nil {
		h.billingError(w, r, err)
		return
	}
	if format == "" {
		writeJSON(w, http.StatusOK, run)
		return
	}
	var buf bytes.Buffer
	contentType := "application/json"
	if format == "csv" {
		contentType = "text/csv; charset=utf-8"
		err = billing.WriteCSV(&buf, run)
	} else {
		err = billing.WriteJSON(&buf, run)
	}
	if err != nil {
		h.writeError(w, r, fmt.Errorf("exporting billing run %d: %w", id, err))
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, runFileName(run), format))
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes()) // the status is sent; a failed write has no one to tell
}

// runFileName names a run's export: wacht-abrechnung-2026-11 for a month,
// wacht-abrechnung-2026-10-bis-2026-12 for several, -korrektur-N for a
// correction of run N.
func runFileName(run core.BillingRun) string {
	from, to := run.From, run.To
	if len(from) >= 7 {
		from = from[:7]
	}
	if len(to) >= 7 {
		to = to[:7]
	}
	name := "wacht-abrechnung-" + from
	if to != from {
		name += "-bis-" + to
	}
	if run.Corrects != 0 {
		name += "-korrektur-" + strconv.FormatInt(run.Corrects, 10)
	}
	return name
}

// listTimeEntries: ?client_id=&outage_id=&support_request_id=&from=&to=
// (RFC 3339 times or dates YYYY-MM-DD, UTC) &unbilled=true and the paging
// of parsePage, newest started first.
func (h *handler) listTimeEntries(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.billingError).serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		ids, err := queryInts(r, "client_id", "outage_id", "support_request_id")
		if err != nil {
			return nil, err
		}
		q := core.TimeQuery{ClientID: ids[0], OutageID: ids[1], SupportID: ids[2],
			Unbilled: r.URL.Query().Get("unbilled") == "true"}
		if q.From, err = queryTime(r, "from"); err != nil {
			return nil, err
		}
		if q.Until, err = queryTime(r, "to"); err != nil {
			return nil, err
		}
		// No count: the store has none, and the list spans years.
		return servePage(w, r, func(after core.PageKey, limit int) ([]core.TimeEntry, error) {
			q.After, q.Limit = after, limit
			return h.svc.TimeEntries(r.Context(), u, q)
		}, func(e core.TimeEntry) core.PageKey { return core.PageKey{At: e.StartedAt, ID: e.ID} }, nil)
	})
}

// queryTime parses a query parameter as RFC 3339 or as a date (midnight
// UTC); "" is the zero time.
func queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02", v); err == nil {
		return t, nil
	}
	return time.Time{}, &policy.ValidationError{Fields: []policy.FieldError{{Field: name,
		Message: core.Text{EN: "must be a date YYYY-MM-DD or an RFC 3339 time", DE: "muss ein Datum JJJJ-MM-TT oder eine Zeit nach RFC 3339 sein"}}}}
}

// timeBody is what POST and PUT take of a time entry.
type timeBody struct {
	ClientID  int64     `json:"client_id"`
	OutageID  int64     `json:"outage_id"`
	SupportID int64     `json:"support_request_id"`
	StartedAt time.Time `json:"started_at"`
	Minutes   int       `json:"minutes"`
	Running   bool      `json:"running"`
	Note      string    `json:"note"`
	Billable  *bool     `json:"billable"` // absent: billable
}

func (b timeBody) entry() core.TimeEntry {
	return core.TimeEntry{ClientID: b.ClientID, OutageID: b.OutageID, SupportID: b.SupportID, StartedAt: b.StartedAt,
		Minutes: b.Minutes, Running: b.Running, Note: b.Note, Billable: b.Billable == nil || *b.Billable}
}

func (h *handler) recordTime(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.billingError).serve(w, r, http.StatusCreated, func(u core.User) (any, error) {
		var b timeBody
		if err := decodeLimited(w, r, &b); err != nil {
			return nil, err
		}
		return h.svc.RecordTime(r.Context(), u, b.entry())
	})
}

// updateTimeEntry changes minutes, note and billable; the other fields of
// the body are ignored.
func (h *handler) updateTimeEntry(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.billingError).withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		var b timeBody
		if err := decodeLimited(w, r, &b); err != nil {
			return nil, err
		}
		e := b.entry()
		e.ID = id
		return h.svc.UpdateTimeEntry(r.Context(), u, e)
	})
}

func (h *handler) deleteTimeEntry(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.billingError).withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		return nil, h.svc.DeleteTimeEntry(r.Context(), u, id)
	})
}

func (h *handler) stopTimeEntry(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.billingError).withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		return h.svc.StopTime(r.Context(), u, id)
	})
}
