package api

import (
	"fmt"
	"net/http"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

func (h *handler) reportRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/clients/{id}/report", authz.Read, h.getReport)
	rt.HandleFunc("POST /api/v1/clients/{id}/report/send", authz.Operate, h.sendReport)
	rt.HandleFunc("GET /api/v1/clients/{id}/report-settings", authz.Read, h.getReportSettings)
	rt.HandleFunc("PUT /api/v1/clients/{id}/report-settings", authz.Operate, h.putReportSettings)
}

// getReport answers ?lang=de|en (default: the client's) and
// ?format=json (default), html (the mail's HTML) or text.
func (h *handler) getReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	format := q.Get("format")
	rep, err := h.clientReport(r, format)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if format == "" || format == "json" {
		writeJSON(w, http.StatusOK, rep)
		return
	}
	m, err := report.Render(rep)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	body, ct := m.Text, "text/plain; charset=utf-8"
	if format == "html" {
		body, ct = m.HTML, "text/html; charset=utf-8"
		// Only the report's own inline style; nothing runs.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(body)) // the status is sent; a failed write has no one to tell
}

func (h *handler) clientReport(r *http.Request, format string) (report.Report, error) {
	switch format {
	case "", "json", "html", "text":
	default:
		return report.Report{}, fmt.Errorf("report format %q: %w", format, core.ErrInvalid)
	}
	id, err := pathID(r)
	if err != nil {
		return report.Report{}, err
	}
	u, err := service.Caller(r.Context())
	if err != nil {
		return report.Report{}, err
	}
	return h.svc.ClientReport(r.Context(), u, id, r.URL.Query().Get("lang"))
}

func (h *handler) sendReport(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusAccepted, func(u core.User, id int64) (any, error) {
		to, err := h.svc.SendReport(r.Context(), u, id)
		return map[string][]string{"recipients": to}, err
	})
}

func (h *handler) getReportSettings(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		return h.svc.ReportSettings(r.Context(), u, id)
	})
}

func (h *handler) putReportSettings(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		var rs core.ReportSettings
		if err := decode(w, r, &rs); err != nil {
			return nil, err
		}
		rs.ClientID = id
		return h.svc.SetReportSettings(r.Context(), u, rs)
	})
}
