package store

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// This file implements core.AlertStore: alert state, outages, presence,
// recipients and the notification outbox (migration 0004_alerts).

// encodeChanges and decodeChanges keep the recent change times of a check
// as comma-separated Unix milliseconds.
func encodeChanges(ts []time.Time) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = strconv.FormatInt(ms(t), 10)
	}
	return strings.Join(parts, ",")
}

func decodeChanges(s string) []time.Time {
	if s == "" {
		return nil
	}
	var out []time.Time
	for _, p := range strings.Split(s, ",") {
		if v, err := strconv.ParseInt(p, 10, 64); err == nil {
			out = append(out, fromMS(v))
		}
	}
	return out
}

// AlertStates returns every check of the device, with its alert state where
// the engine has evaluated it, by check ID.
func (s *DB) AlertStates(ctx context.Context, deviceID int64) ([]core.AlertState, error) {
	const op = "list alert states"
	rows, err := s.db.QueryContext(ctx, `
		SELECT ch.id, ch.name, ch.key, a.state, a.consecutive, a.outage_ref, a.cleared_until,
		       a.clear_until_pass, a.changes, a.flapping, a.last_at
		FROM checks ch LEFT JOIN alert_state a ON a.check_id = ch.id
		WHERE ch.device_id = $1 ORDER BY ch.id`, deviceID)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.AlertState
	for rows.Next() {
		a := core.AlertState{DeviceID: deviceID}
		var state, ref, changes sql.NullString
		var consecutive, pass, flapping, lastAt, cleared sql.NullInt64
		if err := rows.Scan(&a.CheckID, &a.Name, &a.Key, &state, &consecutive, &ref, &cleared,
			&pass, &changes, &flapping, &lastAt); err != nil {
			return nil, s.wrap(op, err)
		}
		if state.Valid {
			a.Known = true
			a.State = state.String
			a.Consecutive = int(consecutive.Int64)
			a.OutageRef = ref.String
			a.ClearedUntil = timePtr(cleared)
			a.ClearUntilPass = pass.Int64 != 0
			a.Changes = decodeChanges(changes.String)
			a.Flapping = flapping.Int64 != 0
			a.LastAt = fromMS(lastAt.Int64)
		} else {
			a.State = core.AlertOK
		}
		out = append(out, a)
	}
	return out, s.wrap(op, rows.Err())
}

