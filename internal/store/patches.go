package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Patch management (issue 19): core.PatchStore. The tables are described
// in migrations/*/0032_patches.sql.
//
// A patch row's metadata comes from the devices that report it. Titles,
// articles and sizes may differ between devices (Windows Update answers in
// the device's language), so the first report's stay and later reports
// only fill in what is blank; classification, severity and CVEs are
// normalized by the agent and may be revised by the vendor, so the latest
// non-empty ones win.

// PatchAttemptDays is how long install attempts are kept (MaintainHistory).
const PatchAttemptDays = 180

const patchColumns = `p.id, p.key, p.source, p.source_id, p.version, p.title, p.kb, p.classification, p.severity,
	p.cves, p.size_bytes, p.reboot, p.released_at, p.url, p.product, p.first_seen`

// scanPatchUpdate scans patchColumns followed by more destinations.
func scanPatchUpdate(r rowScanner, p *core.Patch, more ...any) error {
	var cves string
	var released sql.NullInt64
	var first int64
	u := &p.Update
	if err := r.Scan(append([]any{&p.ID, &u.Key, &u.Source, &u.ID, &u.Version, &u.Title, &u.KB, &u.Classification,
		&u.Severity, &cves, &u.SizeBytes, &u.Reboot, &released, &u.URL, &u.Product, &first}, more...)...); err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(cves), &u.CVEs); err != nil {
		return fmt.Errorf("patch %d: cves: %w", p.ID, err)
	}
	if len(u.CVEs) == 0 {
		u.CVEs = nil
	}
	u.ReleasedAt, p.FirstSeen = timeOrZero(released), fromMS(first)
	return nil
}

