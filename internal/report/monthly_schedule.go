package report

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert/notify"
	"github.com/wacht-rmm/wacht/internal/core"
)

// ReportMonthly is the report_runs kind of a client's monthly report
// (target: the client; day: the first of the month it is sent on).
const ReportMonthly = "monthly"

// ReadLogo reads the logo setting: nil without one; an error for one
// that is not base64 or not an image the PDF can show.
func ReadLogo(ctx context.Context, st core.SettingStore) ([]byte, error) {
	v, err := st.GetSetting(ctx, SettingLogo)
	if errors.Is(err, core.ErrNotFound) || (err == nil && strings.TrimSpace(v) == "") {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the report logo: %w", err)
	}
	logo, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return nil, fmt.Errorf("%w: the report logo is not base64: %v", core.ErrInvalid, err)
	}
	if _, err := LogoType(logo); err != nil {
		return nil, err
	}
	return logo, nil
}

// MonthlyMail is the short mail the monthly report's PDF goes with.
func MonthlyMail(m Monthly) Mail {
	l := newL(m.Lang, m.Location())
	month := l.MonthName(m.Month)
	text := l.T("mMailText", month, m.Client) + "\n\n" + l.T("mMailFooter") + "\n"
	h := `<!DOCTYPE html><html lang="` + m.Lang + `"><body><h1>` + html.EscapeString(m.Title()) + `</h1><p>` +
		html.EscapeString(l.T("mMailText", month, m.Client)) + `</p><p style="color:#666">` +
		html.EscapeString(l.T("mMailFooter")) + `</p></body></html>`
	return Mail{Subject: m.Subject(), Text: text, HTML: h}
}

// MonthlyOutbox builds one e-mail per recipient with the PDF attached and
// dedupe keys prefix:<address>.
func MonthlyOutbox(m Monthly, pdf []byte, prefix string, to []string, at time.Time) ([]core.OutboxItem, error) {
	mail := MonthlyMail(m)
	att := []notify.Attachment{{Name: m.FileName(), ContentType: "application/pdf", Data: pdf}}
	var out []core.OutboxItem
	for _, addr := range to {
		key := prefix + ":" + addr
		payload, err := json.Marshal(notify.Message{ID: notify.StableID(key), Lang: m.Lang, Subject: mail.Subject,
			Text: mail.Text, HTML: mail.HTML, Attachments: att, Event: notify.Event{Kind: notify.KindReport, At: at}})
		if err != nil {
			return nil, fmt.Errorf("encoding the monthly report mail: %w", err)
		}
		out = append(out, core.OutboxItem{DedupeKey: key, Channel: core.ChannelEmail, Target: addr,
			Payload: payload, NextAttemptAt: at, CreatedAt: at})
	}
	return out, nil
}

// queueMonthly queues, on the first of a month at each client's report
// hour, the previous month's report of each client whose report is
// enabled, once (a report_runs row of kind ReportMonthly for the day). A
// client created after the month ended waits for the next first: its first
// report covers the month it was created in.
func (s *Scheduler) queueMonthly(ctx context.Context, p *pass, clients []core.Client, settings map[int64]core.ReportSettings,
	done map[core.ReportRun]bool, local time.Time, day string) (int, error) {
	if local.Day() != 1 {
		return 0, nil
	}
	st := s.o.Store
	month := MonthStart(local, p.env.Location).AddDate(0, -1, 0)
	var logo []byte
	logoRead := false
	queued := 0
	var errs []error
	for _, c := range clients {
		rs, ok := settings[c.ID]
		to := Recipients(rs, c)
		if !ok || len(to) == 0 || done[core.ReportRun{Kind: ReportMonthly, TargetID: c.ID}] ||
			!c.CreatedAt.Before(month.AddDate(0, 1, 0)) || !due(local, rs.Hour, scheduleStart(c, rs)) {
			continue
		}
		if !logoRead {
			var err error
			if logo, err = ReadLogo(ctx, st); err != nil {
				s.log.Warn("monthly reports go without the logo", "err", err)
				logo = nil
			}
			logoRead = true
		}
		d, err := LoadMonthly(ctx, st, p.env, c, month, p.now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m := BuildMonthly(d, c.ReportLang)
		pdf, err := RenderPDF(m, logo)
		if err != nil {
			errs = append(errs, fmt.Errorf("rendering the monthly report of client %d: %w", c.ID, err))
			continue
		}
		prefix := "monthly:" + strconv.FormatInt(c.ID, 10) + ":" + month.Format("2006-01")
		run := core.ReportRun{Kind: ReportMonthly, TargetID: c.ID, Day: day, QueuedAt: p.now}
		msgs, err := MonthlyOutbox(m, pdf, prefix, to, p.now)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ok, err = st.QueueReport(ctx, &run, msgs)
		if err != nil {
			errs = append(errs, err)
		} else if ok {
			queued++
			s.log.Info("monthly report queued", "client", c.ID, "month", month.Format("2006-01"), "recipients", len(to))
		}
	}
	if len(errs) > 0 {
		return queued, fmt.Errorf("%d of the monthly reports failed, first: %w", len(errs), errs[0])
	}
	return queued, nil
}
