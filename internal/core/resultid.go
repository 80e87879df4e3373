package core

import "github.com/google/uuid"

// NewResultID returns a new result ID: a UUID of version 7, whose leading
// bits are the time, so that IDs stored in a B-tree (the store's
// exactly-once index) append at its right edge instead of landing on
// random pages.
func NewResultID() string {
	return uuid.Must(uuid.NewV7()).String()
}
