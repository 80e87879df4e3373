package store

import (
	"context"
	"database/sql"
	"strings"
)

// The device list reads two columns of devices that summarize other
// tables, so that a page does not work them out over the whole fleet
// (docs/benchmarks.md, "Device list at 10,000 devices"): worst and
// search_text. Each is recomputed by one function below, called in the
// transaction of every write that changes what it summarizes.

// execQuerier is a transaction or the pool.
type execQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// refreshWorstSQL sets devices.worst to the severity of the device's worst
// check state, at least OK's (an unsupported check is not worse than none).
var refreshWorstSQL = `UPDATE devices SET worst = (
	SELECT CASE WHEN MAX(sev) > 1 THEN MAX(sev) ELSE 1 END
	FROM (SELECT ` + severitySQL("cs.status") + ` AS sev
		FROM checks ch JOIN check_state cs ON cs.check_id = ch.id WHERE ch.device_id = $1) w)
	WHERE id = $1`

// refreshWorst recomputes device id's stored worst status from its check
// states; call it in the transaction that changed them.
func (s *DB) refreshWorst(ctx context.Context, tx execQuerier, id int64) error {
	_, err := tx.ExecContext(ctx, refreshWorstSQL, id)
	return s.wrap("recomputing the device's worst status", err)
}

// searchText is what the device list's search looks in: hostname, last
// user, addresses, serial and tags, lower-cased in Go (SQLite's lower()
// knows only ASCII) and one to a line, so that a search does not match
// across two of them.
func searchText(hostname, user, ips, serial string, tags []string) string {
	parts := append([]string{hostname, user, ips, serial}, tags...)
	return strings.ToLower(strings.Join(parts, "\n"))
}

// refreshSearch recomputes the search text of the devices with the given
// IDs, or of every device whose text is not filled yet (NULL after
// migration 0041) if ids is empty; call it in the transaction that changed
// a hostname, inventory or tags.
func (s *DB) refreshSearch(ctx context.Context, tx execQuerier, ids ...int64) error {
	const op = "recomputing the device's search text"
	f := &deviceListFilter{}
	where := "d.search_text IS NULL"
	if len(ids) > 0 {
		where = in(f, "d.id", ids)
	}
	texts, err := s.searchTexts(ctx, tx, where, f.args)
	if err != nil {
		return s.wrap(op, err)
	}
	for id, text := range texts {
		if _, err := tx.ExecContext(ctx, `UPDATE devices SET search_text = $2 WHERE id = $1`, id, text); err != nil {
			return s.wrap(op, err)
		}
	}
	return nil
}

// searchTexts works out the search text of the devices that where selects.
func (s *DB) searchTexts(ctx context.Context, tx execQuerier, where string, args []any) (map[int64]string, error) {
	tags := map[int64][]string{}
	rows, err := tx.QueryContext(ctx, `SELECT t.device_id, t.tag FROM device_tags t JOIN devices d ON d.id = t.device_id
		WHERE `+where+` ORDER BY t.device_id, t.tag`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return nil, err
		}
		tags[id] = append(tags[id], tag)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	rows, err = tx.QueryContext(ctx, `SELECT d.id, d.hostname, COALESCE(i.last_user, ''), COALESCE(i.ips, ''),
			COALESCE(i.serial, '')
		FROM devices d LEFT JOIN device_inventory i ON i.device_id = d.id WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	texts := map[int64]string{}
	for rows.Next() {
		var id int64
		var host, user, ips, serial string
		if err := rows.Scan(&id, &host, &user, &ips, &serial); err != nil {
			return nil, err
		}
		texts[id] = searchText(host, user, ips, serial, tags[id])
	}
	return texts, rows.Err()
}