// ApplyAlertChange applies one evaluation's decisions in one transaction.
func (s *DB) ApplyAlertChange(ctx context.Context, c core.AlertChange) error {
	const op = "apply alert change"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		for _, o := range c.Open {
			var checkID any
			if o.CheckID != 0 {
				checkID = o.CheckID
			}
			_, err := tx.ExecContext(ctx, `
				INSERT INTO outages (ref, device_id, check_id, kind, check_name, check_key, severity,
					value, unit, message_en, message_de, opened_at, notified, held, not_notified)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
				o.Ref, o.DeviceID, checkID, o.Kind, o.CheckName, o.CheckKey, o.Severity,
				nullFloat(o.Value), o.Unit, o.Message.EN, o.Message.DE, ms(o.OpenedAt), boolInt(o.Notified), boolInt(o.Held),
				o.NotNotified)
			if err != nil {
				return s.wrap(op+": opening outage", err)
			}
		}
		for _, cl := range c.Close {
			if _, err := tx.ExecContext(ctx, `UPDATE outages SET closed_at = $2 WHERE ref = $1 AND closed_at IS NULL`,
				cl.Ref, ms(cl.At)); err != nil {
				return s.wrap(op+": closing outage", err)
			}
		}
		for _, ref := range c.Notified {
			if _, err := tx.ExecContext(ctx, `UPDATE outages SET notified = 1, not_notified = '' WHERE ref = $1`, ref); err != nil {
				return s.wrap(op+": marking outage notified", err)
			}
		}
		for ref, why := range c.Unnotified {
			if _, err := tx.ExecContext(ctx, `UPDATE outages SET not_notified = $2 WHERE ref = $1`, ref, why); err != nil {
				return s.wrap(op+": recording why an outage was not notified", err)
			}
		}
		for _, ref := range c.Held {
			if _, err := tx.ExecContext(ctx, `UPDATE outages SET held = 1 WHERE ref = $1`, ref); err != nil {
				return s.wrap(op+": marking outage held", err)
			}
		}
		for _, a := range c.States {
			_, err := tx.ExecContext(ctx, `
				INSERT INTO alert_state (check_id, state, consecutive, outage_ref, cleared_until,
					clear_until_pass, changes, flapping, last_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
				ON CONFLICT (check_id) DO UPDATE SET state = excluded.state,
					consecutive = excluded.consecutive, outage_ref = excluded.outage_ref,
					cleared_until = excluded.cleared_until, clear_until_pass = excluded.clear_until_pass,
					changes = excluded.changes, flapping = excluded.flapping, last_at = excluded.last_at`,
				a.CheckID, a.State, a.Consecutive, a.OutageRef, msNull(a.ClearedUntil),
				boolInt(a.ClearUntilPass), encodeChanges(a.Changes), boolInt(a.Flapping), ms(a.LastAt))
			if err != nil {
				return s.wrap(op+": saving alert state", err)
			}
		}
		if p := c.Presence; p != nil {
			_, err := tx.ExecContext(ctx, `
				INSERT INTO device_presence (device_id, goodbye_reason, goodbye_at, outage_ref)
				VALUES ($1, $2, $3, $4)
				ON CONFLICT (device_id) DO UPDATE SET goodbye_reason = excluded.goodbye_reason,
					goodbye_at = excluded.goodbye_at, outage_ref = excluded.outage_ref`,
				p.DeviceID, p.GoodbyeReason, msNull(p.GoodbyeAt), p.OutageRef)
			if err != nil {
				return s.wrap(op+": saving presence", err)
			}
		}
		for _, m := range c.Outbox {
			if err := s.insertOutbox(ctx, tx, m); err != nil {
				return s.wrap(op+": queueing notification", err)
			}
		}
		return nil
	})
}

// PendingCheckStates returns check states newer than the engine's last
// evaluation of them.
func (s *DB) PendingCheckStates(ctx context.Context) ([]core.CheckState, error) {
	const op = "list pending check states"
	rows, err := s.db.QueryContext(ctx, `
		SELECT ch.id, ch.device_id, ch.name, ch.key, cs.status, cs.value, cs.unit,
		       cs.message_en, cs.message_de, cs.at, cs.changed_at
		FROM check_state cs JOIN checks ch ON ch.id = cs.check_id
		JOIN devices d ON d.id = ch.device_id
		LEFT JOIN alert_state a ON a.check_id = cs.check_id
		WHERE d.state = $1 AND cs.at > COALESCE(a.last_at, 0)
		ORDER BY ch.device_id, ch.id`, core.DeviceActive)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return s.scanCheckStates(op, rows)
}

const outageColumns = `
	o.id, o.ref, o.device_id, o.check_id, o.kind, o.check_name, o.check_key, o.severity, o.value,
	o.unit, o.message_en, o.message_de, o.opened_at, o.closed_at, o.notified, o.held, o.acked_at, o.acked_by,
	o.ack_comment, o.not_notified, d.hostname, s.name, s.client_id, c.name
	FROM outages o
	JOIN devices d ON d.id = o.device_id
	JOIN sites s ON s.id = d.site_id
	JOIN clients c ON c.id = s.client_id`

func scanOutage(sc interface{ Scan(...any) error }) (core.Outage, error) {
	var o core.Outage
	var checkID, closed, acked sql.NullInt64
	var v sql.NullFloat64
	var opened, notified, held int64
	err := sc.Scan(&o.ID, &o.Ref, &o.DeviceID, &checkID, &o.Kind, &o.CheckName, &o.CheckKey, &o.Severity, &v,
		&o.Unit, &o.Message.EN, &o.Message.DE, &opened, &closed, &notified, &held, &acked, &o.AckedBy,
		&o.AckComment, &o.NotNotified, &o.Hostname, &o.SiteName, &o.ClientID, &o.ClientName)
	o.CheckID, o.Value, o.OpenedAt = checkID.Int64, floatPtr(v), fromMS(opened)
	o.ClosedAt, o.Notified, o.Held, o.AckedAt = timePtr(closed), notified != 0, held != 0, timePtr(acked)
	return o, err
}

// outageWhere is the WHERE clause of a filter over outageColumns, with its
// arguments.
func outageWhere(f core.OutageFilter) (string, []any, error) {
	conds := []string{"1 = 1"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.OpenOnly {
		conds = append(conds, "o.closed_at IS NULL")
	}
	switch f.State {
	case "":
	case core.OutagesOpen:
		conds = append(conds, "o.closed_at IS NULL AND o.acked_at IS NULL")
	case core.OutagesAcked:
		conds = append(conds, "o.closed_at IS NULL AND o.acked_at IS NOT NULL")
	case core.OutagesClosed:
		conds = append(conds, "o.closed_at IS NOT NULL")
	default:
		return "", nil, fmt.Errorf("store: outage state %q: %w", f.State, core.ErrInvalid)
	}
	if !f.ClosedSince.IsZero() {
		conds = append(conds, "o.closed_at >= "+arg(ms(f.ClosedSince)))
	}
	if f.DeviceID != 0 {
		conds = append(conds, "o.device_id = "+arg(f.DeviceID))
	}
	if !f.After.First() {
		at, id := arg(ms(f.After.At)), arg(f.After.ID)
		conds = append(conds, fmt.Sprintf("(o.opened_at < %[1]s OR (o.opened_at = %[1]s AND o.id < %[2]s))", at, id))
	}
	if f.ClientID != 0 {
		conds = append(conds, "s.client_id = "+arg(f.ClientID))
	}
	if f.Severity != "" {
		conds = append(conds, "o.severity = "+arg(f.Severity))
	}
	if f.Scope.Restricted {
		in := []string{"NULL"} // no client: matches nothing
		for _, c := range f.Scope.Clients {
			in = append(in, arg(c))
		}
		conds = append(conds, "s.client_id IN ("+strings.Join(in, ", ")+")")
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// ListOutages returns outages newest first (opened at, then ID), after
// f.After if set.
func (s *DB) ListOutages(ctx context.Context, f core.OutageFilter) ([]core.Outage, error) {
	const op = "list outages"
	where, args, err := outageWhere(f)
	if err != nil {
		return nil, err
	}
	q := where + ` ORDER BY o.opened_at DESC, o.id DESC LIMIT $` + strconv.Itoa(len(args)+1)
	return s.queryOutages(ctx, op, q, append(args, limitOrAll(f.Limit))...)
}

// queryOutages reads the outages that tail (WHERE … ORDER BY …) selects.
func (s *DB) queryOutages(ctx context.Context, op, tail string, args ...any) ([]core.Outage, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+outageColumns+` `+tail, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.Outage
	for rows.Next() {
		o, err := scanOutage(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, o)
	}
	return out, s.wrap(op, rows.Err())
}

// CountOutages counts the outages a filter selects (its Limit and After
// ignored: the count is the whole list's).
func (s *DB) CountOutages(ctx context.Context, f core.OutageFilter) (int, error) {
	f.After = core.PageKey{}
	where, args, err := outageWhere(f)
	if err != nil {
		return 0, err
	}
	var n int
	err = s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM outages o
		JOIN devices d ON d.id = o.device_id JOIN sites s ON s.id = d.site_id`+where, args...).Scan(&n)
	return n, s.wrap("count outages", err)
}

// GetOutage returns one outage or ErrNotFound.
func (s *DB) GetOutage(ctx context.Context, id int64) (core.Outage, error) {
	o, err := scanOutage(s.db.QueryRowContext(ctx, `SELECT `+outageColumns+` WHERE o.id = $1`, id))
	return o, s.wrap("get outage", err)
}

// AckOutage records who acknowledged the outage, when and why.
func (s *DB) AckOutage(ctx context.Context, id int64, by, comment string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE outages SET acked_at = $2, acked_by = $3, ack_comment = $4 WHERE id = $1`,
		id, ms(at), by, comment)
	return s.affectedOne("acknowledge outage", res, err)
}

// ClearCheck sets the check's suppression; a check not evaluated yet gets
// an alert state row.
func (s *DB) ClearCheck(ctx context.Context, deviceID, checkID int64, until *time.Time, untilPass bool) error {
	const op = "clear check"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM checks WHERE id = $1 AND device_id = $2`,
			checkID, deviceID).Scan(&n); err != nil {
			return s.wrap(op, err)
		}
		if n == 0 {
			return fmt.Errorf("store: %s: %w", op, core.ErrNotFound)
		}
		_, err := tx.ExecContext(ctx, `
			INSERT INTO alert_state (check_id, cleared_until, clear_until_pass) VALUES ($1, $2, $3)
			ON CONFLICT (check_id) DO UPDATE SET cleared_until = excluded.cleared_until,
				clear_until_pass = excluded.clear_until_pass`,
			checkID, msNull(until), boolInt(untilPass))
		return s.wrap(op, err)
	})
}

