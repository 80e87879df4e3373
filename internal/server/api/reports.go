package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/report"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// Daily reports (internal/report): a client's report of the last 24 hours
// and its settings, and a user's digest choice.

func (h *handler) reportRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/clients/{id}/report", authz.Read, h.getReport)
	rt.HandleFunc("POST /api/v1/clients/{id}/report/send", authz.Operate, h.sendReport)
	rt.HandleFunc("GET /api/v1/clients/{id}/report-settings", authz.Read, h.getReportSettings)
	rt.HandleFunc("PUT /api/v1/clients/{id}/report-settings", authz.Operate, h.putReportSettings)
}

// ReportSettings returns a client's report settings (ErrNotFound outside
// u's scope).
func (s *Service) ReportSettings(ctx context.Context, u core.User, clientID int64) (core.ReportSettings, error) {
	if _, err := s.GetClient(ctx, u, clientID); err != nil {
		return core.ReportSettings{}, err
	}
	return s.store.GetReportSettings(ctx, clientID)
}

// SetReportSettings validates and stores a client's report settings,
// audited as "client.report-settings".
func (s *Service) SetReportSettings(ctx context.Context, u core.User, rs core.ReportSettings) (core.ReportSettings, error) {
	if err := need(u, authz.Operate); err != nil {
		return rs, err
	}
	if _, err := s.GetClient(ctx, u, rs.ClientID); err != nil {
		return rs, err
	}
	rs, err := report.ValidateSettings(rs)
	if err != nil {
		return rs, err
	}
	if err := s.store.SetReportSettings(ctx, rs); err != nil {
		return rs, err
	}
	detail := fmt.Sprintf("enabled=%t hour=%s recipients=%s", rs.Enabled, rs.Hour, strings.Join(rs.Recipients, ","))
	return rs, s.record(ctx, u, "client.report-settings", target("client", rs.ClientID), detail, "")
}

// ClientReport builds a client's report of the 24 hours until now in lang
// ("" = the client's report language).
func (s *Service) ClientReport(ctx context.Context, u core.User, clientID int64, lang string) (report.Report, error) {
	c, err := s.GetClient(ctx, u, clientID)
	if err != nil {
		return report.Report{}, err
	}
	switch lang {
	case "":
		lang = c.ReportLang
	case "de", "en":
	default:
		return report.Report{}, fmt.Errorf("report language %q: %w", lang, core.ErrInvalid)
	}
	env, err := report.LoadEnv(ctx, s.store)
	if err != nil {
		return report.Report{}, err
	}
	d, err := report.Load(ctx, s.store, env, c, nil, s.now())
	if err != nil {
		return report.Report{}, err
	}
	return report.Build(d, lang), nil
}

// SendReport queues a client's report to its recipients now, through the
// outbox, audited as "client.report-send"; it returns the addresses.
func (s *Service) SendReport(ctx context.Context, u core.User, clientID int64) ([]string, error) {
	if err := need(u, authz.Operate); err != nil {
		return nil, err
	}
	c, err := s.GetClient(ctx, u, clientID)
	if err != nil {
		return nil, err
	}
	to, err := report.SendNow(ctx, s.store, c, s.now())
	result := ""
	if err != nil {
		result = core.AuditFailed
	}
	if aerr := s.record(ctx, u, "client.report-send", target("client", clientID), strings.Join(to, ","), result); aerr != nil {
		return nil, aerr
	}
	return to, err
}

// DigestOn reports whether u gets the daily digest.
func (s *Service) DigestOn(ctx context.Context, u core.User) (bool, error) {
	off, err := s.store.DigestOff(ctx)
	return err == nil && !off[u.ID], err
}

// SetDigest turns u's daily digest on or off, audited as "user.digest".
func (s *Service) SetDigest(ctx context.Context, u core.User, on bool) error {
	if err := s.store.SetDigest(ctx, u.ID, on); err != nil {
		return err
	}
	return s.record(ctx, u, "user.digest", target("user", u.ID), "on="+strconv.FormatBool(on), "")
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
	u, err := caller(r.Context())
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
