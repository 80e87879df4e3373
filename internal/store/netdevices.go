package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Network devices: a devices row (kind 'network') plus a network_devices
// row with the probe, address, type, checks and sealed secrets.

const netDeviceColumns = `
	d.id, d.site_id, s.client_id, d.hostname, d.state, d.enrolled_at,
	n.probe_device_id, n.address, n.type, n.checks, n.sealed
	FROM network_devices n
	JOIN devices d ON d.id = n.device_id
	JOIN sites s ON s.id = d.site_id`

func (s *DB) scanNetDevice(sc interface{ Scan(...any) error }) (core.NetDevice, error) {
	var d core.NetDevice
	var created int64
	var probe sql.NullInt64
	var checks string
	if err := sc.Scan(&d.ID, &d.SiteID, &d.ClientID, &d.Name, &d.State, &created,
		&probe, &d.Address, &d.Type, &checks, &d.Sealed); err != nil {
		return d, err
	}
	d.CreatedAt, d.ProbeID = fromMS(created), probe.Int64
	var err error
	if d.Checks, err = s.decodeChecks(checks); err != nil {
		return d, fmt.Errorf("network device %d: %w", d.ID, err)
	}
	return d, nil
}

func probeArg(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// CreateNetDevice inserts the devices row and the network_devices row in
// one transaction.
func (s *DB) CreateNetDevice(ctx context.Context, d *core.NetDevice) error {
	const op = "creating network device"
	checks, err := s.checksJSON(d.Checks)
	if err != nil {
		return err
	}
	at := now()
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT client_id FROM sites WHERE id = $1`, d.SiteID).Scan(&d.ClientID); err != nil {
			return s.wrap(op+": site", err)
		}
		err := tx.QueryRowContext(ctx, `
			INSERT INTO devices (site_id, hostname, public_key, role, state, enrolled_at, kind)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			d.SiteID, d.Name, []byte{}, core.KindNetwork, core.DeviceActive, ms(at), core.KindNetwork).Scan(&d.ID)
		if err != nil {
			return s.wrap(op, err)
		}
		if _, err := tx.ExecContext(ctx, `
			INSERT INTO network_devices (device_id, probe_device_id, address, type, checks, sealed)
			VALUES ($1, $2, $3, $4, $5, $6)`,
			d.ID, probeArg(d.ProbeID), d.Address, d.Type, checks, nonNil(d.Sealed)); err != nil {
			return s.wrap(op, err)
		}
		d.State, d.CreatedAt = core.DeviceActive, at
		return s.refreshSearch(ctx, tx, d.ID)
	})
}

// GetNetDevice returns a network device that is not retired.
func (s *DB) GetNetDevice(ctx context.Context, id int64) (core.NetDevice, error) {
	d, err := s.scanNetDevice(s.db.QueryRowContext(ctx, `SELECT `+netDeviceColumns+`
		WHERE n.device_id = $1 AND d.state <> $2`, id, core.DeviceRetired))
	if err != nil {
		return core.NetDevice{}, s.wrap("get network device", err)
	}
	return d, nil
}

// ListNetDevices returns the site's (0: all) network devices not retired.
func (s *DB) ListNetDevices(ctx context.Context, siteID int64) ([]core.NetDevice, error) {
	const op = "listing network devices"
	if siteID == 0 {
		return s.listNetDevices(ctx, op, `SELECT `+netDeviceColumns+`
			WHERE d.state <> $1 ORDER BY d.id`, core.DeviceRetired)
	}
	return s.listNetDevices(ctx, op, `SELECT `+netDeviceColumns+`
		WHERE d.site_id = $1 AND d.state <> $2 ORDER BY d.id`, siteID, core.DeviceRetired)
}

// ListProbedDevices returns the active network devices probeID runs (0:
// the server).
func (s *DB) ListProbedDevices(ctx context.Context, probeID int64) ([]core.NetDevice, error) {
	const op = "listing probed network devices"
	if probeID == 0 {
		return s.listNetDevices(ctx, op, `SELECT `+netDeviceColumns+`
			WHERE n.probe_device_id IS NULL AND d.state = $1 ORDER BY d.id`, core.DeviceActive)
	}
	return s.listNetDevices(ctx, op, `SELECT `+netDeviceColumns+`
		WHERE n.probe_device_id = $1 AND d.state = $2 ORDER BY d.id`, probeID, core.DeviceActive)
}

func (s *DB) listNetDevices(ctx context.Context, op, query string, args ...any) ([]core.NetDevice, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.NetDevice{}
	for rows.Next() {
		d, err := s.scanNetDevice(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, d)
	}
	return out, s.wrap(op, rows.Err())
}

// UpdateNetDevice replaces the editable fields.
func (s *DB) UpdateNetDevice(ctx context.Context, d *core.NetDevice) error {
	const op = "updating network device"
	checks, err := s.checksJSON(d.Checks)
	if err != nil {
		return err
	}
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `
			UPDATE network_devices SET probe_device_id = $2, address = $3, type = $4, checks = $5, sealed = $6
			WHERE device_id = $1 AND device_id IN (SELECT id FROM devices WHERE state <> $7)`,
			d.ID, probeArg(d.ProbeID), d.Address, d.Type, checks, nonNil(d.Sealed), core.DeviceRetired)
		if err := s.affectedOne(op, res, err); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `UPDATE devices SET hostname = $2 WHERE id = $1`, d.ID, d.Name); err != nil {
			return s.wrap(op, err)
		}
		return s.refreshSearch(ctx, tx, d.ID)
	})
}

// RetireNetDevice sets the devices row's state to retired.
func (s *DB) RetireNetDevice(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, `
		UPDATE devices SET state = $2
		WHERE id = $1 AND kind = $3 AND state <> $2`, id, core.DeviceRetired, core.KindNetwork)
	return s.affectedOne("retiring network device", res, err)
}

// probePresence reads, for every network device with a probe, whether
// the probe is offline at at (not active, or not heard from within
// SetOnlineWindow's window) — then its status is unknown, whatever its
// last results said — and when the probe was last seen, which the device
// shows as its own (it is reachable through its probe).
func (s *DB) probePresence(ctx context.Context, at time.Time) (offline map[int64]bool, seen map[int64]time.Time, err error) {
	const op = "reading probe presence"
	rows, err := s.db.QueryContext(ctx, `
		SELECT n.device_id, p.state, p.last_seen FROM network_devices n
		JOIN devices p ON p.id = n.probe_device_id`)
	if err != nil {
		return nil, nil, s.wrap(op, err)
	}
	defer rows.Close()
	offline, seen = map[int64]bool{}, map[int64]time.Time{}
	for rows.Next() {
		var id int64
		var state string
		var last sql.NullInt64
		if err := rows.Scan(&id, &state, &last); err != nil {
			return nil, nil, s.wrap(op, err)
		}
		probe := core.Device{State: state, LastSeen: timeOrZero(last)}
		offline[id] = !probe.Online(at, s.onlineWindow())
		seen[id] = probe.LastSeen
	}
	return offline, seen, s.wrap(op, rows.Err())
}
