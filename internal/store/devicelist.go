package store

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// deviceListSort is how one core.DeviceSort orders: an expression over the
// columns of deviceListRows, which is never NULL, and whether it is a
// number (else text).
type deviceListSort struct {
	expr    string
	numeric bool
}

var deviceListSorts = map[core.DeviceSort]deviceListSort{
	core.SortName:     {`lower(hostname)`, false},
	core.SortClient:   {`lower(client_name)`, false},
	core.SortSite:     {`lower(site_name)`, false},
	core.SortOS:       {`os`, false},
	core.SortStatus:   {`sev`, true},
	core.SortLastSeen: {`COALESCE(last_seen, 0)`, true},
	core.SortAgent:    {`agent_version`, false},
}

// deviceListRows is the device list before the filters on worst status,
// presence and maintenance: one row per device with its site and client,
// the effective last contact (a network device's is its probe's), the
// severity of its worst check state (the stored devices.worst, but a
// network device whose probe is offline is unknown) and whether it is
// online; a page joins the inventory summary to its own rows only, after
// sorting. %s is the WHERE clause on the base tables; $1
// is the oldest last contact (in milliseconds) that still counts as online.
const deviceListRows = `WITH base AS (
		SELECT d.id, d.site_id, s.name AS site_name, s.client_id, c.name AS client_name, d.hostname, d.os,
			d.platform, d.arch, d.machine_id, d.public_key, d.role, d.state, d.agent_version, d.enrolled_at,
			CASE WHEN n.probe_device_id IS NULL THEN d.last_seen ELSE p.last_seen END AS last_seen,
			d.duplicate_of,
			CASE WHEN n.probe_device_id IS NOT NULL AND NOT (p.state = 'active' AND COALESCE(p.last_seen, 0) > $1) THEN 2
				ELSE d.worst END AS sev
		FROM devices d
		JOIN sites s ON s.id = d.site_id
		JOIN clients c ON c.id = s.client_id
		LEFT JOIN network_devices n ON n.device_id = d.id
		LEFT JOIN devices p ON p.id = n.probe_device_id
		WHERE %s
	), dl AS (
		SELECT base.*, CASE WHEN state = 'active' AND last_seen > $1 THEN 1 ELSE 0 END AS online,
			CASE WHEN %s THEN 1 ELSE 0 END AS maint
		FROM base
	)`

// deviceListFilter is the WHERE clauses and arguments of a device list
// query; $1 is always the oldest last contact of an online device.
type deviceListFilter struct {
	base, list []string
	maint      string
	args       []any
}

// arg adds v as the next argument and returns its placeholder.
func (f *deviceListFilter) arg(v any) string {
	f.args = append(f.args, v)
	return "$" + strconv.Itoa(len(f.args))
}

// in is "col IN ($n, …)" over vs, or a false condition for none.
func in[T any](f *deviceListFilter, col string, vs []T) string {
	if len(vs) == 0 {
		return "1 = 0"
	}
	ps := make([]string, len(vs))
	for i, v := range vs {
		ps[i] = f.arg(v)
	}
	return col + " IN (" + strings.Join(ps, ", ") + ")"
}

// newDeviceListFilter turns q's filters (not its page) into SQL.
func newDeviceListFilter(q core.DeviceListQuery) *deviceListFilter {
	f := &deviceListFilter{base: []string{"1 = 1"}}
	f.arg(ms(q.OnlineSince()))
	add := func(c string) { f.base = append(f.base, c) }
	if q.Scope.Restricted {
		add(in(f, "s.client_id", q.Scope.Clients))
	}
	if !q.Retired {
		// A literal, not an argument: PostgreSQL's generic plan for
		// "state <> $n" guesses one row when nearly every device is
		// active, and then joins 10,000 devices by nested loops.
		add("d.state <> '" + core.DeviceRetired + "'")
	}
	if s := strings.ToLower(strings.TrimSpace(q.Search)); s != "" {
		add(`d.search_text LIKE ` + f.arg(likeContains(s)) + ` ESCAPE '\'`)
	}
	if len(q.OS) > 0 {
		add(in(f, "d.os", q.OS))
	}
	if len(q.ClientIDs) > 0 {
		add(in(f, "s.client_id", q.ClientIDs))
	}
	if len(q.SiteIDs) > 0 {
		add(in(f, "d.site_id", q.SiteIDs))
	}
	if len(q.Roles) > 0 {
		add(in(f, "d.role", q.Roles))
	}
	if len(q.Tags) > 0 {
		tags := make([]string, len(q.Tags))
		for i, t := range q.Tags {
			tags[i] = strings.ToLower(strings.TrimSpace(t))
		}
		add("EXISTS (SELECT 1 FROM device_tags t WHERE t.device_id = d.id AND " + in(f, "t.tag", tags) + ")")
	}
	f.maint = in(f, "id", q.MaintenanceIDs) + " OR " + in(f, "site_id", q.MaintenanceSiteIDs) + " OR " +
		in(f, "client_id", q.MaintenanceClientIDs)
	f.list = []string{"1 = 1"}
	if len(q.Statuses) > 0 {
		sevs := make([]int, len(q.Statuses))
		for i, st := range q.Statuses {
			sevs[i] = st.Severity()
		}
		f.list = append(f.list, in(f, "sev", sevs))
	}
	if q.Online != nil {
		f.list = append(f.list, "online = "+f.arg(boolInt(*q.Online)))
	}
	if q.Maintenance != nil {
		f.list = append(f.list, "maint = "+f.arg(boolInt(*q.Maintenance)))
	}
	return f
}

