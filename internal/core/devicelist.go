package core

import (
	"context"
	"time"
)

// DeviceListQuery selects one page of the fleet's device list (the dashboard's
// home page and GET /api/v1/devices). Every filter is optional; filters
// combine with AND, the values of one multi-valued filter with OR.
type DeviceListQuery struct {
	// Search matches case-insensitively anywhere in the hostname, the
	// last logged-on user, an IP address, the serial number or a tag.
	Search      string
	Statuses    []Status // worst check status is one of these
	Online      *bool    // nil: online and offline
	OS          []string // GOOS values
	ClientIDs   []int64
	SiteIDs     []int64
	Roles       []string
	Tags        []string
	Maintenance *bool // nil: either; true: in a maintenance window now
	Retired     bool  // include retired devices (hidden by default)

	// Scope limits the result to the user's clients. The service sets it
	// from the user; callers never do.
	Scope Scope
	// MaintenanceIDs are the devices in a maintenance window now, which the
	// service works out for the Maintenance filter and DeviceRow.Maintenance;
	// MaintenanceSiteIDs and MaintenanceClientIDs the sites and clients a
	// window covers as a whole (their devices are in maintenance too).
	MaintenanceIDs       []int64
	MaintenanceSiteIDs   []int64
	MaintenanceClientIDs []int64
	// Now and OnlineWindow decide Online (LastSeen within OnlineWindow of
	// Now); the service sets both. A zero OnlineWindow is the default
	// heartbeat's (OnlineWindow(0)).
	Now          time.Time
	OnlineWindow time.Duration

	Sort DeviceSort
	Desc bool
	// Limit is the page size; 0 returns every matching device (the unpaged
	// behaviour a client must ask for).
	Limit int
	// Cursor continues after the last row of a previous page (DevicePage.Next);
	// opaque to callers.
	Cursor string
}

// OnlineSince is the earliest last contact of a device online at q.Now.
func (q DeviceListQuery) OnlineSince() time.Time {
	w := q.OnlineWindow
	if w <= 0 {
		w = OnlineWindow(0)
	}
	return q.Now.Add(-w)
}

// DeviceSort is a sortable column of the device list.
type DeviceSort string

// The device list's sort orders; every one ends with the device ID so
// pages are stable.
const (
	SortName     DeviceSort = "name" // default
	SortClient   DeviceSort = "client"
	SortSite     DeviceSort = "site"
	SortOS       DeviceSort = "os"
	SortStatus   DeviceSort = "status" // worst first when Desc
	SortLastSeen DeviceSort = "last_seen"
	SortAgent    DeviceSort = "agent_version"
)

// DeviceSorts lists the sort orders a query may name.
var DeviceSorts = []DeviceSort{SortName, SortClient, SortSite, SortOS, SortStatus, SortLastSeen, SortAgent}

// DeviceRow is one device of the list with what the list shows and
// searches beyond core.Device (from the device's last inventory).
type DeviceRow struct {
	Device
	Online      bool     `json:"online"`
	User        string   `json:"user,omitempty"` // last logged-on user
	IPs         []string `json:"ips,omitempty"`
	Serial      string   `json:"serial,omitempty"`
	Maintenance bool     `json:"maintenance"`
}

// DevicePage is one page of the device list.
type DevicePage struct {
	Devices []DeviceRow `json:"devices"`
	// Next is the cursor of the following page; "" on the last page.
	Next string `json:"next,omitempty"`
	// Total counts every device matching the query (all pages).
	Total int `json:"total"`
	// Counts are the matching devices per client and site (all pages).
	Counts []DeviceCount `json:"counts"`
}

// DeviceCount counts one site's matching devices.
type DeviceCount struct {
	ClientID   int64  `json:"client_id"`
	ClientName string `json:"client_name"`
	SiteID     int64  `json:"site_id"`
	SiteName   string `json:"site_name"`
	Devices    int    `json:"devices"`
	Failing    int    `json:"failing"`
	Warning    int    `json:"warning"`
	Offline    int    `json:"offline"`
}

// DeviceListStore answers device list queries.
type DeviceListStore interface {
	QueryDevices(ctx context.Context, q DeviceListQuery) (DevicePage, error)
}
