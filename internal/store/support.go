package store

import (
	"context"
	"errors"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Placeholder until the support store lands (issue 20): every method
// fails, so nothing can mistake it for a working store.

var errSupportStore = errors.New("support store: not built yet")

func (s *DB) GetBranding(ctx context.Context, clientID int64) (core.Branding, error) {
	return core.Branding{}, errSupportStore
}
func (s *DB) SetBranding(ctx context.Context, b core.Branding) error { return errSupportStore }
func (s *DB) SaveSupportRequest(ctx context.Context, r *core.SupportRequest, screenshot []byte, outbox []core.OutboxItem) (bool, error) {
	return false, errSupportStore
}
func (s *DB) GetSupportRequest(ctx context.Context, id int64) (core.SupportRequest, error) {
	return core.SupportRequest{}, errSupportStore
}
func (s *DB) SupportScreenshot(ctx context.Context, id int64) ([]byte, error) {
	return nil, errSupportStore
}
func (s *DB) ListSupportRequests(ctx context.Context, f core.SupportFilter) ([]core.SupportRequest, int, error) {
	return nil, 0, errSupportStore
}
func (s *DB) UpdateSupportRequest(ctx context.Context, id int64, u core.SupportUpdate) (core.SupportRequest, error) {
	return core.SupportRequest{}, errSupportStore
}
func (s *DB) DeviceSupportRequests(ctx context.Context, deviceID int64, since time.Time, limit int) ([]core.SupportRequest, error) {
	return nil, errSupportStore
}
