package core

import (
	"context"
	"time"
)

// SavedView is a device list query a user saved under a name. Query is the
// list's URL query string ("status=failure&sort=last_seen"), so a view
// opens exactly like a bookmark of the same page.
type SavedView struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"user_id"`
	Name      string    `json:"name"`
	Query     string    `json:"query"`
	CreatedAt time.Time `json:"created_at"`
}

// SavedViewStore keeps each user's saved device list views.
type SavedViewStore interface {
	// CreateSavedView stores a view and sets its ID and CreatedAt;
	// ErrConflict if the user has a view of that name.
	CreateSavedView(ctx context.Context, v *SavedView) error
	// ListSavedViews returns a user's views by name.
	ListSavedViews(ctx context.Context, userID int64) ([]SavedView, error)
	// DeleteSavedView deletes one of the user's views; ErrNotFound if the
	// user has no view with that ID.
	DeleteSavedView(ctx context.Context, userID, id int64) error
}
