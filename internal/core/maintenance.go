package core

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Maintenance recurrences.
const (
	RepeatOnce    = ""        // one period, Start to End
	RepeatDaily   = "daily"   // every day From–To
	RepeatWeekly  = "weekly"  // on Weekdays From–To
	RepeatMonthly = "monthly" // on MonthDay From–To
)

// DefaultMaintenanceZone is the time zone of recurring windows without one.
const DefaultMaintenanceZone = "Europe/Berlin"

// Maintenance is a maintenance window of a device, a site (its devices) or a
// client (its sites' devices): checks still run and are recorded, but no
// notification is sent while it is active (see internal/alert).
type Maintenance struct {
	ID       int64  `json:"id"`
	Scope    string `json:"scope"` // LevelClient, LevelSite or LevelDevice
	TargetID int64  `json:"target_id"`
	Title    string `json:"title"`
	// Start and End bound a one-off window. A recurring window applies
	// from Start (and until Until, if set) to the periods From–To local
	// time in TimeZone; To at or before From ends on the next day.
	Start    time.Time  `json:"start"`
	End      *time.Time `json:"end,omitempty"`
	Repeat   string     `json:"repeat,omitempty"`   // Repeat*
	Weekdays []int      `json:"weekdays,omitempty"` // weekly: 0 = Sunday … 6
	// MonthDay is the day of a monthly window; in a shorter month it falls
	// on the month's last day (31 means "the last day").
	MonthDay  int        `json:"month_day,omitempty"`
	From      string     `json:"from,omitempty"` // "HH:MM"
	To        string     `json:"to,omitempty"`   // "HH:MM"
	TimeZone  string     `json:"timezone,omitempty"`
	Until     *time.Time `json:"until,omitempty"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	// Filled by listings: the client the target belongs to (0 if the
	// target is gone) and the target's name.
	ClientID   int64  `json:"client_id"`
	TargetName string `json:"target_name,omitempty"`
}

// Covers reports whether the window's scope includes the device.
func (m Maintenance) Covers(d Device) bool {
	switch m.Scope {
	case LevelDevice:
		return m.TargetID == d.ID
	case LevelSite:
		return m.TargetID == d.SiteID
	case LevelClient:
		return m.TargetID == d.ClientID
	}
	return false
}

// ParseHM parses "HH:MM" (24 h) into minutes after midnight.
func ParseHM(s string) (int, error) {
	bad := len(s) != 5 || s[2] != ':'
	for i := 0; !bad && i < 5; i++ {
		bad = i != 2 && (s[i] < '0' || s[i] > '9')
	}
	if bad {
		return 0, fmt.Errorf("time %q is not HH:MM", s)
	}
	h, m := int(s[0]-'0')*10+int(s[1]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	if h > 23 || m > 59 {
		return 0, fmt.Errorf("time %q is not HH:MM", s)
	}
	return h*60 + m, nil
}

// ActiveAt reports whether the window is active at t. Recurring periods
// follow the local wall clock of TimeZone, so a window 01:00–05:00 lasts
// three hours on the night clocks go forward and five when they go back.
// A window whose time zone or times do not parse is never active (they
// are validated when it is saved).
func (m Maintenance) ActiveAt(t time.Time) bool {
	if t.Before(m.Start) || (m.Until != nil && !t.Before(*m.Until)) {
		return false
	}
	if m.Repeat == RepeatOnce {
		return m.End != nil && t.Before(*m.End)
	}
	loc, err := maintenanceZone(m.TimeZone)
	if err != nil {
		return false
	}
	from, err1 := ParseHM(m.From)
	to, err2 := ParseHM(m.To)
	if err1 != nil || err2 != nil {
		return false
	}
	lt := t.In(loc)
	// A period starting yesterday may still run (overnight windows).
	for back := 0; back <= 1; back++ {
		y, mo, d := lt.Date()
		day := time.Date(y, mo, d-back, 0, 0, 0, 0, loc)
		if !m.onDay(day) {
			continue
		}
		y, mo, d = day.Date()
		start := time.Date(y, mo, d, from/60, from%60, 0, 0, loc)
		end := time.Date(y, mo, d, to/60, to%60, 0, 0, loc)
		if to <= from {
			end = time.Date(y, mo, d+1, to/60, to%60, 0, 0, loc)
		}
		if !t.Before(start) && t.Before(end) {
			return true
		}
	}
	return false
}

// zones caches loaded time zones: time.LoadLocation reads the zone file
// each time, and the alert engine asks for every result it evaluates.
var zones sync.Map // name → *time.Location

// LoadZone is time.LoadLocation with a cache, for the hot paths that
// convert times into a configured zone (maintenance windows, messages,
// office hours).
func LoadZone(name string) (*time.Location, error) {
	if loc, ok := zones.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	zones.Store(name, loc)
	return loc, nil
}

// maintenanceZone loads a window's time zone (default Europe/Berlin).
func maintenanceZone(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultMaintenanceZone
	}
	return LoadZone(name)
}

// onDay reports whether a recurring window has a period starting on the
// local calendar day of day.
func (m Maintenance) onDay(day time.Time) bool {
	switch m.Repeat {
	case RepeatDaily:
		return true
	case RepeatWeekly:
		for _, w := range m.Weekdays {
			if time.Weekday(w) == day.Weekday() {
				return true
			}
		}
	case RepeatMonthly:
		y, mo, _ := day.Date()
		last := time.Date(y, mo+1, 0, 12, 0, 0, 0, day.Location()).Day()
		return day.Day() == min(m.MonthDay, last)
	}
	return false
}

// MaintenanceFilter selects windows for ListMaintenance; zero fields do
// not filter. DeviceID selects the windows that cover the device (its own,
// its site's and its client's), SiteID those of the site, its client and
// its devices, ClientID those of the client, its sites and devices.
type MaintenanceFilter struct {
	ClientID, SiteID, DeviceID int64
}

// MaintenanceStore keeps maintenance windows.
type MaintenanceStore interface {
	// ListMaintenance returns windows by start, newest first.
	ListMaintenance(ctx context.Context, f MaintenanceFilter) ([]Maintenance, error)
	GetMaintenance(ctx context.Context, id int64) (Maintenance, error) // ErrNotFound
	CreateMaintenance(ctx context.Context, m *Maintenance) error       // sets ID and CreatedAt
	// UpdateMaintenance replaces a window's fields except CreatedBy and
	// CreatedAt; ErrNotFound.
	UpdateMaintenance(ctx context.Context, m *Maintenance) error
	DeleteMaintenance(ctx context.Context, id int64) error // ErrNotFound
}
