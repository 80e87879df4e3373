package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// This file implements core.ReportStore: daily report settings, digest
// opt-outs, report runs and the reads a report is built from (migration
// 0008_reports).

const reportSettingsSQL = `
	SELECT c.id, COALESCE(r.enabled, 1), COALESCE(r.recipients, ''), COALESCE(r.hour, '` + core.DefaultReportHour + `'), COALESCE(r.since, 0)
	FROM clients c LEFT JOIN report_settings r ON r.client_id = c.id
	WHERE c.deleted_at IS NULL AND ($1 = 0 OR c.id = $1)`

func (s *DB) reportSettings(ctx context.Context, clientID int64) (map[int64]core.ReportSettings, error) {
	const op = "listing report settings"
	rows, err := s.db.QueryContext(ctx, reportSettingsSQL, clientID)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := map[int64]core.ReportSettings{}
	for rows.Next() {
		var rs core.ReportSettings
		var enabled int
		var recipients string
		var since int64
		if err := rows.Scan(&rs.ClientID, &enabled, &recipients, &rs.Hour, &since); err != nil {
			return nil, s.wrap(op, err)
		}
		rs.Enabled = enabled != 0
		if since != 0 {
			rs.Since = fromMS(since)
		}
		rs.Recipients = []string{}
		for _, r := range strings.Split(recipients, ",") {
			if r = strings.TrimSpace(r); r != "" {
				rs.Recipients = append(rs.Recipients, r)
			}
		}
		out[rs.ClientID] = rs
	}
	return out, s.wrap(op, rows.Err())
}

// ListReportSettings returns every client's report settings.
func (s *DB) ListReportSettings(ctx context.Context) (map[int64]core.ReportSettings, error) {
	return s.reportSettings(ctx, 0)
}

// GetReportSettings returns one client's report settings.
func (s *DB) GetReportSettings(ctx context.Context, clientID int64) (core.ReportSettings, error) {
	m, err := s.reportSettings(ctx, clientID)
	if err != nil {
		return core.ReportSettings{}, err
	}
	rs, ok := m[clientID]
	if !ok {
		return rs, fmt.Errorf("store: report settings of client %d: %w", clientID, core.ErrNotFound)
	}
	return rs, nil
}

// SetReportSettings stores a client's report settings (addresses must not
// contain commas; the caller validates them). Switching the report on or
// moving its hour restarts the schedule at rs.Since; any other save keeps
// the start it had.
func (s *DB) SetReportSettings(ctx context.Context, rs core.ReportSettings) error {
	old, err := s.GetReportSettings(ctx, rs.ClientID)
	if err != nil {
		return err
	}
	since := old.Since
	if rs.Enabled && (!old.Enabled || old.Hour != rs.Hour) {
		since = rs.Since
	}
	var sinceMS int64 // 0: with the client
	if !since.IsZero() {
		sinceMS = ms(since)
	}
	_, err = s.db.ExecContext(ctx, `
		INSERT INTO report_settings (client_id, enabled, recipients, hour, since) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (client_id) DO UPDATE SET enabled = excluded.enabled,
			recipients = excluded.recipients, hour = excluded.hour, since = excluded.since`,
		rs.ClientID, boolInt(rs.Enabled), strings.Join(rs.Recipients, ","), rs.Hour, sinceMS)
	return s.wrap("saving report settings", err)
}

// DigestOff returns the users who turned their digest off.
func (s *DB) DigestOff(ctx context.Context) (map[int64]bool, error) {
	const op = "listing digest opt-outs"
	rows, err := s.db.QueryContext(ctx, `SELECT user_id FROM report_digest_optout`)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, s.wrap(op, err)
		}
		out[id] = true
	}
	return out, s.wrap(op, rows.Err())
}

// SetDigest turns a user's digest on or off.
func (s *DB) SetDigest(ctx context.Context, userID int64, on bool) error {
	var err error
	if on {
		_, err = s.db.ExecContext(ctx, `DELETE FROM report_digest_optout WHERE user_id = $1`, userID)
	} else {
		_, err = s.db.ExecContext(ctx, `INSERT INTO report_digest_optout (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING`, userID)
	}
	return s.wrap("saving digest choice", err)
}

// ListReportRuns returns the runs recorded for day.
func (s *DB) ListReportRuns(ctx context.Context, day string) ([]core.ReportRun, error) {
	const op = "listing report runs"
	rows, err := s.db.QueryContext(ctx, `SELECT kind, target_id, day, queued_at FROM report_runs WHERE day = $1`, day)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.ReportRun
	for rows.Next() {
		var r core.ReportRun
		var at int64
		if err := rows.Scan(&r.Kind, &r.TargetID, &r.Day, &at); err != nil {
			return nil, s.wrap(op, err)
		}
		r.QueuedAt = fromMS(at)
		out = append(out, r)
	}
	return out, s.wrap(op, rows.Err())
}

// QueueReport records the run and queues its messages atomically; a run
// recorded before (by this node earlier, or by another node) queues
// nothing. A nil run only queues the messages.
func (s *DB) QueueReport(ctx context.Context, run *core.ReportRun, msgs []core.OutboxItem) (bool, error) {
	const op = "queueing report"
	queued := false
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		if run != nil {
			res, err := tx.ExecContext(ctx, `
				INSERT INTO report_runs (kind, target_id, day, queued_at) VALUES ($1, $2, $3, $4)
				ON CONFLICT (kind, target_id, day) DO NOTHING`, run.Kind, run.TargetID, run.Day, ms(orNow(run.QueuedAt)))
			if err != nil {
				return s.wrap(op+": recording run", err)
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				return s.wrap(op+": recording run", err)
			}
		}
		for _, m := range msgs {
			if err := s.insertOutbox(ctx, tx, m); err != nil {
				return s.wrap(op+": queueing message", err)
			}
		}
		queued = true
		return nil
	})
	return queued, err
}