// normalizeCVEs upper-cases, trims, sorts and deduplicates CVE IDs.
func normalizeCVEs(cves []string) []string {
	var out []string
	for _, c := range cves {
		if c = strings.ToUpper(strings.TrimSpace(c)); c != "" {
			out = append(out, c)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// critical reports whether u counts in DevicePatchStatus.Critical.
func critical(u core.Update) bool {
	return u.Classification == core.ClassCritical || u.Classification == core.ClassSecurity ||
		core.SeverityRank(u.Severity) >= core.SeverityRank(core.SeverityImportant)
}

// devicePatchState is the stored state of a missing update.
func devicePatchState(m core.MissingUpdate) string {
	switch {
	case m.Stuck:
		return core.DevicePatchStuck
	case m.Failures > 0:
		return core.DevicePatchFailed
	}
	return core.DevicePatchMissing
}

// idSet returns a subquery selecting the IDs ids as column value, with its
// argument: a JSON array for SQLite's json_each, a bigint[] for
// PostgreSQL (one argument whatever the number of IDs). ph is the
// argument's placeholder.
func (s *DB) idSet(ph string, ids []int64) (string, any) {
	if s.dialect == Postgres {
		if ids == nil {
			ids = []int64{}
		}
		return `(SELECT unnest(` + ph + `::bigint[]) AS value)`, ids
	}
	b, _ := json.Marshal(ids) // int64s: cannot fail
	if ids == nil {
		b = []byte("[]")
	}
	return `(SELECT value FROM json_each(` + ph + `))`, string(b)
}

// textSet is idSet for strings.
func (s *DB) textSet(ph string, vs []string) (string, any) {
	if vs == nil {
		vs = []string{}
	}
	if s.dialect == Postgres {
		return `(SELECT unnest(` + ph + `::text[]) AS value)`, vs
	}
	b, _ := json.Marshal(vs) // strings: cannot fail
	return `(SELECT value FROM json_each(` + ph + `))`, string(b)
}

// normalizeReport checks r and returns its missing updates by key (the
// last one of a key wins) and its attempts without repeats. Keys left
// empty are built from source, ID and version.
func normalizeReport(r core.PatchReport) ([]core.MissingUpdate, []core.PatchAttempt, error) {
	byKey := map[string]int{}
	var missing []core.MissingUpdate
	for _, m := range r.Missing {
		if m.Key == "" && m.Source != "" && m.ID != "" {
			m.Key = core.UpdateKey(m.Source, m.ID, m.Version)
		}
		if m.Key == "" || m.Source == "" {
			return nil, nil, fmt.Errorf("store: save patch report: update %q without key or source: %w", m.Title, core.ErrInvalid)
		}
		m.CVEs = normalizeCVEs(m.CVEs)
		if i, ok := byKey[m.Key]; ok {
			missing[i] = m
			continue
		}
		byKey[m.Key] = len(missing)
		missing = append(missing, m)
	}
	slices.SortFunc(missing, func(a, b core.MissingUpdate) int { return strings.Compare(a.Key, b.Key) })
	type attemptKey struct {
		key string
		at  int64
	}
	seen := map[attemptKey]bool{}
	var attempts []core.PatchAttempt
	for _, a := range r.Attempts {
		if a.Key == "" || a.StartedAt.IsZero() {
			return nil, nil, fmt.Errorf("store: save patch report: attempt %q without key or start: %w", a.Title, core.ErrInvalid)
		}
		k := attemptKey{a.Key, ms(a.StartedAt)}
		if seen[k] {
			continue
		}
		seen[k] = true
		attempts = append(attempts, a)
	}
	return missing, attempts, nil
}

// SavePatchReport replaces the device's missing updates and status with
// the report's, adds the attempts not stored yet and creates or completes
// the patch rows, in one transaction. A retired device's missing updates
// are not listed (its status and attempts are stored). Saving the same report again
// changes nothing. An unknown device is ErrNotFound; an update without key
// and source, or an attempt without key or start, ErrInvalid.
func (s *DB) SavePatchReport(ctx context.Context, deviceID int64, r core.PatchReport, at time.Time) error {
	const op = "save patch report"
	missing, attempts, err := normalizeReport(r)
	if err != nil {
		return err
	}
	sources, err := json.Marshal(r.Sources)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	if r.Sources == nil {
		sources = []byte("[]")
	}
	reboot, err := json.Marshal(r.Reboot)
	if err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	at = orNow(at)
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		// The status row first: it locks the device's reports against
		// each other and fails for an unknown device.
		var scanned any
		if !r.ScannedAt.IsZero() {
			scanned = ms(r.ScannedAt)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO device_patch_status (device_id, reported_at, scanned_at, sources, reboot)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (device_id) DO UPDATE SET reported_at = excluded.reported_at, scanned_at = excluded.scanned_at,
				sources = excluded.sources, reboot = excluded.reboot`,
			deviceID, ms(at), scanned, string(sources), string(reboot)); err != nil {
			return s.wrap(op, err)
		}
		ids, err := s.upsertPatches(ctx, tx, missing, at)
		if err != nil {
			return err
		}
		// A retired device is no longer part of the fleet view.
		var state string
		if err := tx.QueryRowContext(ctx, `SELECT state FROM devices WHERE id = $1`, deviceID).Scan(&state); err != nil {
			return s.wrap(op, err)
		}
		listed := missing
		if state == core.DeviceRetired {
			listed = nil
		}
		if err := s.replaceDevicePatches(ctx, tx, deviceID, listed, ids, at); err != nil {
			return err
		}
		if err := s.insertPatchAttempts(ctx, tx, deviceID, attempts); err != nil {
			return err
		}
		var crit, failed int
		var oldest any
		for _, m := range missing {
			if devicePatchState(m) != core.DevicePatchMissing {
				failed++
			}
			if critical(m.Update) {
				crit++
				if fs := ms(orAt(m.FirstSeen, at)); oldest == nil || fs < oldest.(int64) {
					oldest = fs
				}
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE device_patch_status SET missing = $2, critical = $3, failed = $4, oldest_security = $5
			WHERE device_id = $1`, deviceID, len(missing), crit, failed, oldest)
		return s.wrap(op, err)
	})
}

// orAt is t, or at if t is zero.
func orAt(t, at time.Time) time.Time {
	if t.IsZero() {
		return at
	}
	return t
}

// storedPatch is a patch row's metadata as SavePatchReport compares it.
type storedPatch struct {
	id                                                     int64
	title, kb, classification, severity, reboot, url, prod string
	cves                                                   []string
	size                                                   int64
	released                                               int64 // 0: none
}

func patchOf(u core.Update) storedPatch {
	p := storedPatch{title: u.Title, kb: u.KB, classification: u.Classification, severity: u.Severity,
		reboot: u.Reboot, url: u.URL, prod: u.Product, cves: u.CVEs, size: u.SizeBytes}
	if !u.ReleasedAt.IsZero() {
		p.released = ms(u.ReleasedAt)
	}
	return p
}

// merge returns the stored metadata completed by a report's (see the
// comment at the top).
func (p storedPatch) merge(r storedPatch) storedPatch {
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&p.title, r.title)
	fill(&p.kb, r.kb)
	fill(&p.reboot, r.reboot)
	fill(&p.url, r.url)
	fill(&p.prod, r.prod)
	if p.size == 0 {
		p.size = r.size
	}
	if p.released == 0 {
		p.released = r.released
	}
	if r.classification != "" {
		p.classification = r.classification
	}
	if r.severity != "" {
		p.severity = r.severity
	}
	if len(r.cves) > 0 {
		p.cves = r.cves
	}
	return p
}

