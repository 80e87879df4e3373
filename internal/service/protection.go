package service

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Check names the protection overview reads: the names of the built-in
// templates' entries (a policy entry's name is its results' check name).
const (
	AntivirusCheck = "antivirus"
	BackupCheck    = "backup"
)

// ProtectionItem is one check instance's current state. Value is the
// antivirus signature age in days ("d") or the hours since the last
// successful backup ("h").
type ProtectionItem struct {
	Key       string      `json:"key"`
	Status    core.Status `json:"status"`
	Value     *float64    `json:"value,omitempty"`
	Unit      string      `json:"unit,omitempty"`
	Message   core.Text   `json:"message"`
	CheckedAt time.Time   `json:"checked_at"`
}

// Protection is a device's antivirus or backup: Monitored is false when the
// device has no such check state, Status is the worst of Items (worst first).
type Protection struct {
	Monitored bool             `json:"monitored"`
	Status    core.Status      `json:"status"`
	Items     []ProtectionItem `json:"items"`
}

// Current says whether the device is monitored and OK.
func (p Protection) Current() bool { return p.Monitored && p.Status == core.StatusOK }

// Top is the worst item (zero when not monitored).
func (p Protection) Top() ProtectionItem {
	if len(p.Items) == 0 {
		return ProtectionItem{}
	}
	return p.Items[0]
}

// DeviceProtection is one device's antivirus and backup at a glance.
type DeviceProtection struct {
	DeviceID   int64      `json:"device_id"`
	Hostname   string     `json:"hostname"`
	ClientID   int64      `json:"client_id"`
	ClientName string     `json:"client_name"`
	SiteName   string     `json:"site_name"`
	Online     bool       `json:"online"`
	Antivirus  Protection `json:"antivirus"`
	Backup     Protection `json:"backup"`
	// Current: antivirus and backup both monitored and OK.
	Current bool `json:"current"`
}

// Protection returns antivirus and backup of every device ctx's user may
// see (retired ones excluded), of one client if clientID is not 0 (an
// unknown client or one outside the scope is core.ErrNotFound), ordered by
// client and host name. It reads all states in one store query.
func (s *Service) Protection(ctx context.Context, u core.User, clientID int64) ([]DeviceProtection, error) {
	if clientID != 0 {
		if _, err := s.GetClient(ctx, u, clientID); err != nil {
			return nil, err
		}
	}
	ds, err := s.ListDevicesFor(ctx, u, DeviceFilter{ClientID: clientID})
	if err != nil {
		return nil, err
	}
	return s.ProtectionOf(ctx, ds)
}

// maxNamedDevices is the most devices ProtectionOf names in its query.
const maxNamedDevices = 1000

// ProtectionOf returns antivirus and backup of the devices ds, which must
// come from the Service's scope-filtered listings (the dashboard's overview
// reuses the devices it has already listed), in one store query.
func (s *Service) ProtectionOf(ctx context.Context, ds []Device) ([]DeviceProtection, error) {
	// A page of devices asks for its own; a whole fleet reads all states
	// at once rather than naming thousands of IDs in one statement.
	var ids []int64
	if len(ds) <= maxNamedDevices {
		ids = make([]int64, len(ds))
		for i, d := range ds {
			ids[i] = d.ID
		}
	}
	states, err := s.store.ListCheckStatesNamed(ctx, ids, AntivirusCheck, BackupCheck)
	if err != nil {
		return nil, fmt.Errorf("listing protection states: %w", err)
	}
	byDevice := map[int64][]core.CheckState{}
	for _, c := range states {
		byDevice[c.DeviceID] = append(byDevice[c.DeviceID], c)
	}
	out := make([]DeviceProtection, 0, len(ds))
	for _, d := range ds {
		var av, bk []core.CheckState
		for _, c := range byDevice[d.ID] {
			if c.Name == AntivirusCheck {
				av = append(av, c)
			} else {
				bk = append(bk, c)
			}
		}
		p := DeviceProtection{
			DeviceID: d.ID, Hostname: d.Hostname, ClientID: d.ClientID, ClientName: d.ClientName,
			SiteName: d.SiteName, Online: d.Online, Antivirus: protection(av), Backup: protection(bk),
		}
		p.Current = p.Antivirus.Current() && p.Backup.Current()
		out = append(out, p)
	}
	slices.SortStableFunc(out, func(a, b DeviceProtection) int {
		if a.ClientName != b.ClientName {
			return strings.Compare(a.ClientName, b.ClientName)
		}
		return strings.Compare(a.Hostname, b.Hostname)
	})
	return out, nil
}

// protection summarizes states, worst first. Unlike core.Worst, a check
// that is only "unsupported" is not OK here: it protects nothing.
func protection(cs []core.CheckState) Protection {
	p := Protection{Items: []ProtectionItem{}}
	if len(cs) == 0 {
		p.Status = core.StatusUnknown
		return p
	}
	p.Monitored = true
	for _, c := range cs {
		p.Items = append(p.Items, ProtectionItem{Key: c.Key, Status: c.Status, Value: c.Value, Unit: c.Unit, Message: c.Message, CheckedAt: c.At})
	}
	rank := func(s core.Status) int {
		if s == core.StatusUnsupported {
			return 2 // between ok (1) and unknown (2): not protecting, but no alarm
		}
		return s.Severity()
	}
	slices.SortStableFunc(p.Items, func(a, b ProtectionItem) int { return rank(b.Status) - rank(a.Status) })
	p.Status = p.Items[0].Status
	return p
}
