package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// GetInventory returns a device's stored inventory with the public
// address the server last saw in System.PublicIP; ErrNotFound if none.
func (s *DB) GetInventory(ctx context.Context, deviceID int64) (core.StoredInventory, error) {
	const op = "get inventory"
	inv := core.StoredInventory{DeviceID: deviceID}
	var at int64
	var doc, ip string
	err := s.db.QueryRowContext(ctx, `SELECT digest, received_at, doc, public_ip FROM device_inventory WHERE device_id = $1`,
		deviceID).Scan(&inv.Digest, &at, &doc, &ip)
	if err != nil {
		return inv, s.wrap(op, err)
	}
	if err := json.Unmarshal([]byte(doc), &inv.Inventory); err != nil {
		return inv, fmt.Errorf("store: %s of device %d: %w", op, deviceID, err)
	}
	inv.ReceivedAt, inv.Inventory.System.PublicIP = fromMS(at), ip
	return inv, nil
}

// inventorySummary is what device_inventory keeps beside the document for
// the fleet search.
type inventorySummary struct {
	osName, osVersion, osBuild, manufacturer, model, serial, cpuModel string
	memory, disks                                                     int64
	battery, programs                                                 int
	// lastUser is the first logged-on user ("" for none); ips the NICs'
	// addresses without prefix length, lower-cased, distinct, separated by
	// spaces: the device list shows and searches them (migration 0037).
	lastUser, ips string
}

func summarize(inv core.Inventory) inventorySummary {
	sum := inventorySummary{
		osName: inv.System.OSName, osVersion: inv.System.Version, osBuild: inv.System.Build,
		manufacturer: inv.Hardware.Manufacturer, model: inv.Hardware.Model, serial: inv.Hardware.Serial,
		cpuModel: inv.Hardware.CPU.Model, memory: clampInt64(inv.Hardware.Memory.TotalBytes),
		programs: len(inv.Software),
	}
	var disks uint64
	for _, d := range inv.Hardware.Disks {
		disks += d.SizeBytes
	}
	sum.disks = clampInt64(disks)
	if i := slices.IndexFunc(inv.System.LoggedOn, func(u string) bool { return u != "" }); i >= 0 {
		sum.lastUser = inv.System.LoggedOn[i]
	}
	var ips []string
	for _, n := range inv.Hardware.NICs {
		for _, a := range n.Addresses {
			ip, _, _ := strings.Cut(strings.ToLower(a), "/")
			if ip != "" && !slices.Contains(ips, ip) {
				ips = append(ips, ip)
			}
		}
	}
	sum.ips = strings.Join(ips, " ")
	for _, b := range inv.Hardware.Batteries {
		if b.HealthPercent > 0 && (sum.battery == 0 || b.HealthPercent < sum.battery) {
			sum.battery = b.HealthPercent
		}
	}
	return sum
}

// clampInt64 makes a byte count a database integer.
func clampInt64(v uint64) int64 { return int64(min(v, math.MaxInt64)) }