func (p storedPatch) equal(q storedPatch) bool {
	return p.title == q.title && p.kb == q.kb && p.classification == q.classification && p.severity == q.severity &&
		p.reboot == q.reboot && p.url == q.url && p.prod == q.prod && p.size == q.size && p.released == q.released &&
		slices.Equal(p.cves, q.cves)
}

func (p storedPatch) releasedArg() any {
	if p.released == 0 {
		return nil
	}
	return p.released
}

func cvesJSON(cves []string) string {
	if len(cves) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(cves) // strings: cannot fail
	return string(b)
}

// upsertPatches creates the patch rows of missing (sorted by key, so that
// concurrent reports lock rows in one order) and completes existing ones,
// and returns their IDs by key.
func (s *DB) upsertPatches(ctx context.Context, tx *sql.Tx, missing []core.MissingUpdate, at time.Time) (map[string]int64, error) {
	const op = "save patch report: patches"
	ids := make(map[string]int64, len(missing))
	if len(missing) == 0 {
		return ids, nil
	}
	keys := make([]string, len(missing))
	for i, m := range missing {
		keys[i] = m.Key
	}
	stored, err := s.loadPatches(ctx, tx, keys)
	if err != nil {
		return nil, err
	}
	for _, m := range missing {
		rep := patchOf(m.Update)
		old, ok := stored[m.Key]
		if !ok {
			var id int64
			err := tx.QueryRowContext(ctx, `INSERT INTO patches (key, source, source_id, version, title, kb, classification,
				severity, severity_rank, cves, size_bytes, reboot, released_at, url, product, first_seen)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
				ON CONFLICT (key) DO NOTHING RETURNING id`,
				m.Key, m.Source, m.ID, m.Version, rep.title, rep.kb, rep.classification, rep.severity,
				core.SeverityRank(rep.severity), cvesJSON(rep.cves), rep.size, rep.reboot, rep.releasedArg(), rep.url,
				rep.prod, ms(at)).Scan(&id)
			if err == nil {
				ids[m.Key] = id
				if err := s.setPatchCVEs(ctx, tx, id, rep.cves, false); err != nil {
					return nil, err
				}
				continue
			}
			if err != sql.ErrNoRows {
				return nil, s.wrap(op, err)
			}
			// Another report created it since: complete that one.
			again, err := s.loadPatches(ctx, tx, []string{m.Key})
			if err != nil {
				return nil, err
			}
			if old, ok = again[m.Key]; !ok {
				return nil, fmt.Errorf("store: %s: patch %q vanished", op, m.Key)
			}
		}
		ids[m.Key] = old.id
		merged := old.merge(rep)
		if merged.equal(old) {
			continue
		}
		if _, err := tx.ExecContext(ctx, `UPDATE patches SET title = $2, kb = $3, classification = $4, severity = $5,
			severity_rank = $6, cves = $7, size_bytes = $8, reboot = $9, released_at = $10, url = $11, product = $12
			WHERE id = $1`, old.id, merged.title, merged.kb, merged.classification, merged.severity,
			core.SeverityRank(merged.severity), cvesJSON(merged.cves), merged.size, merged.reboot, merged.releasedArg(),
			merged.url, merged.prod); err != nil {
			return nil, s.wrap(op, err)
		}
		if !slices.Equal(merged.cves, old.cves) {
			if err := s.setPatchCVEs(ctx, tx, old.id, merged.cves, true); err != nil {
				return nil, err
			}
		}
	}
	return ids, nil
}

// loadPatches reads the metadata of the patches with the given keys.
func (s *DB) loadPatches(ctx context.Context, tx *sql.Tx, keys []string) (map[string]storedPatch, error) {
	const op = "save patch report: reading patches"
	set, arg := s.textSet("$1", keys)
	rows, err := tx.QueryContext(ctx, `SELECT id, key, title, kb, classification, severity, reboot, url, product, cves,
		size_bytes, released_at FROM patches WHERE key IN `+set, arg)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := make(map[string]storedPatch, len(keys))
	for rows.Next() {
		var p storedPatch
		var key, cves string
		var released sql.NullInt64
		if err := rows.Scan(&p.id, &key, &p.title, &p.kb, &p.classification, &p.severity, &p.reboot, &p.url, &p.prod,
			&cves, &p.size, &released); err != nil {
			return nil, s.wrap(op, err)
		}
		if err := json.Unmarshal([]byte(cves), &p.cves); err != nil {
			return nil, fmt.Errorf("store: %s: patch %d: cves: %w", op, p.id, err)
		}
		if len(p.cves) == 0 {
			p.cves = nil
		}
		p.released = released.Int64
		out[key] = p
	}
	return out, s.wrap(op, rows.Err())
}

