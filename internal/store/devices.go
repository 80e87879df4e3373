package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

const deviceColumns = `
	d.id, d.site_id, s.name, s.client_id, c.name, d.hostname, d.os, d.platform, d.arch,
	d.machine_id, d.public_key, d.role, d.state, d.agent_version, d.enrolled_at, d.last_seen,
	d.duplicate_of
	FROM devices d
	JOIN sites s ON s.id = d.site_id
	JOIN clients c ON c.id = s.client_id`

func scanDevice(sc interface{ Scan(...any) error }) (core.Device, error) {
	var d core.Device
	var enrolled int64
	var seen, dup sql.NullInt64
	err := sc.Scan(&d.ID, &d.SiteID, &d.SiteName, &d.ClientID, &d.ClientName, &d.Hostname, &d.OS, &d.Platform,
		&d.Arch, &d.MachineID, &d.PublicKey, &d.Role, &d.State, &d.AgentVersion, &enrolled, &seen, &dup)
	d.EnrolledAt, d.LastSeen, d.DuplicateOf = fromMS(enrolled), timeOrZero(seen), dup.Int64
	return d, err
}

// ListDevices returns every device by ID with site and client names and
// Worst over its current check states (StatusOK without any).
func (s *DB) ListDevices(ctx context.Context) ([]core.Device, error) {
	const op = "listing devices"
	rows, err := s.db.QueryContext(ctx, `SELECT `+deviceColumns+` ORDER BY d.id`)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(op, err)
	}
	rows.Close()
	statuses, err := s.statusesByDevice(ctx, `
		SELECT ch.device_id, cs.status FROM check_state cs JOIN checks ch ON ch.id = cs.check_id`)
	if err != nil {
		return nil, err
	}
	tags, err := s.deviceTags(ctx, 0)
	if err != nil {
		return nil, err
	}
	unknown, probeSeen, err := s.probePresence(ctx, time.Now())
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i].Worst = core.Worst(statuses[out[i].ID]...)
		if unknown[out[i].ID] {
			out[i].Worst = core.StatusUnknown // network device whose probe is offline
		}
		if t, ok := probeSeen[out[i].ID]; ok {
			out[i].LastSeen = t
		}
		out[i].Tags = tags[out[i].ID]
	}
	return out, nil
}

// GetDevice returns one device like ListDevices, or ErrNotFound.
func (s *DB) GetDevice(ctx context.Context, id int64) (core.Device, error) {
	d, err := scanDevice(s.db.QueryRowContext(ctx, `SELECT `+deviceColumns+` WHERE d.id = $1`, id))
	if err != nil {
		return core.Device{}, s.wrap("get device", err)
	}
	statuses, err := s.statusesByDevice(ctx, `
		SELECT ch.device_id, cs.status FROM check_state cs JOIN checks ch ON ch.id = cs.check_id
		WHERE ch.device_id = $1`, id)
	if err != nil {
		return core.Device{}, err
	}
	d.Worst = core.Worst(statuses[id]...)
	unknown, probeSeen, err := s.probePresence(ctx, time.Now())
	if err != nil {
		return core.Device{}, err
	}
	if unknown[id] {
		d.Worst = core.StatusUnknown // network device whose probe is offline
	}
	if t, ok := probeSeen[id]; ok {
		d.LastSeen = t
	}
	tags, err := s.deviceTags(ctx, id)
	if err != nil {
		return core.Device{}, err
	}
	d.Tags = tags[id]
	return d, nil
}

// statusesByDevice collects (device_id, status) rows per device; callers
// fold them with core.Worst (StatusOK for a device without any).
func (s *DB) statusesByDevice(ctx context.Context, query string, args ...any) (map[int64][]core.Status, error) {
	const op = "reading device status"
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	statuses := map[int64][]core.Status{}
	for rows.Next() {
		var id int64
		var st string
		if err := rows.Scan(&id, &st); err != nil {
			return nil, s.wrap(op, err)
		}
		statuses[id] = append(statuses[id], core.ParseStatus(st))
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(op, err)
	}
	return statuses, nil
}

