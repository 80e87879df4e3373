package store

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/vercmp"
)

// Release files, rollouts and device updates (issue 21, migration
// 0035_releases). Versions order by vercmp.Compare, which SQL cannot do,
// so the lists that order by version sort in Go.

const agentFileColumns = `id, kind, version, os, arch, name, sha256, size, key_id, uploaded_at, uploaded_by, signed
	FROM agent_files`

func scanAgentFile(sc interface{ Scan(...any) error }) (core.AgentFile, error) {
	var f core.AgentFile
	var at int64
	err := sc.Scan(&f.ID, &f.Kind, &f.Version, &f.OS, &f.Arch, &f.Name, &f.SHA256, &f.Size, &f.KeyID,
		&at, &f.UploadedBy, &f.Signed)
	f.UploadedAt = fromMS(at)
	return f, err
}

// CreateAgentFile implements core.ReleaseStore. UploadedAt is now unless
// set. Kind, version, OS, architecture, name, SHA-256 and the signed
// manifest are required (ErrInvalid).
func (s *DB) CreateAgentFile(ctx context.Context, f *core.AgentFile) error {
	if f.Kind == "" || f.Version == "" || f.OS == "" || f.Arch == "" || f.Name == "" || f.SHA256 == "" ||
		f.Size < 0 || len(f.Signed) == 0 {
		return fmt.Errorf("store: create agent file: kind, version, OS, architecture, name, SHA-256 and signed manifest are required: %w", core.ErrInvalid)
	}
	at := orNow(f.UploadedAt)
	var id int64
	err := s.db.QueryRowContext(ctx, `
		INSERT INTO agent_files (kind, version, os, arch, name, sha256, size, key_id, uploaded_at, uploaded_by, signed)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		f.Kind, f.Version, f.OS, f.Arch, f.Name, f.SHA256, f.Size, f.KeyID, ms(at), f.UploadedBy, f.Signed).Scan(&id)
	if err != nil {
		return s.wrap(fmt.Sprintf("create agent file %s %s %s/%s", f.Kind, f.Version, f.OS, f.Arch), err)
	}
	f.ID, f.UploadedAt = id, at
	return nil
}

// GetAgentFile implements core.ReleaseStore; ErrNotFound.
func (s *DB) GetAgentFile(ctx context.Context, id int64) (core.AgentFile, error) {
	f, err := scanAgentFile(s.db.QueryRowContext(ctx, `SELECT `+agentFileColumns+` WHERE id = $1`, id))
	if err != nil {
		return core.AgentFile{}, s.wrap(fmt.Sprintf("reading agent file %d", id), err)
	}
	return f, nil
}

// FindAgentFile implements core.ReleaseStore.
func (s *DB) FindAgentFile(ctx context.Context, kind, version, goos, arch string) (core.AgentFile, error) {
	f, err := scanAgentFile(s.db.QueryRowContext(ctx, `SELECT `+agentFileColumns+`
		WHERE kind = $1 AND version = $2 AND os = $3 AND arch = $4`, kind, version, goos, arch))
	if err != nil {
		return core.AgentFile{}, s.wrap(fmt.Sprintf("finding agent file %s %s %s/%s", kind, version, goos, arch), err)
	}
	return f, nil
}

// ListAgentFiles implements core.ReleaseStore: newest version first (by
// vercmp.Compare), then by kind, OS, architecture and ID.
func (s *DB) ListAgentFiles(ctx context.Context) ([]core.AgentFile, error) {
	const op = "listing agent files"
	rows, err := s.db.QueryContext(ctx, `SELECT `+agentFileColumns)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.AgentFile
	for rows.Next() {
		f, err := scanAgentFile(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(op, err)
	}
	slices.SortFunc(out, func(a, b core.AgentFile) int {
		return cmp.Or(vercmp.Compare(b.Version, a.Version), cmp.Compare(a.Version, b.Version), cmp.Compare(a.Kind, b.Kind),
			cmp.Compare(a.OS, b.OS), cmp.Compare(a.Arch, b.Arch), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// activeRollout is the SQL condition of a running or paused rollout.
const activeRollout = `state IN ('` + core.RolloutRunning + `', '` + core.RolloutPaused + `')`

// DeleteAgentFile implements core.ReleaseStore.
func (s *DB) DeleteAgentFile(ctx context.Context, id int64) error {
	op := fmt.Sprintf("deleting agent file %d", id)
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		var version string
		if err := tx.QueryRowContext(ctx, `SELECT version FROM agent_files WHERE id = $1`, id).Scan(&version); err != nil {
			return s.wrap(op, err)
		}
		// One statement, so that a rollout started since the read above
		// still keeps the file.
		res, err := tx.ExecContext(ctx, `DELETE FROM agent_files WHERE id = $1 AND NOT EXISTS (
			SELECT 1 FROM rollouts WHERE version = $2 AND `+activeRollout+`)`, id, version)
		if err != nil {
			return s.wrap(op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return s.wrap(op, err)
		} else if n == 0 {
			return fmt.Errorf("store: %s: a running or paused rollout uses version %s: %w", op, version, core.ErrConflict)
		}
		return nil
	})
}

// AgentFileBlobInUse implements core.ReleaseStore.
func (s *DB) AgentFileBlobInUse(ctx context.Context, sha256 string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM agent_files WHERE sha256 = $1`, sha256).Scan(&n)
	return n > 0, s.wrap("looking up an agent file's blob", err)
}