// SetGoodbye records an announced shutdown, keeping the open outage ref.
func (s *DB) SetGoodbye(ctx context.Context, deviceID int64, reason string, at time.Time) error {
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO device_presence (device_id, goodbye_reason, goodbye_at) VALUES ($1, $2, $3)
		ON CONFLICT (device_id) DO UPDATE SET goodbye_reason = excluded.goodbye_reason,
			goodbye_at = excluded.goodbye_at`, deviceID, reason, ms(at))
	return s.wrap("record goodbye", err)
}

// ListPresence returns every active device that was ever heard from.
func (s *DB) ListPresence(ctx context.Context) ([]core.Presence, error) {
	return s.presence(ctx, "list presence", "ORDER BY d.id")
}

// GetPresence returns one active device that was ever heard from.
func (s *DB) GetPresence(ctx context.Context, deviceID int64) (core.Presence, error) {
	ps, err := s.presence(ctx, "get presence", "AND d.id = $2", deviceID)
	if err != nil {
		return core.Presence{}, err
	}
	if len(ps) == 0 {
		return core.Presence{}, fmt.Errorf("presence of device %d: %w", deviceID, core.ErrNotFound)
	}
	return ps[0], nil
}

// presence reads the active devices that were ever heard from, narrowed
// or ordered by tail (a constant; its arguments start at $2).
func (s *DB) presence(ctx context.Context, op, tail string, args ...any) ([]core.Presence, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT d.id, d.role, d.last_seen, p.goodbye_reason, p.goodbye_at, p.outage_ref
		FROM devices d LEFT JOIN device_presence p ON p.device_id = d.id
		WHERE d.state = $1 AND d.last_seen IS NOT NULL `+tail, append([]any{core.DeviceActive}, args...)...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.Presence
	for rows.Next() {
		var p core.Presence
		var seen int64
		var reason, ref sql.NullString
		var bye sql.NullInt64
		if err := rows.Scan(&p.DeviceID, &p.Role, &seen, &reason, &bye, &ref); err != nil {
			return nil, s.wrap(op, err)
		}
		p.LastSeen, p.GoodbyeReason, p.GoodbyeAt, p.OutageRef = fromMS(seen), reason.String, timePtr(bye), ref.String
		out = append(out, p)
	}
	return out, s.wrap(op, rows.Err())
}

