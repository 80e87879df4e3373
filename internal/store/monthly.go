package store

import (
	"context"
	"database/sql"
	"time"
)

// Reads of the monthly customer report (issue 22) that the daily report's
// do not cover: when devices were retired, and sums of a check's values
// over a month, retired devices included.

// DeviceRetirements returns when each retired device of client clientID
// was retired, by device ID.
func (s *DB) DeviceRetirements(ctx context.Context, clientID int64) (map[int64]time.Time, error) {
	const op = "listing device retirements"
	rows, err := s.db.QueryContext(ctx, `
		SELECT d.id, d.retired_at FROM devices d JOIN sites st ON st.id = d.site_id
		WHERE st.client_id = $1 AND d.retired_at IS NOT NULL`, clientID)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := map[int64]time.Time{}
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			return nil, s.wrap(op, err)
		}
		out[id] = fromMS(at)
	}
	return out, s.wrap(op, rows.Err())
}

// SumClientCheckValues sums the values of the results of check name on
// each device of client clientID in [since, until), retired devices
// included, by device ID; devices without such results are left out.
func (s *DB) SumClientCheckValues(ctx context.Context, clientID int64, name string, since, until time.Time) (map[int64]float64, error) {
	const op = "summing client check values"
	rows, err := s.db.QueryContext(ctx, `
		SELECT r.device_id, SUM(r.value)
		FROM check_results r
		JOIN checks ch ON ch.id = r.check_id
		JOIN devices d ON d.id = r.device_id
		JOIN sites st ON st.id = d.site_id
		WHERE st.client_id = $1 AND ch.name = $2 AND r.at >= $3 AND r.at < $4 AND r.value IS NOT NULL
		GROUP BY r.device_id`, clientID, name, ms(since), ms(until))
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := map[int64]float64{}
	for rows.Next() {
		var id int64
		var sum sql.NullFloat64
		if err := rows.Scan(&id, &sum); err != nil {
			return nil, s.wrap(op, err)
		}
		if sum.Valid {
			out[id] = sum.Float64
		}
	}
	return out, s.wrap(op, rows.Err())
}