const rolloutColumns = `id, version, state, stage, pilot_clients, pilot_percent, auto_promote, allow_downgrade,
	max_failures, watchdog_seconds, concurrency, pause_reason_en, pause_reason_de, created_by, created_at,
	updated_at, finished_at
	FROM rollouts`

func scanRollout(sc interface{ Scan(...any) error }) (core.Rollout, error) {
	var r core.Rollout
	var pilots string
	var autoPromote, downgrade int
	var created, updated int64
	var finished sql.NullInt64
	err := sc.Scan(&r.ID, &r.Version, &r.State, &r.Stage, &pilots, &r.PilotPercent, &autoPromote, &downgrade,
		&r.MaxFailures, &r.WatchdogSeconds, &r.Concurrency, &r.PauseReason.EN, &r.PauseReason.DE, &r.CreatedBy,
		&created, &updated, &finished)
	if err != nil {
		return core.Rollout{}, err
	}
	if err := json.Unmarshal([]byte(pilots), &r.PilotClients); err != nil {
		return core.Rollout{}, fmt.Errorf("rollout %d's pilot clients: %w", r.ID, err)
	}
	r.AutoPromote, r.AllowDowngrade = autoPromote != 0, downgrade != 0
	r.CreatedAt, r.UpdatedAt, r.FinishedAt = fromMS(created), fromMS(updated), timePtr(finished)
	return r, nil
}

// validRollout checks the settings the store relies on.
func validRollout(r *core.Rollout) error {
	if r.Version == "" || r.PilotPercent < 0 || r.PilotPercent > 100 || r.MaxFailures < 0 ||
		r.WatchdogSeconds < 0 || r.Concurrency < 0 {
		return fmt.Errorf("a version, a pilot percentage of 0–100 and no negative limits are required: %w", core.ErrInvalid)
	}
	return nil
}

// pilotJSON encodes the pilot clients as a JSON array ("[]" for none).
func pilotJSON(ids []int64) string {
	if len(ids) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(ids) // []int64 always encodes
	return string(b)
}

