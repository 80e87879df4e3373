package store

import (
	"context"

	"github.com/wacht-rmm/wacht/internal/clock"
)

// Channel exposes the NOTIFY channel to the listener test.
func (s *DB) Channel(ctx context.Context) (string, error) { return s.channel(ctx, s.db) }

// SetClock makes Lead's lease run on c.
func (s *DB) SetClock(c clock.Clock) { s.clock = c }

// The lease's durations, for the leader tests.
const (
	LeaseRenew = leaseRenew
	LeaseHold  = leaseHold
	LeaseTTL   = leaseTTL
)
