package service

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/report"
)

// Daily reports (internal/report): a client's report of the last 24 hours
// and its settings, and a user's digest choice.

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
	rs.Since = s.now() // if this save starts the schedule anew
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