// CreateRollout implements core.ReleaseStore. The pilot ring is empty when
// r has neither pilot clients nor a pilot percentage; CreatedAt is now
// unless set, UpdatedAt the same. The unique index rollouts_one_active
// refuses a second running or paused rollout even when two servers
// create one at once.
func (s *DB) CreateRollout(ctx context.Context, r *core.Rollout) error {
	const op = "create rollout"
	if err := validRollout(r); err != nil {
		return fmt.Errorf("store: %s: %w", op, err)
	}
	stage := core.StagePilot
	if len(r.PilotClients) == 0 && r.PilotPercent == 0 {
		stage = core.StageAll
	}
	created := orNow(r.CreatedAt)
	var id int64
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		var active int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM rollouts WHERE `+activeRollout+` LIMIT 1`).Scan(&active)
		switch {
		case err == nil:
			return fmt.Errorf("store: %s: rollout %d is running or paused: %w", op, active, core.ErrConflict)
		case !errors.Is(err, sql.ErrNoRows):
			return s.wrap(op, err)
		}
		err = tx.QueryRowContext(ctx, `
			INSERT INTO rollouts (version, state, stage, pilot_clients, pilot_percent, auto_promote, allow_downgrade,
				max_failures, watchdog_seconds, concurrency, pause_reason_en, pause_reason_de, created_by, created_at,
				updated_at, finished_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '', '', $11, $12, $12, NULL) RETURNING id`,
			r.Version, core.RolloutRunning, stage, pilotJSON(r.PilotClients), r.PilotPercent, boolInt(r.AutoPromote),
			boolInt(r.AllowDowngrade), r.MaxFailures, r.WatchdogSeconds, r.Concurrency, r.CreatedBy, ms(created)).Scan(&id)
		return s.wrap(op, err)
	})
	if err != nil {
		return err
	}
	r.ID, r.State, r.Stage = id, core.RolloutRunning, stage
	r.PauseReason, r.FinishedAt = core.Text{}, nil
	r.CreatedAt, r.UpdatedAt = created, created
	return nil
}

// UpdateRollout implements core.ReleaseStore. The version, creator and
// creation time stay. Making a rollout running or paused while another
// one is is ErrConflict.
func (s *DB) UpdateRollout(ctx context.Context, r *core.Rollout) error {
	op := fmt.Sprintf("update rollout %d", r.ID)
	if r.PilotPercent < 0 || r.PilotPercent > 100 || r.MaxFailures < 0 || r.WatchdogSeconds < 0 || r.Concurrency < 0 {
		return fmt.Errorf("store: %s: a pilot percentage of 0–100 and no negative limits are required: %w", op, core.ErrInvalid)
	}
	updated := now()
	res, err := s.db.ExecContext(ctx, `
		UPDATE rollouts SET state = $2, stage = $3, pause_reason_en = $4, pause_reason_de = $5, finished_at = $6,
			pilot_clients = $7, pilot_percent = $8, auto_promote = $9, allow_downgrade = $10, max_failures = $11,
			watchdog_seconds = $12, concurrency = $13, updated_at = $14
		WHERE id = $1`,
		r.ID, r.State, r.Stage, r.PauseReason.EN, r.PauseReason.DE, msNull(r.FinishedAt),
		pilotJSON(r.PilotClients), r.PilotPercent, boolInt(r.AutoPromote), boolInt(r.AllowDowngrade), r.MaxFailures,
		r.WatchdogSeconds, r.Concurrency, ms(updated))
	if err := s.affectedOne(op, res, err); err != nil {
		return err
	}
	r.UpdatedAt = updated
	return nil
}

// GetRollout implements core.ReleaseStore; ErrNotFound.
func (s *DB) GetRollout(ctx context.Context, id int64) (core.Rollout, error) {
	r, err := scanRollout(s.db.QueryRowContext(ctx, `SELECT `+rolloutColumns+` WHERE id = $1`, id))
	if err != nil {
		return core.Rollout{}, s.wrap(fmt.Sprintf("reading rollout %d", id), err)
	}
	return r, nil
}

// ActiveRollout implements core.ReleaseStore.
func (s *DB) ActiveRollout(ctx context.Context) (core.Rollout, error) {
	r, err := scanRollout(s.db.QueryRowContext(ctx, `SELECT `+rolloutColumns+` WHERE `+activeRollout+`
		ORDER BY id DESC LIMIT 1`))
	if err != nil {
		return core.Rollout{}, s.wrap("reading the active rollout", err)
	}
	return r, nil
}

// ListRollouts implements core.ReleaseStore: newest created first; limit
// ≤ 0 is every rollout.
func (s *DB) ListRollouts(ctx context.Context, limit int) ([]core.Rollout, error) {
	const op = "listing rollouts"
	rows, err := s.db.QueryContext(ctx, `SELECT `+rolloutColumns+`
		ORDER BY created_at DESC, id DESC LIMIT $1`, limitOrAll(limit))
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.Rollout
	for rows.Next() {
		r, err := scanRollout(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, r)
	}
	return out, s.wrap(op, rows.Err())
}

// PutAgentUpdate implements core.ReleaseStore. SentAt is now unless set;
// an unknown rollout or device is ErrNotFound.
func (s *DB) PutAgentUpdate(ctx context.Context, u core.AgentUpdate) error {
	op := fmt.Sprintf("storing the update of device %d by rollout %d", u.DeviceID, u.RolloutID)
	if u.State == "" || u.ToVersion == "" {
		return fmt.Errorf("store: %s: a state and a target version are required: %w", op, core.ErrInvalid)
	}
	_, err := s.db.ExecContext(ctx, `
		INSERT INTO agent_updates (rollout_id, device_id, from_version, to_version, state, code, error_en, error_de,
			attempts, sent_at, finished_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (rollout_id, device_id) DO UPDATE SET from_version = excluded.from_version,
			to_version = excluded.to_version, state = excluded.state, code = excluded.code,
			error_en = excluded.error_en, error_de = excluded.error_de, attempts = excluded.attempts,
			sent_at = excluded.sent_at, finished_at = excluded.finished_at`,
		u.RolloutID, u.DeviceID, u.FromVersion, u.ToVersion, u.State, u.Code, u.Error.EN, u.Error.DE,
		u.Attempts, ms(orNow(u.SentAt)), msNull(u.FinishedAt))
	return s.wrap(op, err)
}

// ListAgentUpdates implements core.ReleaseStore: by hostname, then device
// ID. A rollout without updates (or an unknown one) has none.
func (s *DB) ListAgentUpdates(ctx context.Context, rolloutID int64) ([]core.AgentUpdate, error) {
	op := fmt.Sprintf("listing the updates of rollout %d", rolloutID)
	rows, err := s.db.QueryContext(ctx, `
		SELECT u.rollout_id, u.device_id, d.hostname, s.client_id, u.from_version, u.to_version, u.state, u.code,
			u.error_en, u.error_de, u.attempts, u.sent_at, u.finished_at
		FROM agent_updates u
		JOIN devices d ON d.id = u.device_id
		JOIN sites s ON s.id = d.site_id
		WHERE u.rollout_id = $1
		ORDER BY d.hostname, u.device_id`, rolloutID)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.AgentUpdate
	for rows.Next() {
		var u core.AgentUpdate
		var sent int64
		var finished sql.NullInt64
		if err := rows.Scan(&u.RolloutID, &u.DeviceID, &u.Hostname, &u.ClientID, &u.FromVersion, &u.ToVersion,
			&u.State, &u.Code, &u.Error.EN, &u.Error.DE, &u.Attempts, &sent, &finished); err != nil {
			return nil, s.wrap(op, err)
		}
		u.SentAt, u.FinishedAt = fromMS(sent), timePtr(finished)
		out = append(out, u)
	}
	return out, s.wrap(op, rows.Err())
}

// AgentVersionCounts implements core.ReleaseStore over the agent devices
// (not network devices) that are not retired: newest version first (by
// vercmp.Compare), then by OS and architecture.
func (s *DB) AgentVersionCounts(ctx context.Context) ([]core.VersionCount, error) {
	const op = "counting agent versions"
	rows, err := s.db.QueryContext(ctx, `
		SELECT agent_version, os, arch, COUNT(*) FROM devices
		WHERE kind = $1 AND state <> $2
		GROUP BY agent_version, os, arch`, core.KindAgent, core.DeviceRetired)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.VersionCount
	for rows.Next() {
		var c core.VersionCount
		if err := rows.Scan(&c.Version, &c.OS, &c.Arch, &c.Devices); err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(op, err)
	}
	slices.SortFunc(out, func(a, b core.VersionCount) int {
		return cmp.Or(vercmp.Compare(b.Version, a.Version), cmp.Compare(a.Version, b.Version),
			cmp.Compare(a.OS, b.OS), cmp.Compare(a.Arch, b.Arch))
	})
	return out, nil
}
