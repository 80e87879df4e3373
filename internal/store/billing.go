package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Contracts, time entries and billing runs (issue 22, migration
// 0036_billing).

// billingLockKey serializes CreateBillingRun on PostgreSQL: whether a
// period overlaps a live run is a question over several rows, which
// neither a unique index nor a row lock of rows not yet written answers.
// SQLite's transactions are serialized already (_txlock=immediate).
const billingLockKey = 0x77616368_62696c6c // "wachbill"

// openEnd stands for an open-ended contract in date comparisons: it sorts
// after every 'YYYY-MM-DD' date.
const openEnd = "9999-12-31"

// nullID stores an ID of 0 as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// billingName is a client's name as bills show it: a deleted client's
// without the " (deleted <ms>)" that DeleteClient appended to free the
// name, since it is still billed for the days before.
func billingName(name string, deleted sql.NullInt64) string {
	if !deleted.Valid {
		return name
	}
	return strings.TrimSuffix(name, " (deleted "+strconv.FormatInt(deleted.Int64, 10)+")")
}

const contractColumns = `ct.id, ct.client_id, c.name, ct.plan, ct.price_cents, ct.activation_cents,
	ct.hourly_rate_cents, ct.gross, ct.vat_basis_points, ct.period, ct.start_date, ct.end_date,
	ct.network_billable, ct.reactivate_months, ct.updated_at, ct.updated_by, c.deleted_at
	FROM contracts ct JOIN clients c ON c.id = ct.client_id`

func scanContract(sc interface{ Scan(...any) error }) (core.Contract, error) {
	var c core.Contract
	var gross, network int
	var end sql.NullString
	var updated int64
	var deleted sql.NullInt64
	err := sc.Scan(&c.ID, &c.ClientID, &c.ClientName, &c.Plan, &c.PriceCents, &c.ActivationCents,
		&c.HourlyRateCents, &gross, &c.VATBasisPoints, &c.Period, &c.Start, &end,
		&network, &c.ReactivateMonths, &updated, &c.UpdatedBy, &deleted)
	c.ClientName = billingName(c.ClientName, deleted)
	c.Gross, c.NetworkDevicesBillable, c.End, c.UpdatedAt = gross != 0, network != 0, end.String, fromMS(updated)
	return c, err
}

// ListContracts returns a client's contracts (0: every client's, deleted
// clients included), by client, then start.
func (s *DB) ListContracts(ctx context.Context, clientID int64) ([]core.Contract, error) {
	const op = "list contracts"
	q := `SELECT ` + contractColumns
	var args []any
	if clientID != 0 {
		q += ` WHERE ct.client_id = $1`
		args = append(args, clientID)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY ct.client_id, ct.start_date, ct.id`, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.Contract{}
	for rows.Next() {
		c, err := scanContract(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, c)
	}
	return out, s.wrap(op, rows.Err())
}

// GetContract returns one contract; ErrNotFound.
func (s *DB) GetContract(ctx context.Context, id int64) (core.Contract, error) {
	c, err := scanContract(s.db.QueryRowContext(ctx, `SELECT `+contractColumns+` WHERE ct.id = $1`, id))
	if err != nil {
		return core.Contract{}, s.wrap("get contract", err)
	}
	return c, nil
}

// PutContract inserts c (ID 0) or replaces contract c.ID of the same
// client, setting ID, ClientName and UpdatedAt (now); ErrNotFound for an
// unknown client or contract, or a contract of another client;
// ErrConflict when [Start, End] overlaps another contract of the client;
// ErrInvalid without a Start or with End before Start. The overlap check
// and the write are one transaction, serialized per client (PostgreSQL:
// the client's row is locked; SQLite: one writer).
func (s *DB) PutContract(ctx context.Context, c *core.Contract) error {
	const op = "put contract"
	if c.Start == "" {
		return fmt.Errorf("store: %s: no start date: %w", op, core.ErrInvalid)
	}
	end := c.End
	if end == "" {
		end = openEnd
	} else if end < c.Start {
		return fmt.Errorf("store: %s: end %s before start %s: %w", op, c.End, c.Start, core.ErrInvalid)
	}
	at := now()
	id := c.ID
	var clientName string
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		lock := `SELECT name, deleted_at FROM clients WHERE id = $1`
		if s.dialect == Postgres {
			lock += ` FOR UPDATE`
		}
		var deleted sql.NullInt64
		if err := tx.QueryRowContext(ctx, lock, c.ClientID).Scan(&clientName, &deleted); err != nil {
			return s.wrap(op+": client "+strconv.FormatInt(c.ClientID, 10), err)
		}
		clientName = billingName(clientName, deleted)
		if id != 0 {
			var owner int64
			err := tx.QueryRowContext(ctx, `SELECT client_id FROM contracts WHERE id = $1`, id).Scan(&owner)
			if err != nil {
				return s.wrap(op+": contract "+strconv.FormatInt(id, 10), err)
			}
			if owner != c.ClientID {
				return fmt.Errorf("store: %s: contract %d belongs to another client: %w", op, id, core.ErrNotFound)
			}
		}
		var other int64
		err := tx.QueryRowContext(ctx, `
			SELECT id FROM contracts
			WHERE client_id = $1 AND id <> $2 AND start_date <= $3 AND COALESCE(end_date, $4) >= $5
			ORDER BY start_date LIMIT 1`,
			c.ClientID, id, end, openEnd, c.Start).Scan(&other)
		switch {
		case err == nil:
			return fmt.Errorf("store: %s: %s – %s overlaps contract %d: %w", op, c.Start, c.End, other, core.ErrConflict)
		case !errors.Is(err, sql.ErrNoRows):
			return s.wrap(op+": checking overlaps", err)
		}
		var endArg any
		if c.End != "" {
			endArg = c.End
		}
		args := []any{c.ClientID, c.Plan, c.PriceCents, c.ActivationCents, c.HourlyRateCents, boolInt(c.Gross),
			c.VATBasisPoints, c.Period, c.Start, endArg, boolInt(c.NetworkDevicesBillable), c.ReactivateMonths,
			ms(at), c.UpdatedBy}
		if id == 0 {
			err := tx.QueryRowContext(ctx, `
				INSERT INTO contracts (client_id, plan, price_cents, activation_cents, hourly_rate_cents, gross,
					vat_basis_points, period, start_date, end_date, network_billable, reactivate_months,
					updated_at, updated_by)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
				RETURNING id`, args...).Scan(&id)
			return s.wrap(op, err)
		}
		res, err := tx.ExecContext(ctx, `
			UPDATE contracts SET plan = $2, price_cents = $3, activation_cents = $4, hourly_rate_cents = $5,
				gross = $6, vat_basis_points = $7, period = $8, start_date = $9, end_date = $10,
				network_billable = $11, reactivate_months = $12, updated_at = $13, updated_by = $14
			WHERE id = $15 AND client_id = $1`, append(args, id)...)
		return s.affectedOne(op, res, err)
	})
	if err != nil {
		return err
	}
	c.ID, c.ClientName, c.UpdatedAt = id, clientName, at
	return nil
}

// DeleteContract removes a contract; ErrNotFound. Finalized runs keep
// their bills, which name the contract by ID only.
func (s *DB) DeleteContract(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM contracts WHERE id = $1`, id)
	return s.affectedOne("delete contract", res, err)
}

// ListBillingDevices returns every device row (agents and network
// devices, retired ones and those of deleted clients and sites included)
// of the client (0: of every client) enrolled before until, by client,
// then ID. A network device's Hostname is its name.
func (s *DB) ListBillingDevices(ctx context.Context, clientID int64, until time.Time) ([]core.BillingDevice, error) {
	const op = "list billing devices"
	q := `SELECT d.id, st.client_id, d.hostname, d.kind, d.machine_id, d.enrolled_at, d.retired_at
		FROM devices d JOIN sites st ON st.id = d.site_id
		WHERE d.enrolled_at < $1`
	args := []any{ms(until)}
	if clientID != 0 {
		q += ` AND st.client_id = $2`
		args = append(args, clientID)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY st.client_id, d.id`, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.BillingDevice{}
	for rows.Next() {
		var d core.BillingDevice
		var enrolled int64
		var retired sql.NullInt64
		if err := rows.Scan(&d.ID, &d.ClientID, &d.Hostname, &d.Kind, &d.MachineID, &enrolled, &retired); err != nil {
			return nil, s.wrap(op, err)
		}
		d.EnrolledAt, d.RetiredAt = fromMS(enrolled), timeOrZero(retired)
		if d.Kind == core.KindNetwork {
			d.MachineID = ""
		}
		out = append(out, d)
	}
	return out, s.wrap(op, rows.Err())
}

const timeEntryColumns = `te.id, te.client_id, c.name, te.outage_id, te.support_id, te.user_name, te.started_at,
	te.minutes, te.running, te.note, te.billable, te.billed_run_id, te.created_at, c.deleted_at
	FROM time_entries te JOIN clients c ON c.id = te.client_id`

func scanTimeEntry(sc interface{ Scan(...any) error }) (core.TimeEntry, error) {
	var e core.TimeEntry
	var outage, support, billed sql.NullInt64
	var started, created int64
	var running, billable int
	var deleted sql.NullInt64
	err := sc.Scan(&e.ID, &e.ClientID, &e.ClientName, &outage, &support, &e.User, &started,
		&e.Minutes, &running, &e.Note, &billable, &billed, &created, &deleted)
	e.ClientName = billingName(e.ClientName, deleted)
	e.OutageID, e.SupportID, e.BilledRunID = outage.Int64, support.Int64, billed.Int64
	e.StartedAt, e.CreatedAt = fromMS(started), fromMS(created)
	e.Running, e.Billable = running != 0, billable != 0
	return e, err
}

// CreateTimeEntry stores e as a new, unbilled entry, setting ID,
// ClientName and CreatedAt (zero: now); ErrNotFound for an unknown client,
// outage or support request.
func (s *DB) CreateTimeEntry(ctx context.Context, e *core.TimeEntry) error {
	const op = "create time entry"
	created := orNow(e.CreatedAt)
	var id int64
	err := s.db.QueryRowContext(ctx, `
		INSERT INTO time_entries (client_id, outage_id, support_id, user_name, started_at, minutes, running,
			note, billable, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		RETURNING id`,
		e.ClientID, nullID(e.OutageID), nullID(e.SupportID), e.User, ms(e.StartedAt), e.Minutes,
		boolInt(e.Running), e.Note, boolInt(e.Billable), ms(created)).Scan(&id)
	if err != nil {
		return s.wrap(op, err)
	}
	stored, err := s.GetTimeEntry(ctx, id)
	if err != nil {
		return err
	}
	*e = stored
	return nil
}

// UpdateTimeEntry stores e's fields but its ID, BilledRunID and
// CreatedAt; ErrNotFound for an unknown entry (or client, outage, support
// request); ErrConflict once a finalized run billed it.
func (s *DB) UpdateTimeEntry(ctx context.Context, e *core.TimeEntry) error {
	const op = "update time entry"
	res, err := s.db.ExecContext(ctx, `
		UPDATE time_entries SET client_id = $2, outage_id = $3, support_id = $4, user_name = $5,
			started_at = $6, minutes = $7, running = $8, note = $9, billable = $10
		WHERE id = $1 AND billed_run_id IS NULL`,
		e.ID, e.ClientID, nullID(e.OutageID), nullID(e.SupportID), e.User, ms(e.StartedAt), e.Minutes,
		boolInt(e.Running), e.Note, boolInt(e.Billable))
	if err := s.unbilledOne(ctx, op, e.ID, res, err); err != nil {
		return err
	}
	stored, err := s.GetTimeEntry(ctx, e.ID)
	if err != nil {
		return err
	}
	*e = stored
	return nil
}

// unbilledOne turns a write `… WHERE id = $1 AND billed_run_id IS NULL`
// that touched no row into ErrNotFound or, for a billed entry, ErrConflict.
func (s *DB) unbilledOne(ctx context.Context, op string, id int64, res sql.Result, err error) error {
	if err != nil {
		return s.wrap(op, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return s.wrap(op, err)
	}
	if n > 0 {
		return nil
	}
	var billed sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT billed_run_id FROM time_entries WHERE id = $1`, id).Scan(&billed); err != nil {
		return s.wrap(op+": time entry "+strconv.FormatInt(id, 10), err)
	}
	return fmt.Errorf("store: %s: time entry %d is billed by run %d: %w", op, id, billed.Int64, core.ErrConflict)
}

// GetTimeEntry returns one entry; ErrNotFound.
func (s *DB) GetTimeEntry(ctx context.Context, id int64) (core.TimeEntry, error) {
	e, err := scanTimeEntry(s.db.QueryRowContext(ctx, `SELECT `+timeEntryColumns+` WHERE te.id = $1`, id))
	if err != nil {
		return core.TimeEntry{}, s.wrap("get time entry", err)
	}
	return e, nil
}

// DeleteTimeEntry: ErrNotFound; ErrConflict once a finalized run billed
// it.
func (s *DB) DeleteTimeEntry(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM time_entries WHERE id = $1 AND billed_run_id IS NULL`, id)
	return s.unbilledOne(ctx, "delete time entry", id, res, err)
}

// ListTimeEntries returns the entries q selects in q.Scope, newest started
// first (ties by ID), after q.After if set.
func (s *DB) ListTimeEntries(ctx context.Context, q core.TimeQuery) ([]core.TimeEntry, error) {
	const op = "list time entries"
	conds := []string{"1 = 1"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if q.ClientID != 0 {
		conds = append(conds, "te.client_id = "+arg(q.ClientID))
	}
	if q.OutageID != 0 {
		conds = append(conds, "te.outage_id = "+arg(q.OutageID))
	}
	if q.SupportID != 0 {
		conds = append(conds, "te.support_id = "+arg(q.SupportID))
	}
	if !q.From.IsZero() {
		conds = append(conds, "te.started_at >= "+arg(ms(q.From)))
	}
	if !q.Until.IsZero() {
		conds = append(conds, "te.started_at < "+arg(ms(q.Until)))
	}
	if q.Unbilled {
		conds = append(conds, "te.billed_run_id IS NULL")
	}
	if q.Scope.Restricted {
		in := []string{"NULL"} // no client: matches nothing
		for _, c := range q.Scope.Clients {
			in = append(in, arg(c))
		}
		conds = append(conds, "te.client_id IN ("+strings.Join(in, ", ")+")")
	}
	if !q.After.First() {
		at, id := arg(ms(q.After.At)), arg(q.After.ID)
		conds = append(conds, fmt.Sprintf("(te.started_at < %[1]s OR (te.started_at = %[1]s AND te.id < %[2]s))", at, id))
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+timeEntryColumns+` WHERE `+strings.Join(conds, " AND ")+
		` ORDER BY te.started_at DESC, te.id DESC LIMIT `+arg(limitOrAll(q.Limit)), args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.TimeEntry{}
	for rows.Next() {
		e, err := scanTimeEntry(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, e)
	}
	return out, s.wrap(op, rows.Err())
}

// CreateBillingRun stores r (setting ID, CreatedAt – zero: now – and
// CorrectedBy 0) and marks the time entries its LineTime lines bill as
// billed by it, in one transaction. ErrInvalid for a period without dates
// or ending before it starts. ErrConflict when r's period overlaps a run
// that is not corrected, unless r.Corrects names it (then that run gets
// CorrectedBy and the entries it billed are unbilled before r bills its
// own); when r.Corrects names an unknown or already corrected run; when a
// line bills an entry another live run billed, an entry twice, or an
// entry of another client. An unknown entry is ErrNotFound.
func (s *DB) CreateBillingRun(ctx context.Context, r *core.BillingRun) error {
	const op = "create billing run"
	if r.From == "" || r.To == "" || r.To < r.From {
		return fmt.Errorf("store: %s: period %q – %q: %w", op, r.From, r.To, core.ErrInvalid)
	}
	bills := r.Bills
	if bills == nil {
		bills = []core.Bill{}
	}
	data, err := json.Marshal(bills)
	if err != nil {
		return fmt.Errorf("store: %s: encoding bills: %w", op, err)
	}
	created := orNow(r.CreatedAt)
	var id int64
	err = s.inTx(ctx, op, func(tx *sql.Tx) error {
		if s.dialect == Postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(billingLockKey)); err != nil {
				return s.wrap(op+": lock", err)
			}
		}
		if r.Corrects != 0 {
			var by sql.NullInt64
			err := tx.QueryRowContext(ctx, `SELECT corrected_by FROM billing_runs WHERE id = $1`, r.Corrects).Scan(&by)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("store: %s: run %d to correct is unknown: %w", op, r.Corrects, core.ErrConflict)
			case err != nil:
				return s.wrap(op+": reading the corrected run", err)
			case by.Valid:
				return fmt.Errorf("store: %s: run %d is already corrected by run %d: %w", op, r.Corrects, by.Int64, core.ErrConflict)
			}
		}
		rows, err := tx.QueryContext(ctx, `
			SELECT id FROM billing_runs
			WHERE corrected_by IS NULL AND from_date <= $1 AND to_date >= $2 ORDER BY id`, r.To, r.From)
		if err != nil {
			return s.wrap(op+": checking overlaps", err)
		}
		var overlaps []int64
		for rows.Next() {
			var o int64
			if err := rows.Scan(&o); err != nil {
				rows.Close()
				return s.wrap(op+": checking overlaps", err)
			}
			overlaps = append(overlaps, o)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.wrap(op+": checking overlaps", err)
		}
		for _, o := range overlaps {
			if o != r.Corrects {
				return fmt.Errorf("store: %s: %s – %s overlaps run %d: %w", op, r.From, r.To, o, core.ErrConflict)
			}
		}
		err = tx.QueryRowContext(ctx, `
			INSERT INTO billing_runs (from_date, to_date, bills, net_cents, vat_cents, gross_cents, corrects,
				created_at, created_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			RETURNING id`,
			r.From, r.To, string(data), r.NetCents, r.VATCents, r.GrossCents, nullID(r.Corrects),
			ms(created), r.CreatedBy).Scan(&id)
		if err != nil {
			return s.wrap(op, err)
		}
		if r.Corrects != 0 {
			res, err := tx.ExecContext(ctx, `UPDATE billing_runs SET corrected_by = $1 WHERE id = $2 AND corrected_by IS NULL`,
				id, r.Corrects)
			if err := s.affectedOne(op+": marking run "+strconv.FormatInt(r.Corrects, 10)+" corrected", res, err); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE time_entries SET billed_run_id = NULL WHERE billed_run_id = $1`,
				r.Corrects); err != nil {
				return s.wrap(op+": unbilling the corrected run's time entries", err)
			}
		}
		seen := map[int64]bool{}
		for _, b := range r.Bills {
			for _, l := range b.Lines {
				if l.Kind != core.LineTime || l.TimeEntryID == 0 {
					continue
				}
				if seen[l.TimeEntryID] {
					return fmt.Errorf("store: %s: time entry %d is billed twice: %w", op, l.TimeEntryID, core.ErrConflict)
				}
				seen[l.TimeEntryID] = true
				if err := s.billTimeEntry(ctx, tx, op, id, b.ClientID, l.TimeEntryID); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.ID, r.CreatedAt, r.CorrectedBy = id, created, 0
	return nil
}

// billTimeEntry marks entry as billed by run, for a bill of clientID.
func (s *DB) billTimeEntry(ctx context.Context, tx *sql.Tx, op string, run, clientID, entry int64) error {
	res, err := tx.ExecContext(ctx, `
		UPDATE time_entries SET billed_run_id = $1 WHERE id = $2 AND client_id = $3 AND billed_run_id IS NULL`,
		run, entry, clientID)
	if err != nil {
		return s.wrap(op+": billing time entry "+strconv.FormatInt(entry, 10), err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return s.wrap(op+": billing time entry "+strconv.FormatInt(entry, 10), err)
	}
	var owner int64
	var billed sql.NullInt64
	err = tx.QueryRowContext(ctx, `SELECT client_id, billed_run_id FROM time_entries WHERE id = $1`, entry).Scan(&owner, &billed)
	switch {
	case err != nil:
		return s.wrap(op+": time entry "+strconv.FormatInt(entry, 10), err)
	case billed.Valid:
		return fmt.Errorf("store: %s: time entry %d is billed by run %d: %w", op, entry, billed.Int64, core.ErrConflict)
	default:
		return fmt.Errorf("store: %s: time entry %d is client %d's, not client %d's: %w", op, entry, owner, clientID, core.ErrConflict)
	}
}

const billingRunColumns = `id, from_date, to_date, net_cents, vat_cents, gross_cents, corrects, corrected_by,
	created_at, created_by`

func scanBillingRun(sc interface{ Scan(...any) error }, extra ...any) (core.BillingRun, error) {
	var r core.BillingRun
	var corrects, by sql.NullInt64
	var created int64
	err := sc.Scan(append([]any{&r.ID, &r.From, &r.To, &r.NetCents, &r.VATCents, &r.GrossCents, &corrects, &by,
		&created, &r.CreatedBy}, extra...)...)
	r.Corrects, r.CorrectedBy, r.CreatedAt = corrects.Int64, by.Int64, fromMS(created)
	return r, err
}

// GetBillingRun returns one run with its bills; ErrNotFound.
func (s *DB) GetBillingRun(ctx context.Context, id int64) (core.BillingRun, error) {
	const op = "get billing run"
	var data string
	r, err := scanBillingRun(s.db.QueryRowContext(ctx, `SELECT `+billingRunColumns+`, bills FROM billing_runs WHERE id = $1`, id), &data)
	if err != nil {
		return core.BillingRun{}, s.wrap(op, err)
	}
	if err := json.Unmarshal([]byte(data), &r.Bills); err != nil {
		return core.BillingRun{}, fmt.Errorf("store: %s: run %d: decoding bills: %w", op, id, err)
	}
	return r, nil
}

// ListBillingRuns returns the newest runs first, at most limit (≤ 0: all),
// with Bills nil.
func (s *DB) ListBillingRuns(ctx context.Context, limit int) ([]core.BillingRun, error) {
	const op = "list billing runs"
	rows, err := s.db.QueryContext(ctx, `SELECT `+billingRunColumns+` FROM billing_runs
		ORDER BY id DESC LIMIT $1`, limitOrAll(limit))
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.BillingRun{}
	for rows.Next() {
		r, err := scanBillingRun(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, r)
	}
	return out, s.wrap(op, rows.Err())
}