// SaveInventory stores inv as the device's inventory if the stored digest
// is base ("" for none; ErrConflict otherwise), replaces its program rows
// and appends changes, in one transaction. inv.Inventory.System.PublicIP
// goes to its own column, not into the document: the agent's digest does
// not cover it. An unknown device is ErrNotFound.
func (s *DB) SaveInventory(ctx context.Context, inv core.StoredInventory, base string, changes []core.InventoryChange) error {
	const op = "save inventory"
	ip := inv.Inventory.System.PublicIP
	inv.Inventory.System.PublicIP = ""
	doc, err := json.Marshal(inv.Inventory)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	sum := summarize(inv.Inventory)
	at := ms(orNow(inv.ReceivedAt))
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		args := []any{inv.DeviceID, inv.Digest, at, string(doc), ip, sum.osName, sum.osVersion, sum.osBuild,
			sum.manufacturer, sum.model, sum.serial, sum.cpuModel, sum.memory, sum.disks, sum.battery, sum.programs,
			sum.lastUser, sum.ips}
		if base == "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO device_inventory (device_id, digest, received_at, doc, public_ip,
				os_name, os_version, os_build, manufacturer, model, serial, cpu_model, memory_bytes, disk_bytes,
				battery_health, programs, last_user, ips)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
				args...); err != nil {
				return s.wrap(op, err)
			}
		} else {
			res, err := tx.ExecContext(ctx, `UPDATE device_inventory SET digest = $2, received_at = $3, doc = $4,
				public_ip = $5, os_name = $6, os_version = $7, os_build = $8, manufacturer = $9, model = $10,
				serial = $11, cpu_model = $12, memory_bytes = $13, disk_bytes = $14, battery_health = $15,
				programs = $16, last_user = CASE WHEN $17 = '' THEN last_user ELSE $17 END, ips = $18
				WHERE device_id = $1 AND digest = $19`, append(args, base)...)
			if err != nil {
				return s.wrap(op, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return s.wrap(op, err)
			} else if n == 0 {
				return fmt.Errorf("store: %s of device %d: the stored inventory is not %.12s: %w", op, inv.DeviceID, base, core.ErrConflict)
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM inventory_programs WHERE device_id = $1`, inv.DeviceID); err != nil {
			return s.wrap(op+": deleting programs", err)
		}
		if err := s.insertPrograms(ctx, tx, inv.DeviceID, inv.Inventory.Software); err != nil {
			return err
		}
		if err := s.insertInventoryChanges(ctx, tx, inv.DeviceID, changes); err != nil {
			return err
		}
		return s.refreshSearch(ctx, tx, inv.DeviceID)
	})
}

// softwareNameIDs returns the software_names IDs of programs' lower-case
// names, creating the missing ones.
func (s *DB) softwareNameIDs(ctx context.Context, tx *sql.Tx, ps []core.Program) (map[string]int64, error) {
	const op = "save inventory: naming programs"
	names := make([]string, 0, len(ps))
	for _, p := range ps {
		names = append(names, strings.ToLower(p.Name))
	}
	// Sorted, so that two PostgreSQL transactions adding the same new
	// names lock them in one order.
	slices.Sort(names)
	names = slices.Compact(names)
	ids := make(map[string]int64, len(names))
	scan := func(rows *sql.Rows) error {
		var id int64
		var name string
		err := rows.Scan(&id, &name)
		ids[name] = id
		return err
	}
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `INSERT INTO software_names (name_lower) SELECT unnest($1::text[])
			ON CONFLICT (name_lower) DO NOTHING`, names); err != nil {
			return nil, s.wrap(op, err)
		}
		rows, err := tx.QueryContext(ctx, `SELECT n.id, n.name_lower FROM unnest($1::text[]) AS u (name)
			JOIN software_names n ON n.name_lower = u.name`, names)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return nil, s.wrap(op, err)
			}
		}
		return ids, s.wrap(op, rows.Err())
	}
	name := func(args []any, i int) []any { return append(args, names[i]) }
	if err := s.chunked(ctx, tx, op, len(names), sqliteChunk, func(n int) string {
		return `INSERT INTO software_names (name_lower) VALUES ` + valuesSQL(n, 1) + ` ON CONFLICT (name_lower) DO NOTHING`
	}, name, nil); err != nil {
		return nil, err
	}
	err := s.chunked(ctx, tx, op, len(names), sqliteChunk, func(n int) string {
		return `SELECT id, name_lower FROM software_names WHERE name_lower IN (VALUES ` + valuesSQL(n, 1) + `)`
	}, name, scan)
	return ids, err
}

func (s *DB) insertPrograms(ctx context.Context, tx *sql.Tx, deviceID int64, ps []core.Program) error {
	const op = "save inventory: inserting programs"
	if len(ps) == 0 {
		return nil
	}
	ids, err := s.softwareNameIDs(ctx, tx, ps)
	if err != nil {
		return err
	}
	if s.dialect == Postgres {
		n := len(ps)
		nameIDs, sizes := make([]int64, n), make([]int64, n)
		names, versions, publishers, dates, sources, pids := make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n)
		for i, p := range ps {
			nameIDs[i], sizes[i] = ids[strings.ToLower(p.Name)], p.SizeBytes
			names[i], versions[i], publishers[i], dates[i], sources[i], pids[i] = p.Name, p.Version, p.Publisher, p.InstallDate, p.Source, p.ID
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO inventory_programs (device_id, name_id, name, version, publisher,
			install_date, size_bytes, source, program_id)
			SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::text[], $9::text[])`,
			deviceID, nameIDs, names, versions, publishers, dates, sizes, sources, pids)
		return s.wrap(op, err)
	}
	return s.chunked(ctx, tx, op, len(ps), sqliteChunk, func(n int) string {
		return `INSERT INTO inventory_programs (device_id, name_id, name, version, publisher, install_date, size_bytes,
			source, program_id) VALUES ` + valuesSQL(n, 9)
	}, func(args []any, i int) []any {
		p := ps[i]
		return append(args, deviceID, ids[strings.ToLower(p.Name)], p.Name, p.Version, p.Publisher, p.InstallDate,
			p.SizeBytes, p.Source, p.ID)
	}, nil)
}

