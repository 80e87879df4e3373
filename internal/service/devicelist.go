package service

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
)

// MaxDeviceListLimit is the largest page of the device list.
const MaxDeviceListLimit = 1000

// DeviceList returns one page of the devices u may see that match q: the
// service sets q's scope, time and maintenance windows. An unknown sort, a
// limit outside 0…MaxDeviceListLimit (0: every device) or a cursor that is
// not one of this list is a *policy.ValidationError naming the field.
func (s *Service) DeviceList(ctx context.Context, u core.User, q core.DeviceListQuery) (core.DevicePage, error) {
	if err := need(u, authz.Read); err != nil {
		return core.DevicePage{}, err
	}
	if q.Sort != "" && !slices.Contains(core.DeviceSorts, q.Sort) {
		return core.DevicePage{}, fieldError("sort",
			fmt.Sprintf("unknown sort %q", q.Sort), fmt.Sprintf("unbekannte Sortierung %q", q.Sort))
	}
	if q.Limit < 0 || q.Limit > MaxDeviceListLimit {
		return core.DevicePage{}, fieldError("limit",
			fmt.Sprintf("must be between 1 and %d", MaxDeviceListLimit),
			fmt.Sprintf("muss zwischen 1 und %d liegen", MaxDeviceListLimit))
	}
	active, err := s.ActiveMaintenance(ctx)
	if err != nil {
		return core.DevicePage{}, err
	}
	q.MaintenanceIDs, q.MaintenanceSiteIDs, q.MaintenanceClientIDs = maintenanceTargets(active)
	q.Scope, q.Now, q.OnlineWindow = u.Scope, s.now(), s.onlineWindow
	p, err := s.store.QueryDevices(ctx, q)
	if errors.Is(err, core.ErrInvalid) && q.Cursor != "" {
		return core.DevicePage{}, fieldError("cursor",
			"is not a cursor of this list (sort and order must stay the same)",
			"ist kein Cursor dieser Liste (Sortierung und Reihenfolge müssen gleich bleiben)")
	}
	if err != nil {
		return core.DevicePage{}, fmt.Errorf("listing devices: %w", err)
	}
	for i := range p.Devices {
		p.Devices[i].Device = deviceFor(u, p.Devices[i].Device, p.Devices[i].Online).Device
	}
	return p, nil
}

// ActiveMaintenance returns the maintenance windows active now.
func (s *Service) ActiveMaintenance(ctx context.Context) ([]core.Maintenance, error) {
	all, err := s.store.ListMaintenance(ctx, core.MaintenanceFilter{})
	if err != nil {
		return nil, fmt.Errorf("listing maintenance windows: %w", err)
	}
	now := s.now()
	return slices.DeleteFunc(all, func(m core.Maintenance) bool { return !m.ActiveAt(now) }), nil
}

// maintenanceTargets splits windows into the devices, sites and clients
// they cover (core.Maintenance.Covers).
func maintenanceTargets(ws []core.Maintenance) (devices, sites, clients []int64) {
	for _, m := range ws {
		switch m.Scope {
		case core.LevelDevice:
			devices = append(devices, m.TargetID)
		case core.LevelSite:
			sites = append(sites, m.TargetID)
		case core.LevelClient:
			clients = append(clients, m.TargetID)
		}
	}
	return devices, sites, clients
}

// ListParam is a query parameter given repeatedly or as a comma list
// (?os=linux&os=windows, ?os=linux,windows), without empty items: the
// API's lists and the dashboard's filters (checkboxes repeat it, the tag
// field takes commas) read it alike.
func ListParam(q url.Values, name string) []string {
	var out []string
	for _, v := range q[name] {
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}
