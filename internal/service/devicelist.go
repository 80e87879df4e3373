package service

import (
	"context"
	"fmt"

	"github.com/wacht-rmm/wacht/internal/core"
)

// DeviceList returns one page of the devices u may see that match q.
//
// PLACEHOLDER (issue 23 contract): the t-devstore branch validates q, fills
// MaintenanceIDs and caps Limit.
func (s *Service) DeviceList(ctx context.Context, u core.User, q core.DeviceListQuery) (core.DevicePage, error) {
	if u.ID == 0 {
		return core.DevicePage{}, core.ErrForbidden
	}
	q.Scope, q.Now = u.Scope, s.now()
	p, err := s.store.QueryDevices(ctx, q)
	if err != nil {
		return core.DevicePage{}, fmt.Errorf("listing devices: %w", err)
	}
	return p, nil
}
