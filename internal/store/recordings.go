package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// This file implements core.RecordingStore: terminal recordings and their
// compressed chunks (migration 0017_recordings).

// CreateRecording stores r's facts and sets r.ID.
func (s *DB) CreateRecording(ctx context.Context, r *core.Recording) error {
	r.StartedAt = orNow(r.StartedAt)
	err := s.db.QueryRowContext(ctx, `
		INSERT INTO terminal_recordings (device_id, user_id, actor, shell, started_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		r.DeviceID, r.UserID, r.Actor, r.Shell, ms(r.StartedAt)).Scan(&r.ID)
	return s.wrap("creating recording", err)
}

// AppendRecording stores chunk seq of recording id and its totals in one
// transaction.
func (s *DB) AppendRecording(ctx context.Context, id int64, seq int, chunk []byte, size, stored int64, truncated bool) error {
	const op = "appending to recording"
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return s.wrap(op, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE terminal_recordings SET size = $1, stored = $2, truncated = $3 WHERE id = $4`,
		size, stored, boolInt(truncated), id)
	if err != nil {
		return s.wrap(op, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: recording %d: %w", id, core.ErrNotFound)
	}
	if len(chunk) > 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recording_chunks (recording_id, seq, data) VALUES ($1, $2, $3)`,
			id, seq, chunk); err != nil {
			return s.wrap(op, err)
		}
	}
	return s.wrap(op, tx.Commit())
}

// FinishRecording sets the end of recording id.
func (s *DB) FinishRecording(ctx context.Context, id int64, ended time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE terminal_recordings SET ended_at = $1 WHERE id = $2`, ms(ended), id)
	if err != nil {
		return s.wrap("finishing recording", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: recording %d: %w", id, core.ErrNotFound)
	}
	return nil
}

// GetRecording returns the facts of recording id.
func (s *DB) GetRecording(ctx context.Context, id int64) (core.Recording, error) {
	var r core.Recording
	var started int64
	var ended sql.NullInt64
	var truncated int
	err := s.db.QueryRowContext(ctx, `
		SELECT id, device_id, user_id, actor, shell, started_at, ended_at, size, stored, truncated
		FROM terminal_recordings WHERE id = $1`, id).
		Scan(&r.ID, &r.DeviceID, &r.UserID, &r.Actor, &r.Shell, &started, &ended, &r.Size, &r.Stored, &truncated)
	if err != nil {
		return r, s.wrap(fmt.Sprintf("getting recording %d", id), err)
	}
	r.StartedAt, r.EndedAt, r.Truncated = fromMS(started), timePtr(ended), truncated != 0
	return r, nil
}

// RecordingChunks calls fn with each chunk of recording id in order, one
// row in memory at a time.
func (s *DB) RecordingChunks(ctx context.Context, id int64, fn func([]byte) error) error {
	const op = "reading recording"
	rows, err := s.db.QueryContext(ctx, `SELECT data FROM recording_chunks WHERE recording_id = $1 ORDER BY seq`, id)
	if err != nil {
		return s.wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return s.wrap(op, err)
		}
		if err := fn(b); err != nil {
			return err
		}
	}
	return s.wrap(op, rows.Err())
}

// DeleteRecordings deletes the recordings started before before, with
// their chunks.
func (s *DB) DeleteRecordings(ctx context.Context, before time.Time) (int, error) {
	const op = "deleting old recordings"
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, s.wrap(op, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM recording_chunks WHERE recording_id IN
		(SELECT id FROM terminal_recordings WHERE started_at < $1)`, ms(before)); err != nil {
		return 0, s.wrap(op, err)
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM terminal_recordings WHERE started_at < $1`, ms(before))
	if err != nil {
		return 0, s.wrap(op, err)
	}
	n, _ := res.RowsAffected()
	return int(n), s.wrap(op, tx.Commit())
}
