//go:build linux

package svcmgr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/dbus"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// The init scripts are programs the services check and actions start.
func init() { check.AllowBuiltin(initDir) }

// New talks to systemd when it runs (the same test sd_booted(3) uses),
// and to the SysV init scripts otherwise.
func New(ctx context.Context) (Manager, error) {
	if fi, err := os.Stat("/run/systemd/system"); err == nil && fi.IsDir() {
		conn, err := dbus.NewSystemConnectionContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("connecting to systemd: %w", err)
		}
		return NewSystemd(conn), nil
	}
	return NewSysV(), nil
}

// Systemd manages service units over systemd's D-Bus API.
type Systemd struct {
	conn *dbus.Conn
	// StopWait is how long a stop job may take.
	StopWait time.Duration
}

// NewSystemd manages the systemd that conn talks to.
func NewSystemd(conn *dbus.Conn) *Systemd { return &Systemd{conn: conn, StopWait: StopTimeout} }

func (m *Systemd) Kind() string { return "systemd" }

func (m *Systemd) Close() error { m.conn.Close(); return nil }

// List reads every loaded service unit and every enabled unit file.
func (m *Systemd) List(ctx context.Context) ([]Service, error) {
	names := map[string]bool{}
	units, err := m.conn.ListUnitsByPatternsContext(ctx, nil, []string{"*.service"})
	if err != nil {
		return nil, fmt.Errorf("listing units: %w", err)
	}
	for _, u := range units {
		if u.LoadState != "not-found" {
			names[u.Name] = true
		}
	}
	files, err := m.conn.ListUnitFilesByPatternsContext(ctx, []string{"enabled", "enabled-runtime"}, []string{"*.service"})
	if err != nil {
		return nil, fmt.Errorf("listing unit files: %w", err)
	}
	for _, f := range files {
		n := f.Path[strings.LastIndexByte(f.Path, '/')+1:]
		if !strings.HasSuffix(n, "@.service") { // templates run only as instances
			names[n] = true
		}
	}
	out := make([]Service, 0, len(names))
	for n := range names {
		props, err := m.props(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, unitFromProps(props))
	}
	return out, nil
}

func (m *Systemd) props(ctx context.Context, name string) (map[string]string, error) {
	up, err := m.conn.GetUnitPropertiesContext(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("reading unit %s: %w", name, err)
	}
	sp, err := m.conn.GetUnitTypePropertiesContext(ctx, name, "Service")
	if err != nil {
		return nil, fmt.Errorf("reading service %s: %w", name, err)
	}
	out := map[string]string{}
	for k, v := range up {
		out[k] = propString(v)
	}
	for _, k := range []string{"Type", "Result"} {
		if v, ok := sp[k]; ok {
			out[k] = propString(v)
		}
	}
	if out["Id"] == "" {
		out["Id"] = name
	}
	return out, nil
}

// Get reads one unit; systemd answers for any name, with LoadState
// not-found for units that do not exist.
func (m *Systemd) Get(ctx context.Context, name string) (Service, error) {
	if err := checkName(name); err != nil {
		return Service{}, err
	}
	name = unitName(name)
	up, err := m.conn.GetUnitPropertiesContext(ctx, name)
	if err != nil {
		return Service{}, fmt.Errorf("reading unit %s: %w", name, err)
	}
	if propString(up["LoadState"]) == "not-found" {
		return Service{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	props, err := m.props(ctx, name)
	if err != nil {
		return Service{}, err
	}
	return unitFromProps(props), nil
}

// job runs a start or stop job and waits for its result.
func (m *Systemd) job(ctx context.Context, verb, name string, run func(context.Context, string, string, chan<- string) (int, error)) error {
	if _, err := m.Get(ctx, name); err != nil {
		return err
	}
	name = unitName(name)
	done := make(chan string, 1)
	if _, err := run(ctx, name, "replace", done); err != nil {
		return fmt.Errorf("%s %s: %w", verb, name, err)
	}
	select {
	case r := <-done:
		switch r {
		case "done":
			return nil
		case "timeout":
			return fmt.Errorf("%s %s: %w", verb, name, ErrTimeout)
		}
		return fmt.Errorf("%s %s: job %s", verb, name, r)
	case <-ctx.Done():
		if verb == "stopping" && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return stopTimeout(name, m.StopWait)
		}
		return ctx.Err()
	}
}

func (m *Systemd) Start(ctx context.Context, name string) error {
	return m.job(ctx, "starting", name, m.conn.StartUnitContext)
}

func (m *Systemd) Stop(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, m.StopWait)
	defer cancel()
	return m.job(ctx, "stopping", name, m.conn.StopUnitContext)
}

// SetStartType enables (automatic), disables (manual) or masks (disabled)
// the unit file, unmasking it first unless it is to be masked.
func (m *Systemd) SetStartType(ctx context.Context, name, startType string) error {
	if err := checkStartType(startType); err != nil {
		return err
	}
	if _, err := m.Get(ctx, name); err != nil {
		return err
	}
	files := []string{unitName(name)}
	var err error
	switch startType {
	case protocol.StartAutomatic:
		if _, err = m.conn.UnmaskUnitFilesContext(ctx, files, false); err == nil {
			_, _, err = m.conn.EnableUnitFilesContext(ctx, files, false, false)
		}
	case protocol.StartManual:
		if _, err = m.conn.UnmaskUnitFilesContext(ctx, files, false); err == nil {
			_, err = m.conn.DisableUnitFilesContext(ctx, files, false)
		}
	case protocol.StartDisabled:
		if _, err = m.conn.DisableUnitFilesContext(ctx, files, false); err == nil {
			_, err = m.conn.MaskUnitFilesContext(ctx, files, false, true)
		}
	}
	if err != nil {
		return fmt.Errorf("setting %s to %s: %w", files[0], startType, err)
	}
	if err := m.conn.ReloadContext(ctx); err != nil {
		return fmt.Errorf("reloading systemd: %w", err)
	}
	return nil
}