// insertOutbox queues one message; a dedupe key already present is skipped.
func (s *DB) insertOutbox(ctx context.Context, tx *sql.Tx, m core.OutboxItem) error {
	payload, err := s.sealText(string(m.Payload))
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `
		INSERT INTO outbox (dedupe_key, channel, target, payload, next_attempt_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (dedupe_key) DO NOTHING`,
		m.DedupeKey, m.Channel, m.Target, payload, ms(orNow(m.NextAttemptAt)), ms(orNow(m.CreatedAt)))
	return err
}

// ListClientResults returns the client's results that q selects, newest
// first, with their structured data. It scans the client's devices' history through the
// check_results (device_id, at) index.
func (s *DB) ListClientResults(ctx context.Context, q core.ResultQuery) ([]core.DeviceResult, error) {
	const op = "listing client results"
	if len(q.Names) == 0 {
		return nil, nil
	}
	args := []any{q.ClientID, ms(q.Since), ms(q.Until), limitOrAll(q.Limit)}
	ph := make([]string, len(q.Names))
	for i, n := range q.Names {
		args = append(args, n)
		ph[i] = fmt.Sprintf("$%d", len(args))
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT r.id, r.device_id, ch.name, ch.key, r.status, r.value, r.unit, r.message_en, r.message_de, r.at, r.data
		FROM check_results r
		JOIN checks ch ON ch.id = r.check_id
		JOIN devices d ON d.id = r.device_id
		JOIN sites st ON st.id = d.site_id
		WHERE st.client_id = $1 AND r.at >= $2 AND r.at < $3 AND d.retired_at IS NULL
		  AND ch.name IN (`+strings.Join(ph, ", ")+`)
		ORDER BY r.at DESC, r.id LIMIT $4`, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.DeviceResult
	for rows.Next() {
		var r core.DeviceResult
		var status string
		var value sql.NullFloat64
		var at int64
		var data string
		if err := rows.Scan(&r.ID, &r.DeviceID, &r.Check, &r.Key, &status, &value, &r.Unit,
			&r.Message.EN, &r.Message.DE, &at, &data); err != nil {
			return nil, s.wrap(op, err)
		}
		r.Status, r.Value, r.At = core.ParseStatus(status), floatPtr(value), fromMS(at)
		if data != "" {
			r.Data = json.RawMessage(data)
		}
		out = append(out, r)
	}
	return out, s.wrap(op, rows.Err())
}

// ListClientFailures sums up each check instance's failures in the
// window in the database, so that a check failing every minute all day
// returns one row, not 1440.
func (s *DB) ListClientFailures(ctx context.Context, clientID int64, since, until time.Time) ([]core.CheckFailures, error) {
	const op = "listing client failures"
	failure := core.StatusFailure.String()
	rows, err := s.db.QueryContext(ctx, `
		WITH f AS (
			SELECT r.check_id, COUNT(*) AS n, MIN(r.at) AS first_at, MAX(r.at) AS last_at
			FROM check_results r
			JOIN devices d ON d.id = r.device_id
			JOIN sites st ON st.id = d.site_id
			WHERE st.client_id = $1 AND r.at >= $2 AND r.at < $3 AND r.status = $4 AND d.retired_at IS NULL
			GROUP BY r.check_id)
		SELECT ch.device_id, ch.name, ch.key, f.n, f.first_at, r.id, r.value, r.unit, r.message_en, r.message_de, r.at
		FROM f
		JOIN checks ch ON ch.id = f.check_id
		JOIN check_results r ON r.check_id = f.check_id AND r.at = f.last_at AND r.status = $4
		ORDER BY ch.device_id, ch.name, ch.key, r.id`, clientID, ms(since), ms(until), failure)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.CheckFailures
	for rows.Next() {
		var f core.CheckFailures
		var value sql.NullFloat64
		var first, at int64
		if err := rows.Scan(&f.DeviceID, &f.Check, &f.Key, &f.Count, &first, &f.Last.ID, &value, &f.Last.Unit,
			&f.Last.Message.EN, &f.Last.Message.DE, &at); err != nil {
			return nil, s.wrap(op, err)
		}
		if n := len(out); n > 0 && out[n-1].DeviceID == f.DeviceID && out[n-1].Check == f.Check && out[n-1].Key == f.Key {
			continue // two failures at the same last instant: one is enough
		}
		f.First = fromMS(first)
		f.Last.Check, f.Last.Key, f.Last.Status, f.Last.Value, f.Last.At = f.Check, f.Key, core.StatusFailure, floatPtr(value), fromMS(at)
		out = append(out, f)
	}
	return out, s.wrap(op, rows.Err())
}

// ListClientOutages returns the client's outages open at any time in
// [since, until), oldest first.
func (s *DB) ListClientOutages(ctx context.Context, clientID int64, since, until time.Time) ([]core.Outage, error) {
	const op = "listing client outages"
	return s.queryOutages(ctx, op, `
		WHERE s.client_id = $1 AND o.opened_at < $3 AND (o.closed_at IS NULL OR o.closed_at >= $2)
		ORDER BY o.opened_at, o.id`, clientID, ms(since), ms(until))
}
