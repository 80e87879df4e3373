package store

import (
	"context"

	"github.com/wacht-rmm/wacht/internal/core"
)

// CreateSavedView stores a user's view; ErrConflict for a name the user
// already has (the unique index decides, so two tabs cannot both win).
func (s *DB) CreateSavedView(ctx context.Context, v *core.SavedView) error {
	v.CreatedAt = orNow(v.CreatedAt)
	err := s.db.QueryRowContext(ctx, `
		INSERT INTO saved_views (user_id, name, query, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
		v.UserID, v.Name, v.Query, ms(v.CreatedAt)).Scan(&v.ID)
	return s.wrap("create saved view", err)
}

// ListSavedViews returns a user's views by name.
func (s *DB) ListSavedViews(ctx context.Context, userID int64) ([]core.SavedView, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT id, user_id, name, query, created_at FROM saved_views WHERE user_id = $1 ORDER BY name, id`, userID)
	if err != nil {
		return nil, s.wrap("list saved views", err)
	}
	defer rows.Close()
	var out []core.SavedView
	for rows.Next() {
		var v core.SavedView
		var at int64
		if err := rows.Scan(&v.ID, &v.UserID, &v.Name, &v.Query, &at); err != nil {
			return nil, s.wrap("list saved views", err)
		}
		v.CreatedAt = fromMS(at)
		out = append(out, v)
	}
	return out, s.wrap("list saved views", rows.Err())
}

// DeleteSavedView deletes one of the user's views; another user's view is
// ErrNotFound.
func (s *DB) DeleteSavedView(ctx context.Context, userID, id int64) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM saved_views WHERE id = $1 AND user_id = $2`, id, userID)
	return s.affectedOne("delete saved view", res, err)
}