// with is the query's WITH clause; the list's own conditions follow in
// f.where().
func (f *deviceListFilter) with() string {
	return fmt.Sprintf(deviceListRows, strings.Join(f.base, " AND "), f.maint)
}

func (f *deviceListFilter) where() string { return " WHERE " + strings.Join(f.list, " AND ") }

// deviceCursor is a page's continuation: the sort and direction it was
// made for and the last row's sort value and ID.
type deviceCursor struct {
	Sort core.DeviceSort `json:"s"`
	Desc bool            `json:"d,omitempty"`
	Text string          `json:"t,omitempty"`
	Num  int64           `json:"n,omitempty"`
	ID   int64           `json:"i"`
}

func (c deviceCursor) encode() string {
	b, _ := json.Marshal(c) // a struct of strings and numbers always marshals
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeDeviceCursor reads a cursor made for q's sort and direction;
// anything else is core.ErrInvalid.
func decodeDeviceCursor(s string, q core.DeviceListQuery) (deviceCursor, error) {
	var c deviceCursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID <= 0 || c.Sort != q.Sort || c.Desc != q.Desc {
		return c, fmt.Errorf("store: device list cursor %.40q is not one of this list: %w", s, core.ErrInvalid)
	}
	return c, nil
}

// QueryDevices answers one page of the device list with one query for the
// page and one for the counts per site (which also make the total). Rows
// come in q.Sort order (default name), the device ID breaking ties; the
// cursor continues after the last row (keyset paging), so a device is on
// exactly one page while the fleet does not change. Unknown sorts and
// malformed cursors are core.ErrInvalid.
func (s *DB) QueryDevices(ctx context.Context, q core.DeviceListQuery) (core.DevicePage, error) {
	const op = "query devices"
	if q.Sort == "" {
		q.Sort = core.SortName
	}
	sort, ok := deviceListSorts[q.Sort]
	if !ok {
		return core.DevicePage{}, fmt.Errorf("store: %s: sort %q: %w", op, q.Sort, core.ErrInvalid)
	}
	f := newDeviceListFilter(q)
	counts, total, err := s.deviceCounts(ctx, f)
	if err != nil {
		return core.DevicePage{}, err
	}
	page := core.DevicePage{Total: total, Counts: counts, Devices: []core.DeviceRow{}}
	where, dir, cmp := f.where(), "ASC", ">"
	if q.Desc {
		dir, cmp = "DESC", "<"
	}
	if q.Cursor != "" {
		c, err := decodeDeviceCursor(q.Cursor, q)
		if err != nil {
			return core.DevicePage{}, err
		}
		var k string
		if sort.numeric {
			k = f.arg(c.Num)
		} else {
			k = f.arg(c.Text)
		}
		id := f.arg(c.ID)
		where += fmt.Sprintf(" AND (%[1]s %[2]s %[3]s OR (%[1]s = %[3]s AND id %[2]s %[4]s))", sort.expr, cmp, k, id)
	}
	fetch := limitOrAll(0)
	if q.Limit > 0 {
		fetch = int64(q.Limit) + 1 // one more tells whether a next page exists
	}
	limit := f.arg(fetch)
	rows, err := s.db.QueryContext(ctx, f.with()+`
		SELECT pg.id, site_id, site_name, client_id, client_name, hostname, os, platform, arch, machine_id, public_key,
			role, state, agent_version, enrolled_at, last_seen, duplicate_of,
			sev, online, maint, COALESCE(i.last_user, ''), COALESCE(i.ips, ''), COALESCE(i.serial, ''), k
		FROM (SELECT dl.*, `+sort.expr+` AS k FROM dl`+where+`
			ORDER BY `+sort.expr+` `+dir+`, id `+dir+` LIMIT `+limit+`) pg
		LEFT JOIN device_inventory i ON i.device_id = pg.id
		ORDER BY k `+dir+`, pg.id `+dir, f.args...)
	if err != nil {
		return core.DevicePage{}, s.wrap(op, err)
	}
	defer rows.Close()
	var last deviceCursor
	for rows.Next() {
		if q.Limit > 0 && len(page.Devices) == q.Limit {
			page.Next = last.encode() // a further row exists
			break
		}
		var r core.DeviceRow
		var sev, online, maint int
		var ips string
		last = deviceCursor{Sort: q.Sort, Desc: q.Desc}
		key := any(&last.Text)
		if sort.numeric {
			key = &last.Num
		}
		d, err := scanDevice(scanAlso{rows, []any{&sev, &online, &maint, &r.User, &ips, &r.Serial, key}})
		if err != nil {
			return core.DevicePage{}, s.wrap(op, err)
		}
		r.Device, r.Online, r.Maintenance, r.IPs = d, online == 1, maint == 1, strings.Fields(ips)
		r.Worst, last.ID = statusOfSeverity(sev), d.ID
		page.Devices = append(page.Devices, r)
	}
	if err := rows.Err(); err != nil {
		return core.DevicePage{}, s.wrap(op, err)
	}
	rows.Close()
	return page, s.fillRowTags(ctx, page.Devices, q.Limit > 0)
}

// deviceCounts counts f's devices per site, ordered by client and site
// name, and in all.
func (s *DB) deviceCounts(ctx context.Context, f *deviceListFilter) ([]core.DeviceCount, int, error) {
	const op = "count devices"
	rows, err := s.db.QueryContext(ctx, f.with()+`
		SELECT client_id, client_name, site_id, site_name, COUNT(*),
			SUM(CASE WHEN sev >= 4 THEN 1 ELSE 0 END), SUM(CASE WHEN sev = 3 THEN 1 ELSE 0 END),
			SUM(1 - online)
		FROM dl`+f.where()+`
		GROUP BY client_id, client_name, site_id, site_name
		ORDER BY lower(client_name), client_id, lower(site_name), site_id`, f.args...)
	if err != nil {
		return nil, 0, s.wrap(op, err)
	}
	defer rows.Close()
	counts, total := []core.DeviceCount{}, 0
	for rows.Next() {
		var c core.DeviceCount
		if err := rows.Scan(&c.ClientID, &c.ClientName, &c.SiteID, &c.SiteName, &c.Devices, &c.Failing,
			&c.Warning, &c.Offline); err != nil {
			return nil, 0, s.wrap(op, err)
		}
		counts, total = append(counts, c), total+c.Devices
	}
	return counts, total, s.wrap(op, rows.Err())
}

// fillRowTags sets the rows' tags: a page's by their IDs, every device's
// at once for an unpaged list.
func (s *DB) fillRowTags(ctx context.Context, rs []core.DeviceRow, paged bool) error {
	if len(rs) == 0 {
		return nil
	}
	var tags map[int64][]string
	var err error
	if paged {
		f := &deviceListFilter{}
		ids := make([]int64, len(rs))
		for i, r := range rs {
			ids[i] = r.ID
		}
		tags, err = s.tagsOf(ctx, `SELECT device_id, tag FROM device_tags WHERE `+in(f, "device_id", ids)+
			` ORDER BY device_id, tag`, f.args...)
	} else {
		tags, err = s.deviceTags(ctx, 0)
	}
	if err != nil {
		return err
	}
	for i := range rs {
		rs[i].Tags = tags[rs[i].ID]
	}
	return nil
}

// statusOfSeverity is the status with severity sev (core.Status.Severity).
func statusOfSeverity(sev int) core.Status {
	for _, st := range []core.Status{core.StatusFailure, core.StatusError, core.StatusWarning, core.StatusUnknown} {
		if st.Severity() == sev {
			return st
		}
	}
	return core.StatusOK
}

// scanAlso scans a row's columns into the destinations a scanner such as
// scanDevice names, then into more.
type scanAlso struct {
	sc   interface{ Scan(...any) error }
	more []any
}

func (s scanAlso) Scan(dest ...any) error { return s.sc.Scan(append(dest, s.more...)...) }