// ListRecipients returns every recipient by level, target and ID.
func (s *DB) ListRecipients(ctx context.Context) ([]core.Recipient, error) {
	const op = "list recipients"
	rows, err := s.db.QueryContext(ctx, `
		SELECT id, level, target_id, channel, target, lang, hours, format, secret, created_at
		FROM alert_recipients ORDER BY level, target_id, id`)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.Recipient
	for rows.Next() {
		var r core.Recipient
		var created int64
		if err := rows.Scan(&r.ID, &r.Level, &r.TargetID, &r.Channel, &r.Target, &r.Lang, &r.Hours,
			&r.Format, &r.Secret, &created); err != nil {
			return nil, s.wrap(op, err)
		}
		var err error
		if r.Secret, err = s.openText(r.Secret); err != nil {
			return nil, err
		}
		r.CreatedAt = fromMS(created)
		out = append(out, r)
	}
	return out, s.wrap(op, rows.Err())
}

// CreateRecipient stores r and sets its ID and CreatedAt.
func (s *DB) CreateRecipient(ctx context.Context, r *core.Recipient) error {
	r.CreatedAt = orNow(r.CreatedAt)
	secret, err := s.sealText(r.Secret)
	if err != nil {
		return err
	}
	err = s.db.QueryRowContext(ctx, `
		INSERT INTO alert_recipients (level, target_id, channel, target, lang, hours, format, secret, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
		r.Level, r.TargetID, r.Channel, r.Target, r.Lang, r.Hours, r.Format, secret, ms(r.CreatedAt)).Scan(&r.ID)
	return s.wrap("create recipient", err)
}

// DeleteRecipient removes a recipient; ErrNotFound if absent.
func (s *DB) DeleteRecipient(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM alert_recipients WHERE id = $1`, id)
	return s.affectedOne("delete recipient", res, err)
}

