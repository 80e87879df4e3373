package store

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// QueryDevices answers one page of the device list.
//
// PLACEHOLDER (issue 23 contract): filters in Go over ListDevices; the
// t-devstore branch replaces it with one SQL query with keyset paging.
func (s *DB) QueryDevices(ctx context.Context, q core.DeviceListQuery) (core.DevicePage, error) {
	ds, err := s.ListDevices(ctx)
	if err != nil {
		return core.DevicePage{}, err
	}
	search := strings.ToLower(strings.TrimSpace(q.Search))
	var rows []core.DeviceRow
	for _, d := range ds {
		online := d.Online(q.Now)
		inMaint := slices.Contains(q.MaintenanceIDs, d.ID)
		switch {
		case !q.Scope.Has(d.ClientID),
			d.State == core.DeviceRetired && !q.Retired,
			search != "" && !strings.Contains(strings.ToLower(d.Hostname), search) && !slices.Contains(d.Tags, search),
			len(q.Statuses) > 0 && !slices.Contains(q.Statuses, d.Worst),
			q.Online != nil && *q.Online != online,
			len(q.OS) > 0 && !slices.Contains(q.OS, d.OS),
			len(q.ClientIDs) > 0 && !slices.Contains(q.ClientIDs, d.ClientID),
			len(q.SiteIDs) > 0 && !slices.Contains(q.SiteIDs, d.SiteID),
			len(q.Roles) > 0 && !slices.Contains(q.Roles, d.Role),
			len(q.Tags) > 0 && !slices.ContainsFunc(q.Tags, func(t string) bool { return slices.Contains(d.Tags, t) }),
			q.Maintenance != nil && *q.Maintenance != inMaint:
			continue
		}
		rows = append(rows, core.DeviceRow{Device: d, Online: online, Maintenance: inMaint})
	}
	page := core.DevicePage{Total: len(rows)}
	start := 0
	if q.Cursor != "" {
		start, _ = strconv.Atoi(q.Cursor)
	}
	end := len(rows)
	if q.Limit > 0 && start+q.Limit < end {
		end = start + q.Limit
		page.Next = strconv.Itoa(end)
	}
	if start < end {
		page.Devices = rows[start:end]
	}
	return page, nil
}