func (s *DB) insertInventoryChanges(ctx context.Context, tx *sql.Tx, deviceID int64, cs []core.InventoryChange) error {
	const op = "save inventory: inserting changes"
	if len(cs) == 0 {
		return nil
	}
	if s.dialect == Postgres {
		n := len(cs)
		ats := make([]int64, n)
		parts, kinds, items, olds, news := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		for i, c := range cs {
			ats[i] = ms(orNow(c.At))
			parts[i], kinds[i], items[i], olds[i], news[i] = c.Part, c.Kind, c.Item, c.Old, c.New
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO inventory_changes (device_id, at, part, kind, item, old, new)
			SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
			deviceID, ats, parts, kinds, items, olds, news)
		return s.wrap(op, err)
	}
	return s.chunked(ctx, tx, op, len(cs), sqliteChunk, func(n int) string {
		return `INSERT INTO inventory_changes (device_id, at, part, kind, item, old, new) VALUES ` + valuesSQL(n, 7)
	}, func(args []any, i int) []any {
		c := cs[i]
		return append(args, deviceID, ms(orNow(c.At)), c.Part, c.Kind, c.Item, c.Old, c.New)
	}, nil)
}

// ForgetInventory drops the device's inventory and program rows; its
// change history stays. Forgetting what is not stored is no error.
func (s *DB) ForgetInventory(ctx context.Context, deviceID int64) error {
	const op = "forget inventory"
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM inventory_programs WHERE device_id = $1`, deviceID); err != nil {
			return s.wrap(op, err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM device_inventory WHERE device_id = $1`, deviceID); err != nil {
			return s.wrap(op, err)
		}
		return s.refreshSearch(ctx, tx, deviceID)
	})
}

// ListInventoryChanges returns a device's changes newest first, IDs below
// before (0: all), at most limit (≤ 0: all).
func (s *DB) ListInventoryChanges(ctx context.Context, deviceID int64, before int64, limit int) ([]core.InventoryChange, error) {
	const op = "list inventory changes"
	if before <= 0 {
		before = math.MaxInt64
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, part, kind, item, old, new FROM inventory_changes
		WHERE device_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, deviceID, before, limitOrAll(limit))
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.InventoryChange{}
	for rows.Next() {
		c := core.InventoryChange{DeviceID: deviceID}
		var at int64
		if err := rows.Scan(&c.ID, &at, &c.Part, &c.Kind, &c.Item, &c.Old, &c.New); err != nil {
			return nil, s.wrap(op, err)
		}
		c.At = fromMS(at)
		out = append(out, c)
	}
	return out, s.wrap(op, rows.Err())
}

