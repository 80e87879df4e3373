package store

import (
	"context"
	"database/sql"

	"github.com/wacht-rmm/wacht/internal/core"
)

// insertResultsPGSQL writes a whole batch in one statement over arrays: the
// IDs first claim their row in check_result_ids (the partitioned history
// cannot hold a unique ID), and only the rows that won go into history.
// Measured against COPY into a staging table, this was faster for agent
// batches (docs/benchmarks.md): COPY needs the staging table and two more
// round trips per batch.
const insertResultsPGSQL = `
	WITH b AS (
		SELECT * FROM unnest($2::text[], $3::bigint[], $4::text[], $5::float8[], $6::text[], $7::text[], $8::text[], $9::bigint[], $10::text[])
			AS b (id, check_id, status, value, unit, message_en, message_de, at, data)),
	fresh AS (
		INSERT INTO check_result_ids (id, at) SELECT id, at FROM b
		ON CONFLICT (id) DO NOTHING
		RETURNING id)
	INSERT INTO check_results (id, check_id, device_id, status, value, unit, message_en, message_de, at, data)
	SELECT b.id, b.check_id, $1, b.status, b.value, b.unit, b.message_en, b.message_de, b.at, b.data
	FROM b JOIN fresh USING (id)
	RETURNING id`

// insertResultsPG is insertResults for PostgreSQL: one round trip a batch.
// IDs must be unique within rs.
func (s *DB) insertResultsPG(ctx context.Context, tx *sql.Tx, deviceID int64, rs []core.Result, checkIDs []int64) (map[string]bool, error) {
	const op = "save results: inserting history"
	n := len(rs)
	ids, statuses, units, ens, des := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	values, ats, data := make([]*float64, n), make([]int64, n), make([]string, n)
	for i, r := range rs {
		ids[i], statuses[i], units[i], ens[i], des[i] = r.ID, r.Status.String(), r.Unit, r.Message.EN, r.Message.DE
		values[i], ats[i], data[i] = r.Value, ms(r.At), string(r.Data)
	}
	rows, err := tx.QueryContext(ctx, insertResultsPGSQL, deviceID, ids, checkIDs, statuses, values, units, ens, des, ats, data)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	inserted := make(map[string]bool, n)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, s.wrap(op, err)
		}
		inserted[id] = true
	}
	return inserted, s.wrap(op, rows.Err())
}

// saveStatesPG writes check states in one upsert over arrays.
func (s *DB) saveStatesPG(ctx context.Context, tx *sql.Tx, cs []*checkRow) error {
	if len(cs) == 0 {
		return nil
	}
	n := len(cs)
	ids, ats, changed := make([]int64, n), make([]int64, n), make([]int64, n)
	statuses, units, ens, des := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	values := make([]*float64, n)
	for i, c := range cs {
		ids[i], ats[i], changed[i] = c.id, c.at, c.changedAt
		statuses[i], units[i], ens[i], des[i], values[i] = c.status, c.unit, c.en, c.de, c.value
	}
	_, err := tx.ExecContext(ctx, `
		INSERT INTO check_state (check_id, status, value, unit, message_en, message_de, at, changed_at)
		SELECT * FROM unnest($1::bigint[], $2::text[], $3::float8[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::bigint[])`+
		upsertStateSQL, ids, statuses, values, units, ens, des, ats, changed)
	return s.wrap("save results: updating state", err)
}
