package store

import "context"

// SingletonKey exposes a job's advisory lock key to the leader test.
var SingletonKey = singletonKey

// Channel exposes the NOTIFY channel to the listener test.
func (s *DB) Channel(ctx context.Context) (string, error) { return s.channel(ctx, s.db) }