const outboxColumns = `id, dedupe_key, channel, target, payload, attempts, next_attempt_at, delivered_at, last_error, created_at,
	given_up_at, retried_at`

// scanOutbox reads one item and opens its sealed payload.
func (s *DB) scanOutbox(sc interface{ Scan(...any) error }) (core.OutboxItem, error) {
	var m core.OutboxItem
	var payload string
	var next, created int64
	var delivered, givenUp, retried sql.NullInt64
	if err := sc.Scan(&m.ID, &m.DedupeKey, &m.Channel, &m.Target, &payload, &m.Attempts, &next, &delivered,
		&m.LastError, &created, &givenUp, &retried); err != nil {
		return m, err
	}
	payload, err := s.openText(payload)
	m.Payload, m.NextAttemptAt, m.DeliveredAt, m.CreatedAt = []byte(payload), fromMS(next), timePtr(delivered), fromMS(created)
	m.GivenUpAt, m.RetriedAt = timePtr(givenUp), timePtr(retried)
	return m, err
}

// ClaimOutbox leases due items: each is taken only if its next attempt is
// still the one read, so two workers never take the same item.
func (s *DB) ClaimOutbox(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]core.OutboxItem, error) {
	const op = "claim outbox"
	rows, err := s.db.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox
		WHERE delivered_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= $1
		ORDER BY next_attempt_at, id LIMIT $2`,
		ms(now), limitOrAll(limit))
	if err != nil {
		return nil, s.wrap(op, err)
	}
	var due []core.OutboxItem
	for rows.Next() {
		m, err := s.scanOutbox(rows)
		if err != nil {
			rows.Close()
			return nil, s.wrap(op, err)
		}
		due = append(due, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.wrap(op, err)
	}
	if len(due) == 0 {
		return nil, nil
	}
	// Take each row only if nobody else did meanwhile, all in one
	// transaction: one commit instead of one per row keeps the writer
	// lock free for result batches (SQLite).
	until := ms(now.Add(lease))
	var out []core.OutboxItem
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE outbox SET next_attempt_at = $3
			WHERE id = $1 AND next_attempt_at = $2 AND delivered_at IS NULL AND given_up_at IS NULL`)
		if err != nil {
			return s.wrap(op, err)
		}
		defer st.Close()
		for _, m := range due {
			res, err := st.ExecContext(ctx, m.ID, ms(m.NextAttemptAt), until)
			if err != nil {
				return s.wrap(op, err)
			}
			if n, err := res.RowsAffected(); err == nil && n == 1 {
				m.NextAttemptAt = fromMS(until)
				out = append(out, m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MarkDelivered records the delivery of an outbox item.
func (s *DB) MarkDelivered(ctx context.Context, id int64, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET delivered_at = $2, attempts = attempts + 1, last_error = ''
		WHERE id = $1`, id, ms(at))
	return s.affectedOne("mark notification delivered", res, err)
}

// MarkDeliveredAll records the delivery of several outbox items in one
// statement.
func (s *DB) MarkDeliveredAll(ctx context.Context, ids []int64, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{ms(at)}
	ph := make([]string, len(ids))
	for i, id := range ids {
		args = append(args, id)
		ph[i] = "$" + strconv.Itoa(i+2)
	}
	_, err := s.db.ExecContext(ctx, `UPDATE outbox SET delivered_at = $1, attempts = attempts + 1, last_error = ''
		WHERE id IN (`+strings.Join(ph, ", ")+`)`, args...)
	return s.wrap("mark notifications delivered", err)
}

// MarkFailed counts a failed attempt and schedules the next one.
func (s *DB) MarkFailed(ctx context.Context, id int64, errText string, next time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = $3
		WHERE id = $1 AND delivered_at IS NULL AND given_up_at IS NULL`, id, outboxError(errText), ms(next))
	return s.affectedOne("mark notification failed", res, err)
}

// MarkGivenUp counts a last failed attempt and stops retrying the item.
func (s *DB) MarkGivenUp(ctx context.Context, id int64, errText string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET attempts = attempts + 1, last_error = $2, given_up_at = $3
		WHERE id = $1 AND delivered_at IS NULL AND given_up_at IS NULL`, id, outboxError(errText), ms(at))
	return s.affectedOne("give up notification", res, err)
}

// RetryOutbox makes a given-up item due at now again, with a fresh
// give-up limit counting from now.
func (s *DB) RetryOutbox(ctx context.Context, id int64, now time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET given_up_at = NULL, retried_at = $2, next_attempt_at = $2
		WHERE id = $1 AND delivered_at IS NULL AND given_up_at IS NOT NULL`, id, ms(now))
	return s.affectedOne("retry notification", res, err)
}

// outboxError is a delivery error as stored: at most 1000 bytes of valid
// UTF-8.
func outboxError(errText string) string {
	if len(errText) > 1000 {
		errText = errText[:1000]
	}
	return strings.ToValidUTF8(errText, "?")
}

// OutboxBacklog counts the outbox items still to be delivered, without
// the given-up ones (an index scan of outbox_due).
func (s *DB) OutboxBacklog(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL AND given_up_at IS NULL`).Scan(&n)
	return n, s.wrap("count outbox backlog", err)
}

// ListOutbox returns the newest outbox items first.
func (s *DB) ListOutbox(ctx context.Context, limit int) ([]core.OutboxItem, error) {
	return s.ListOutboxPage(ctx, core.PageKey{}, limit)
}

// ListOutboxPage returns outbox items newest first (by ID), IDs below
// after's (the zero key: all), at most limit (≤ 0: all).
func (s *DB) ListOutboxPage(ctx context.Context, after core.PageKey, limit int) ([]core.OutboxItem, error) {
	const op = "list outbox"
	below := int64(math.MaxInt64)
	if !after.First() {
		below = after.ID
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id < $1 ORDER BY id DESC LIMIT $2`,
		below, limitOrAll(limit))
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.OutboxItem
	for rows.Next() {
		m, err := s.scanOutbox(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, m)
	}
	return out, s.wrap(op, rows.Err())
}

