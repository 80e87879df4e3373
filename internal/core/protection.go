package core

import "context"

// ProtectionStore reads the check states behind the dashboard's protection
// overview (antivirus and backup) for many devices at once, so the overview
// costs one query instead of one per device.
type ProtectionStore interface {
	// ListCheckStatesNamed returns the current state of every check named
	// one of names on the given devices (nil: every device), ordered by
	// device ID, name and key. Devices of every state and client are
	// included: callers filter by scope. No names yields no rows.
	ListCheckStatesNamed(ctx context.Context, devices []int64, names ...string) ([]CheckState, error)
}