// likeContains is a LIKE pattern (with ESCAPE '\') matching s anywhere.
func likeContains(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// clientFilter appends " AND col IN ($n, …)" for ids to where and the IDs
// to args; nothing for no IDs.
func clientFilter(where *strings.Builder, args []any, col string, ids []int64) []any {
	if len(ids) == 0 {
		return args
	}
	where.WriteString(" AND " + col + " IN (")
	for i, id := range ids {
		if i > 0 {
			where.WriteString(", ")
		}
		args = append(args, id)
		where.WriteString("$" + strconv.Itoa(len(args)))
	}
	where.WriteString(")")
	return args
}

// inventoryDevices joins a table aliased d's devices to their site and
// client; retired devices are no longer part of the fleet.
const inventoryDevices = ` JOIN devices d ON d.id = %s.device_id
	JOIN sites st ON st.id = d.site_id
	JOIN clients c ON c.id = st.client_id
	WHERE d.state <> '` + core.DeviceRetired + `'`

// SearchSoftware finds programs whose name contains q.Name (any case)
// through software_names, so that it reads only the matching programs'
// rows; ordered by client, hostname and program.
func (s *DB) SearchSoftware(ctx context.Context, q core.SoftwareQuery) ([]core.SoftwareHit, error) {
	const op = "search software"
	var where strings.Builder
	where.WriteString(fmt.Sprintf(inventoryDevices, "p"))
	where.WriteString(` AND p.name_id IN (SELECT id FROM software_names WHERE name_lower LIKE $1 ESCAPE '\')`)
	args := clientFilter(&where, []any{likeContains(strings.ToLower(q.Name))}, "st.client_id", q.ClientIDs)
	args = append(args, limitOrAll(q.Limit))
	rows, err := s.db.QueryContext(ctx, `SELECT p.device_id, d.hostname, st.client_id, c.name, p.name, p.version,
		p.publisher, p.install_date, p.size_bytes, p.source, p.program_id
		FROM inventory_programs p`+where.String()+`
		ORDER BY c.name, d.hostname, p.device_id, p.name, p.version LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.SoftwareHit{}
	for rows.Next() {
		var h core.SoftwareHit
		p := &h.Program
		if err := rows.Scan(&h.DeviceID, &h.Hostname, &h.ClientID, &h.ClientName, &p.Name, &p.Version,
			&p.Publisher, &p.InstallDate, &p.SizeBytes, &p.Source, &p.ID); err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, h)
	}
	return out, s.wrap(op, rows.Err())
}

// SearchInventories returns the summaries of the devices q matches,
// ordered by client and hostname. A device whose memory is unknown (0)
// never matches MemoryBelow.
func (s *DB) SearchInventories(ctx context.Context, q core.DeviceQuery) ([]core.InventorySummary, error) {
	const op = "search inventories"
	var where strings.Builder
	where.WriteString(fmt.Sprintf(inventoryDevices, "i"))
	var args []any
	cond := func(sql string, arg any) {
		args = append(args, arg)
		where.WriteString(" AND " + strings.ReplaceAll(sql, "$?", "$"+strconv.Itoa(len(args))))
	}
	if q.OS != "" {
		cond(`lower(i.os_name) LIKE $? ESCAPE '\'`, likeContains(strings.ToLower(q.OS)))
	}
	if q.MemoryBelow > 0 {
		cond(`i.memory_bytes > 0 AND i.memory_bytes < $?`, clampInt64(q.MemoryBelow))
	}
	if q.BatteryBelow > 0 {
		cond(`i.battery_health > 0 AND i.battery_health < $?`, q.BatteryBelow)
	}
	if q.Manufacturer != "" {
		cond(`lower(i.manufacturer) LIKE $? ESCAPE '\'`, likeContains(strings.ToLower(q.Manufacturer)))
	}
	args = clientFilter(&where, args, "st.client_id", q.ClientIDs)
	args = append(args, limitOrAll(q.Limit))
	rows, err := s.db.QueryContext(ctx, `SELECT i.device_id, d.hostname, st.client_id, c.name, d.os, i.os_name,
		i.os_version, i.os_build, i.manufacturer, i.model, i.serial, i.cpu_model, i.memory_bytes, i.disk_bytes,
		i.battery_health, i.programs, i.received_at
		FROM device_inventory i`+where.String()+`
		ORDER BY c.name, d.hostname, i.device_id LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.InventorySummary{}
	for rows.Next() {
		var v core.InventorySummary
		var mem, disk, at int64
		if err := rows.Scan(&v.DeviceID, &v.Hostname, &v.ClientID, &v.ClientName, &v.OS, &v.OSName, &v.OSVersion,
			&v.OSBuild, &v.Manufacturer, &v.Model, &v.Serial, &v.CPUModel, &mem, &disk, &v.BatteryHealth,
			&v.Programs, &at); err != nil {
			return nil, s.wrap(op, err)
		}
		v.MemoryBytes, v.DiskBytes, v.ReceivedAt = uint64(mem), uint64(disk), fromMS(at)
		out = append(out, v)
	}
	return out, s.wrap(op, rows.Err())
}