// setPatchCVEs writes a patch's patch_cves rows, replacing them if replace.
func (s *DB) setPatchCVEs(ctx context.Context, tx *sql.Tx, id int64, cves []string, replace bool) error {
	const op = "save patch report: cves"
	if replace {
		if _, err := tx.ExecContext(ctx, `DELETE FROM patch_cves WHERE patch_id = $1`, id); err != nil {
			return s.wrap(op, err)
		}
	}
	if len(cves) == 0 {
		return nil
	}
	set, arg := s.textSet("$2", cves)
	_, err := tx.ExecContext(ctx, `INSERT INTO patch_cves (patch_id, cve) SELECT $1, v.value FROM `+set+` AS v`, id, arg)
	return s.wrap(op, err)
}

// devicePatchRow is a device_patches row without its device.
type devicePatchRow struct {
	patch, first                   int64
	installed, errEN, errDE, state string
	failures, stuck                int
}

// replaceDevicePatches brings the device's device_patches rows in line
// with the report: it deletes the rows of updates no longer missing,
// updates the changed ones and inserts the new ones, so that the rows of
// updates missing day after day stay untouched (on PostgreSQL: no dead
// tuples, and pages vacuum marked all-visible stay so for index-only
// scans). A missing update without a first sighting keeps the stored one,
// or starts now.
func (s *DB) replaceDevicePatches(ctx context.Context, tx *sql.Tx, deviceID int64, missing []core.MissingUpdate,
	ids map[string]int64, at time.Time) error {
	const op = "save patch report: device patches"
	stored := map[int64]devicePatchRow{}
	rows, err := tx.QueryContext(ctx, `SELECT patch_id, first_seen, installed, last_error_en, last_error_de, state, failures, stuck
		FROM device_patches WHERE device_id = $1`, deviceID)
	if err != nil {
		return s.wrap(op, err)
	}
	for rows.Next() {
		var r devicePatchRow
		if err := rows.Scan(&r.patch, &r.first, &r.installed, &r.errEN, &r.errDE, &r.state, &r.failures, &r.stuck); err != nil {
			rows.Close()
			return s.wrap(op, err)
		}
		stored[r.patch] = r
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.wrap(op, err)
	}
	var added []devicePatchRow
	keep := map[int64]bool{}
	for _, m := range missing {
		r := devicePatchRow{patch: ids[m.Key], installed: m.Installed, state: devicePatchState(m), failures: m.Failures, stuck: boolInt(m.Stuck)}
		old, ok := stored[r.patch]
		switch {
		case !m.FirstSeen.IsZero():
			r.first = ms(m.FirstSeen)
		case ok:
			r.first = old.first
		default:
			r.first = ms(at)
		}
		if m.LastError != nil {
			r.errEN, r.errDE = m.LastError.EN, m.LastError.DE
		}
		keep[r.patch] = true
		switch {
		case !ok:
			added = append(added, r)
		case r != old:
			if _, err := tx.ExecContext(ctx, `UPDATE device_patches SET first_seen = $3, installed = $4, last_error_en = $5,
				last_error_de = $6, state = $7, failures = $8, stuck = $9 WHERE device_id = $1 AND patch_id = $2`,
				deviceID, r.patch, r.first, r.installed, r.errEN, r.errDE, r.state, r.failures, r.stuck); err != nil {
				return s.wrap(op, err)
			}
		}
	}
	var gone []int64
	for id := range stored {
		if !keep[id] {
			gone = append(gone, id)
		}
	}
	if len(gone) > 0 {
		set, arg := s.idSet("$2", gone)
		if _, err := tx.ExecContext(ctx, `DELETE FROM device_patches WHERE device_id = $1 AND patch_id IN `+set, deviceID, arg); err != nil {
			return s.wrap(op, err)
		}
	}
	if len(added) == 0 {
		return nil
	}
	rs := added
	if s.dialect == Postgres {
		n := len(rs)
		patches, firsts := make([]int64, n), make([]int64, n)
		failures, stuck := make([]int64, n), make([]int64, n)
		installed, errEN, errDE, states := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		for i, r := range rs {
			patches[i], firsts[i], failures[i], stuck[i] = r.patch, r.first, int64(r.failures), int64(r.stuck)
			installed[i], errEN[i], errDE[i], states[i] = r.installed, r.errEN, r.errDE, r.state
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO device_patches (device_id, patch_id, first_seen, failures, stuck,
			installed, last_error_en, last_error_de, state)
			SELECT $1, * FROM unnest($2::bigint[], $3::bigint[], $4::int[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[])`,
			deviceID, patches, firsts, failures, stuck, installed, errEN, errDE, states)
		return s.wrap(op, err)
	}
	return s.chunked(ctx, tx, op, len(rs), sqliteChunk, func(n int) string {
		return `INSERT INTO device_patches (device_id, patch_id, first_seen, failures, stuck, installed, last_error_en,
			last_error_de, state) VALUES ` + valuesSQL(n, 9)
	}, func(args []any, i int) []any {
		r := rs[i]
		return append(args, deviceID, r.patch, r.first, r.failures, r.stuck, r.installed, r.errEN, r.errDE, r.state)
	}, nil)
}

// insertPatchAttempts adds the attempts not stored yet.
func (s *DB) insertPatchAttempts(ctx context.Context, tx *sql.Tx, deviceID int64, as []core.PatchAttempt) error {
	const op = "save patch report: attempts"
	if len(as) == 0 {
		return nil
	}
	finished := func(a core.PatchAttempt) any {
		if a.FinishedAt.IsZero() {
			return nil
		}
		return ms(a.FinishedAt)
	}
	if s.dialect == Postgres {
		n := len(as)
		starts, reboots := make([]int64, n), make([]int64, n)
		ends := make([]*int64, n)
		keys, results, codes, en, de, triggers, titles, kbs, sources := make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n)
		for i, a := range as {
			starts[i], reboots[i] = ms(a.StartedAt), int64(boolInt(a.RebootNeeded))
			if !a.FinishedAt.IsZero() {
				v := ms(a.FinishedAt)
				ends[i] = &v
			}
			keys[i], results[i], codes[i], en[i], de[i] = a.Key, a.Result, a.Code, a.Message.EN, a.Message.DE
			triggers[i], titles[i], kbs[i], sources[i] = a.Trigger, a.Title, a.KB, a.Source
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO patch_attempts (device_id, key, started_at, finished_at, result, code,
			message_en, message_de, reboot_needed, run_trigger, title, kb, source)
			SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[],
				$9::int[], $10::text[], $11::text[], $12::text[], $13::text[])
			ON CONFLICT (device_id, key, started_at) DO NOTHING`,
			deviceID, keys, starts, ends, results, codes, en, de, reboots, triggers, titles, kbs, sources)
		return s.wrap(op, err)
	}
	return s.chunked(ctx, tx, op, len(as), sqliteChunk, func(n int) string {
		return `INSERT INTO patch_attempts (device_id, key, started_at, finished_at, result, code, message_en, message_de,
			reboot_needed, run_trigger, title, kb, source) VALUES ` + valuesSQL(n, 13) + `
			ON CONFLICT (device_id, key, started_at) DO NOTHING`
	}, func(args []any, i int) []any {
		a := as[i]
		return append(args, deviceID, a.Key, ms(a.StartedAt), finished(a), a.Result, a.Code, a.Message.EN, a.Message.DE,
			boolInt(a.RebootNeeded), a.Trigger, a.Title, a.KB, a.Source)
	}, nil)
}

const patchStatusColumns = `device_id, reported_at, scanned_at, sources, reboot, missing, critical, failed, oldest_security`

func scanPatchStatus(r rowScanner) (core.DevicePatchStatus, error) {
	var st core.DevicePatchStatus
	var reported int64
	var scanned, oldest sql.NullInt64
	var sources, reboot string
	if err := r.Scan(&st.DeviceID, &reported, &scanned, &sources, &reboot, &st.Missing, &st.Critical, &st.Failed, &oldest); err != nil {
		return st, err
	}
	if err := json.Unmarshal([]byte(sources), &st.Sources); err != nil {
		return st, fmt.Errorf("device %d: patch sources: %w", st.DeviceID, err)
	}
	if err := json.Unmarshal([]byte(reboot), &st.Reboot); err != nil {
		return st, fmt.Errorf("device %d: reboot state: %w", st.DeviceID, err)
	}
	if st.Sources == nil {
		st.Sources = []core.PatchSourceStatus{}
	}
	st.ReportedAt, st.ScannedAt, st.OldestSecurity = fromMS(reported), timeOrZero(scanned), timeOrZero(oldest)
	return st, nil
}

// DevicePatchStatus returns the device's last report's status;
// ErrNotFound if it never reported.
func (s *DB) DevicePatchStatus(ctx context.Context, deviceID int64) (core.DevicePatchStatus, error) {
	st, err := scanPatchStatus(s.db.QueryRowContext(ctx, `SELECT `+patchStatusColumns+` FROM device_patch_status
		WHERE device_id = $1`, deviceID))
	return st, s.wrap("device patch status", err)
}

// ListDevicePatchStatus returns the status of the devices deviceIDs (nil:
// all) that reported, retired devices left out, by device ID.
func (s *DB) ListDevicePatchStatus(ctx context.Context, deviceIDs []int64) ([]core.DevicePatchStatus, error) {
	const op = "list device patch status"
	q := `SELECT ` + patchStatusColumns + ` FROM device_patch_status
		WHERE device_id IN (SELECT id FROM devices WHERE state <> '` + core.DeviceRetired + `')`
	var args []any
	if deviceIDs != nil {
		set, arg := s.idSet("$1", deviceIDs)
		q += ` AND device_id IN ` + set
		args = append(args, arg)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY device_id`, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.DevicePatchStatus{}
	for rows.Next() {
		st, err := scanPatchStatus(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, st)
	}
	return out, s.wrap(op, rows.Err())
}

// DevicePatches lists what the device misses, most severe first, then by
// key; Approval is left empty (the service decides it).
func (s *DB) DevicePatches(ctx context.Context, deviceID int64) ([]core.DevicePatch, error) {
	const op = "device patches"
	rows, err := s.db.QueryContext(ctx, `SELECT `+patchColumns+`, dp.installed, dp.first_seen, dp.failures, dp.stuck,
		dp.last_error_en, dp.last_error_de, dp.state
		FROM device_patches dp JOIN patches p ON p.id = dp.patch_id
		WHERE dp.device_id = $1 ORDER BY p.severity_rank DESC, p.key`, deviceID)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.DevicePatch{}
	for rows.Next() {
		var p core.Patch
		var dp core.DevicePatch
		var first int64
		var stuck int
		var en, de string
		if err := scanPatchUpdate(rows, &p, &p.Installed, &first, &dp.Failures, &stuck, &en, &de, &dp.State); err != nil {
			return nil, s.wrap(op, err)
		}
		dp.PatchID, dp.Update, dp.FirstSeen, dp.Stuck = p.ID, p.Update, fromMS(first), stuck != 0
		if en != "" || de != "" {
			dp.LastError = &core.Text{EN: en, DE: de}
		}
		out = append(out, dp)
	}
	return out, s.wrap(op, rows.Err())
}

// PatchAttempts lists the device's attempts newest first, at most limit
// (≤ 0: all).
func (s *DB) PatchAttempts(ctx context.Context, deviceID int64, limit int) ([]core.PatchAttempt, error) {
	const op = "patch attempts"
	rows, err := s.db.QueryContext(ctx, `SELECT key, source, title, kb, started_at, finished_at, result, code, message_en,
		message_de, reboot_needed, run_trigger FROM patch_attempts WHERE device_id = $1
		ORDER BY started_at DESC, id DESC LIMIT $2`, deviceID, limitOrAll(limit))
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.PatchAttempt{}
	for rows.Next() {
		var a core.PatchAttempt
		var started int64
		var finished sql.NullInt64
		var reboot int
		if err := rows.Scan(&a.Key, &a.Source, &a.Title, &a.KB, &started, &finished, &a.Result, &a.Code, &a.Message.EN,
			&a.Message.DE, &reboot, &a.Trigger); err != nil {
			return nil, s.wrap(op, err)
		}
		a.StartedAt, a.FinishedAt, a.RebootNeeded = fromMS(started), timeOrZero(finished), reboot != 0
		out = append(out, a)
	}
	return out, s.wrap(op, rows.Err())
}

// fleetDevices is the device side of the fleet aggregates: device_patches
// dp, which holds rows of the fleet's devices only (retired ones have none).
const fleetDevices = ` FROM device_patches dp WHERE 1 = 1`

// fleetAggregates counts the devices of fleetDevices, those of them that
// failed installing, and the oldest sighting; append conditions.
const fleetAggregates = `count(*) AS n,
	coalesce(sum(CASE WHEN dp.state <> '` + core.DevicePatchMissing + `' THEN 1 ELSE 0 END), 0) AS failed,
	min(dp.first_seen) AS oldest` + fleetDevices

// GetPatch returns a patch with its counts over the whole fleet (retired
// devices left out); ErrNotFound if unknown.
func (s *DB) GetPatch(ctx context.Context, id int64) (core.Patch, error) {
	var p core.Patch
	var oldest sql.NullInt64
	err := scanPatchUpdate(s.db.QueryRowContext(ctx, `SELECT `+patchColumns+`, a.n, a.failed, a.oldest
		FROM patches p, (SELECT `+fleetAggregates+` AND dp.patch_id = $1) a
		WHERE p.id = $1`, id), &p, &p.Devices, &p.Failed, &oldest)
	p.OldestMissing = timeOrZero(oldest)
	return p, s.wrap(fmt.Sprintf("get patch %d", id), err)
}

// PatchesByKey maps the keys of known patches to their IDs.
func (s *DB) PatchesByKey(ctx context.Context, keys []string) (map[string]int64, error) {
	const op = "patches by key"
	out := make(map[string]int64, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	set, arg := s.textSet("$1", keys)
	rows, err := s.db.QueryContext(ctx, `SELECT key, id FROM patches WHERE key IN `+set, arg)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var id int64
		if err := rows.Scan(&k, &id); err != nil {
			return nil, s.wrap(op, err)
		}
		out[k] = id
	}
	return out, s.wrap(op, rows.Err())
}

// ListPatches is the fleet view: the patches that at least one selected
// device misses, with how many selected devices miss them, how many of
// those failed installing, and the oldest sighting among them; ordered by
// severity rank, then devices (descending), then key; with the number of
// patches before Limit and Offset. Retired devices are left out.
func (s *DB) ListPatches(ctx context.Context, f core.PatchFilter) ([]core.Patch, int, error) {
	const op = "list patches"
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	var where strings.Builder
	if f.ClientID != 0 {
		where.WriteString(` AND dp.device_id IN (SELECT d.id FROM devices d JOIN sites st ON st.id = d.site_id
			WHERE st.client_id = ` + arg(f.ClientID) + `)`)
	}
	if f.SiteID != 0 {
		where.WriteString(` AND dp.device_id IN (SELECT id FROM devices WHERE site_id = ` + arg(f.SiteID) + `)`)
	}
	if f.DeviceIDs != nil {
		set, v := s.idSet("$"+strconv.Itoa(len(args)+1), f.DeviceIDs)
		arg(v)
		where.WriteString(` AND dp.device_id IN ` + set)
	}
	var pw []string
	if f.Source != "" {
		pw = append(pw, `source = `+arg(f.Source))
	}
	if f.Classification != "" {
		pw = append(pw, `classification = `+arg(f.Classification))
	}
	if f.MinSeverity != "" {
		pw = append(pw, `severity_rank >= `+arg(core.SeverityRank(f.MinSeverity)))
	}
	if f.CVE != "" {
		pw = append(pw, `id IN (SELECT patch_id FROM patch_cves WHERE cve = `+arg(strings.ToUpper(strings.TrimSpace(f.CVE)))+`)`)
	}
	if f.Search != "" {
		q := arg(likeContains(strings.ToLower(strings.TrimSpace(f.Search))))
		pw = append(pw, `(lower(title) LIKE `+q+` ESCAPE '\' OR lower(kb) LIKE `+q+` ESCAPE '\' OR lower(source_id) LIKE `+q+` ESCAPE '\')`)
	}
	// In the page's per-patch aggregates the patch's index range is the
	// way in; a device list is only a filter there (the unary plus keeps
	// SQLite from seeking each listed device's rows for each patch).
	devices := strings.ReplaceAll(where.String(), " dp.device_id IN ", " +dp.device_id IN ")
	if len(pw) > 0 {
		where.WriteString(` AND dp.patch_id IN (SELECT id FROM patches WHERE ` + strings.Join(pw, " AND ") + `)`)
	}
	limit, offset := arg(limitOrAll(f.Limit)), arg(int64(max(f.Offset, 0)))
	// Two steps: counting the devices per patch (which the order needs)
	// reads only patch IDs; the failures and the oldest sighting are
	// aggregated for the page's patches alone. That halves the work of a
	// page over the whole fleet (docs/benchmarks.md).
	rows, err := s.db.QueryContext(ctx, `SELECT `+patchColumns+`, t.n,
			(SELECT count(*)`+fleetDevices+devices+` AND dp.patch_id = p.id AND dp.state <> '`+core.DevicePatchMissing+`'),
			(SELECT min(dp.first_seen)`+fleetDevices+devices+` AND dp.patch_id = p.id),
			t.total
		FROM (SELECT a.patch_id, a.n, count(*) OVER () AS total
			FROM (SELECT dp.patch_id, count(*) AS n`+fleetDevices+where.String()+` GROUP BY dp.patch_id) a
			JOIN patches q ON q.id = a.patch_id
			ORDER BY q.severity_rank DESC, a.n DESC, q.key LIMIT `+limit+` OFFSET `+offset+`) t
		JOIN patches p ON p.id = t.patch_id
		ORDER BY p.severity_rank DESC, t.n DESC, p.key`, args...)
	if err != nil {
		return nil, 0, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.Patch{}
	total := 0
	for rows.Next() {
		var p core.Patch
		var oldest sql.NullInt64
		if err := scanPatchUpdate(rows, &p, &p.Devices, &p.Failed, &oldest, &total); err != nil {
			return nil, 0, s.wrap(op, err)
		}
		p.OldestMissing = timeOrZero(oldest)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, s.wrap(op, err)
	}
	if len(out) == 0 && f.Offset > 0 {
		// Past the end: count apart.
		err := s.db.QueryRowContext(ctx, `SELECT count(DISTINCT dp.patch_id)`+fleetDevices+where.String(),
			args[:len(args)-2]...).Scan(&total)
		if err != nil {
			return nil, 0, s.wrap(op, err)
		}
	}
	return out, total, nil
}

// SetPatchApproval stores or replaces a decision; ErrNotFound for an
// unknown patch.
func (s *DB) SetPatchApproval(ctx context.Context, a core.PatchApproval) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO patch_approvals (patch_id, client_id, approved, decided_by, decided_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (patch_id, client_id) DO UPDATE SET approved = excluded.approved, decided_by = excluded.decided_by,
			decided_at = excluded.decided_at`,
		a.PatchID, a.ClientID, boolInt(a.Approved), a.By, ms(orNow(a.DecidedAt)))
	return s.wrap("set patch approval", err)
}

// DeletePatchApproval removes a decision; ErrNotFound if there is none.
func (s *DB) DeletePatchApproval(ctx context.Context, patchID, clientID int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM patch_approvals WHERE patch_id = $1 AND client_id = $2`, patchID, clientID)
	return s.affectedOne("delete patch approval", res, err)
}

// PatchApprovals lists the client's decisions and the fleet-wide ones
// (ClientID 0), by patch, the fleet-wide one first.
func (s *DB) PatchApprovals(ctx context.Context, clientID int64) ([]core.PatchApproval, error) {
	const op = "patch approvals"
	rows, err := s.db.QueryContext(ctx, `SELECT patch_id, client_id, approved, decided_by, decided_at FROM patch_approvals
		WHERE client_id IN (0, $1) ORDER BY patch_id, client_id`, clientID)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.PatchApproval{}
	for rows.Next() {
		var a core.PatchApproval
		var approved int
		var at int64
		if err := rows.Scan(&a.PatchID, &a.ClientID, &approved, &a.By, &at); err != nil {
			return nil, s.wrap(op, err)
		}
		a.Approved, a.DecidedAt = approved != 0, fromMS(at)
		out = append(out, a)
	}
	return out, s.wrap(op, rows.Err())
}

// prunePatches deletes the install attempts started before attemptCutoff
// and the patches first seen before it that no device misses and no
// decision names.
func (s *DB) prunePatches(ctx context.Context, cutoff int64) (attempts, patches int64, err error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM patch_attempts WHERE started_at < $1`, cutoff)
	if err != nil {
		return 0, 0, s.wrap("history: deleting patch attempts", err)
	}
	attempts, _ = res.RowsAffected()
	res, err = s.db.ExecContext(ctx, `DELETE FROM patches WHERE first_seen < $1
		AND NOT EXISTS (SELECT 1 FROM device_patches dp WHERE dp.patch_id = patches.id)
		AND NOT EXISTS (SELECT 1 FROM patch_approvals a WHERE a.patch_id = patches.id)`, cutoff)
	if err != nil {
		return attempts, 0, s.wrap("history: deleting patches", err)
	}
	patches, _ = res.RowsAffected()
	return attempts, patches, nil
}