// singletonKey is the PostgreSQL advisory lock key of a named cluster-wide
// job: FNV-1a of "wacht-job:" + job, so every node derives the same key.
// ns is the installation's cluster channel (its database and schema):
// advisory locks are shared by every schema of a database, and
// installations (or tests) in different schemas must not hold each
// other's jobs.
func singletonKey(ns, job string) int64 {
	h := fnv.New64a()
	h.Write([]byte("wacht-job:" + ns + ":" + job))
	return int64(h.Sum64())
}

// TrySingleton runs fn if no other process holds the named job's lock
// (PostgreSQL: a session advisory lock on a connection held for the run, so
// a node that dies releases it and another node takes the job at its next
// tick; SQLite serves one process, so fn always runs there). ran reports
// whether fn ran.
func (s *DB) TrySingleton(ctx context.Context, job string, fn func(ctx context.Context) error) (ran bool, err error) {
	if s.dialect != Postgres {
		return true, fn(ctx)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return false, s.wrap("singleton: connection", err)
	}
	defer conn.Close()
	ns, err := s.channel(ctx, conn)
	if err != nil {
		return false, err
	}
	key := singletonKey(ns, job)
	var ok bool
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		return false, s.wrap("singleton: lock", err)
	}
	if !ok {
		return false, nil
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, key)
	return true, fn(ctx)
}