// RevokeDevice sets the device's state to revoked; ErrNotFound if absent.
func (s *DB) RevokeDevice(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `UPDATE devices SET state = $2 WHERE id = $1`, id, core.DeviceRevoked)
	return s.affectedOne("revoke device", res, err)
}

// TouchDevice records that the device was heard from at at (last_seen never
// moves backwards) and, if non-empty, its agent version. ErrNotFound if absent.
func (s *DB) TouchDevice(ctx context.Context, id int64, at time.Time, agentVersion string) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE devices SET
			last_seen = CASE WHEN last_seen IS NULL OR last_seen < $2 THEN $2 ELSE last_seen END,
			agent_version = CASE WHEN $3 = '' THEN agent_version ELSE $3 END
		WHERE id = $1`, id, ms(at), agentVersion)
	return s.affectedOne("touch device", res, err)
}

// TouchDevices records several devices' last contact in one statement
// (PostgreSQL) or one transaction (SQLite); like TouchDevice, last_seen
// never moves backwards. Unknown devices are skipped.
func (s *DB) TouchDevices(ctx context.Context, seen map[int64]time.Time) error {
	const op = "touch devices"
	if len(seen) == 0 {
		return nil
	}
	if s.dialect == Postgres {
		ids, ats := make([]int64, 0, len(seen)), make([]int64, 0, len(seen))
		for id, at := range seen {
			ids, ats = append(ids, id), append(ats, ms(at))
		}
		_, err := s.db.ExecContext(ctx, `
			UPDATE devices d SET last_seen = u.at
			FROM unnest($1::bigint[], $2::bigint[]) AS u (id, at)
			WHERE d.id = u.id AND (d.last_seen IS NULL OR d.last_seen < u.at)`, ids, ats)
		return s.wrap(op, err)
	}
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `UPDATE devices SET last_seen = $2 WHERE id = $1 AND (last_seen IS NULL OR last_seen < $2)`)
		if err != nil {
			return s.wrap(op, err)
		}
		defer st.Close()
		for id, at := range seen {
			if _, err := st.ExecContext(ctx, id, ms(at)); err != nil {
				return s.wrap(op, err)
			}
		}
		return nil
	})
}

// SetDeviceActionKey records the fingerprint of the newest action key the
// device's agent trusts. ErrNotFound if absent.
func (s *DB) SetDeviceActionKey(ctx context.Context, id int64, fingerprint string) error {
	res, err := s.db.ExecContext(ctx, `UPDATE devices SET action_key_fp = $2 WHERE id = $1`, id, fingerprint)
	return s.affectedOne("set device action key", res, err)
}

// DevicesNotOnActionKey lists the active devices whose agents have not
// confirmed the action key with fingerprint fp, by ID, with the
// fingerprint they last reported ("" if none).
func (s *DB) DevicesNotOnActionKey(ctx context.Context, fp string) ([]core.DeviceActionKey, error) {
	const op = "list devices not on the action key"
	rows, err := s.db.QueryContext(ctx, `
		SELECT d.id, d.hostname, c.name, st.name, d.action_key_fp, d.last_seen
		FROM devices d JOIN sites st ON st.id = d.site_id JOIN clients c ON c.id = st.client_id
		WHERE d.state = $1 AND d.action_key_fp <> $2
		ORDER BY d.id`, core.DeviceActive, fp)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var ds []core.DeviceActionKey
	for rows.Next() {
		var d core.DeviceActionKey
		var seen sql.NullInt64
		if err := rows.Scan(&d.ID, &d.Hostname, &d.ClientName, &d.SiteName, &d.Fingerprint, &seen); err != nil {
			return nil, s.wrap(op, err)
		}
		if seen.Valid {
			d.LastSeen = fromMS(seen.Int64)
		}
		ds = append(ds, d)
	}
	return ds, s.wrap(op, rows.Err())
}
