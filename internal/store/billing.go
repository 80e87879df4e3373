package store

import (
	"context"
	"errors"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Contracts, time entries and billing runs (issue 22, migration
// 0036_billing). Placeholders until the store lands.

var errBillingTODO = errors.New("billing store: not implemented yet")

func (s *DB) ListContracts(ctx context.Context, clientID int64) ([]core.Contract, error) {
	return nil, errBillingTODO
}
func (s *DB) GetContract(ctx context.Context, id int64) (core.Contract, error) {
	return core.Contract{}, errBillingTODO
}
func (s *DB) PutContract(ctx context.Context, c *core.Contract) error { return errBillingTODO }
func (s *DB) DeleteContract(ctx context.Context, id int64) error      { return errBillingTODO }
func (s *DB) ListBillingDevices(ctx context.Context, clientID int64, until time.Time) ([]core.BillingDevice, error) {
	return nil, errBillingTODO
}
func (s *DB) CreateTimeEntry(ctx context.Context, e *core.TimeEntry) error { return errBillingTODO }
func (s *DB) UpdateTimeEntry(ctx context.Context, e *core.TimeEntry) error { return errBillingTODO }
func (s *DB) GetTimeEntry(ctx context.Context, id int64) (core.TimeEntry, error) {
	return core.TimeEntry{}, errBillingTODO
}
func (s *DB) DeleteTimeEntry(ctx context.Context, id int64) error { return errBillingTODO }
func (s *DB) ListTimeEntries(ctx context.Context, q core.TimeQuery) ([]core.TimeEntry, error) {
	return nil, errBillingTODO
}
func (s *DB) CreateBillingRun(ctx context.Context, r *core.BillingRun) error { return errBillingTODO }
func (s *DB) GetBillingRun(ctx context.Context, id int64) (core.BillingRun, error) {
	return core.BillingRun{}, errBillingTODO
}
func (s *DB) ListBillingRuns(ctx context.Context, limit int) ([]core.BillingRun, error) {
	return nil, errBillingTODO
}
