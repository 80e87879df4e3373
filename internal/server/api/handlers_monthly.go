package api

import (
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// The monthly customer report as PDF and the MSP's logo it shows
// (issue 22).
func (h *handler) monthlyRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/clients/{id}/monthly-report.pdf", authz.Read, h.monthlyReport)
	rt.HandleFunc("GET /api/v1/settings/report-logo", authz.Read, h.getReportLogo)
	rt.HandleFunc("PUT /api/v1/settings/report-logo", authz.Admin, h.putReportLogo)
	rt.HandleFunc("DELETE /api/v1/settings/report-logo", authz.Admin, h.deleteReportLogo)
}

// monthlyReport answers ?month=YYYY-MM (default: the last full month) and
// ?lang=de|en (default: the client's report language) with the PDF as an
// attachment.
func (h *handler) monthlyReport(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	u, err := service.Caller(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f, err := h.svc.MonthlyReport(r.Context(), u, id, q.Get("month"), q.Get("lang"))
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", f.ContentDisposition())
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Data)))
	w.Header().Set("Content-Language", f.Lang)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(f.Data) // the status is sent; a failed write has no one to tell
}

// getReportLogo answers the stored logo with its content type, or 404.
func (h *handler) getReportLogo(w http.ResponseWriter, r *http.Request) {
	u, err := service.Caller(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	data, ct, err := h.svc.ReportLogo(r.Context(), u)
	if err == nil && data == nil {
		err = core.ErrNotFound
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	_, _ = w.Write(data)
}

// putReportLogo takes the image itself as the body, with Content-Type
// image/png or image/jpeg (application/octet-stream or none: detected).
func (h *handler) putReportLogo(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusNoContent, func(u core.User) (any, error) {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			mt, _, err := mime.ParseMediaType(ct)
			switch {
			case err != nil:
				return nil, logoError("the Content-Type "+strconv.Quote(ct)+" is not valid", "der Content-Type "+strconv.Quote(ct)+" ist ungültig")
			case mt != "image/png" && mt != "image/jpeg" && mt != "application/octet-stream":
				return nil, logoError("send the image itself as image/png or image/jpeg, not "+mt,
					"das Bild selbst als image/png oder image/jpeg senden, nicht als "+mt)
			}
		}
		// One byte more than allowed, so that the service names the size.
		data, err := io.ReadAll(io.LimitReader(r.Body, report.MaxLogoBytes+1))
		if err != nil {
			return nil, logoError("the image could not be read: "+err.Error(), "das Bild konnte nicht gelesen werden: "+err.Error())
		}
		if len(data) == 0 {
			return nil, logoError("the body is empty; send the image (DELETE removes the logo)",
				"der Inhalt ist leer; das Bild senden (DELETE entfernt das Logo)")
		}
		return nil, h.svc.SetReportLogo(r.Context(), u, data)
	})
}

func (h *handler) deleteReportLogo(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusNoContent, func(u core.User) (any, error) {
		return nil, h.svc.SetReportLogo(r.Context(), u, nil)
	})
}

func logoError(en, de string) error {
	return &policy.ValidationError{Fields: []policy.FieldError{{Field: "logo", Message: core.Text{EN: en, DE: de}}}}
}
