package report

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/alert"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Store is what reports read and write.
type Store interface {
	core.ReportStore
	core.SettingStore
	ListClients(ctx context.Context) ([]core.Client, error)
	GetClient(ctx context.Context, id int64) (core.Client, error)
	ListDevices(ctx context.Context) ([]core.Device, error)
	ListCheckStates(ctx context.Context, deviceID int64) ([]core.CheckState, error)
	ListUsers(ctx context.Context) ([]core.User, error)
	PatchStatusStore
}

// maxResults bounds the event-log results one report reads (a check run
// every minute all day is 1440 per device); older ones beyond it are left
// out.
const maxResults = 20000

// Env is what every report of one run shares: the alert settings' time
// zone and offline thresholds, and the dashboard's URL.
type Env struct {
	Location                          *time.Location
	OfflineServer, OfflineWorkstation time.Duration
	ServerURL                         string
	MailReady                         bool // a mail server is configured (alert.Settings.MailReady)
}

// LoadEnv reads the alert settings and the server URL.
func LoadEnv(ctx context.Context, st Store) (Env, error) {
	s, err := alert.LoadSettings(ctx, st)
	if err != nil {
		return Env{}, err
	}
	loc, err := core.LoadZone(s.OfficeHours.TimeZone)
	if err != nil {
		return Env{}, fmt.Errorf("report time zone %q: %w", s.OfficeHours.TimeZone, err)
	}
	url, err := st.GetSetting(ctx, alert.SettingServerURL)
	if err != nil && !errors.Is(err, core.ErrNotFound) {
		return Env{}, fmt.Errorf("reading the server URL: %w", err)
	}
	return Env{Location: loc, OfflineServer: s.OfflineAfterServer.D(), OfflineWorkstation: s.OfflineAfterWorkstation.D(),
		ServerURL: url, MailReady: s.MailReady()}, nil
}

// Load reads client c's data for the Window before until. devices are
// every device (ListDevices), so that a run over many clients lists them
// once; nil reads them.
func Load(ctx context.Context, st Store, env Env, c core.Client, devices []core.Device, until time.Time) (Data, error) {
	d := Data{Client: c, Since: until.Add(-Window), Until: until, Location: env.Location,
		OfflineServer: env.OfflineServer, OfflineWorkstation: env.OfflineWorkstation, ServerURL: env.ServerURL,
		States: map[int64][]core.CheckState{}}
	if devices == nil {
		var err error
		if devices, err = st.ListDevices(ctx); err != nil {
			return d, fmt.Errorf("listing devices: %w", err)
		}
	}
	for _, dev := range devices {
		if dev.ClientID == c.ID && dev.State != core.DeviceRetired {
			d.Devices = append(d.Devices, dev)
		}
	}
	var err error
	if d.Failures, err = st.ListClientFailures(ctx, c.ID, d.Since, until); err != nil {
		return d, fmt.Errorf("reading failed checks of client %d: %w", c.ID, err)
	}
	q := core.ResultQuery{ClientID: c.ID, Since: d.Since, Until: until, Names: []string{EventCheck}, Limit: maxResults}
	if d.Events, err = st.ListClientResults(ctx, q); err != nil {
		return d, fmt.Errorf("reading critical events of client %d: %w", c.ID, err)
	}
	for _, f := range d.Failures {
		if _, ok := d.States[f.DeviceID]; ok || f.Check == EventCheck {
			continue
		}
		if d.States[f.DeviceID], err = st.ListCheckStates(ctx, f.DeviceID); err != nil {
			return d, fmt.Errorf("reading check states of device %d: %w", f.DeviceID, err)
		}
	}
	if d.Outages, err = st.ListClientOutages(ctx, c.ID, d.Since, until); err != nil {
		return d, fmt.Errorf("reading outages of client %d: %w", c.ID, err)
	}
	if err := loadPatches(ctx, st, &d); err != nil {
		return d, err
	}
	return d, nil
}
