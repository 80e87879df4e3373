//go:build linux

package services

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/coreos/go-systemd/v22/dbus"
)

var defaultExclude = append(append([]string(nil), systemdExclude...), sysvExclude...)

// osTools are the programs the check starts here: the init scripts.
var osTools = []string{initDir}

// newManager talks to systemd when it runs (the same test sd_booted(3)
// uses), and to the SysV init scripts otherwise.
func newManager(ctx context.Context) (manager, error) {
	if fi, err := os.Stat("/run/systemd/system"); err == nil && fi.IsDir() {
		conn, err := dbus.NewSystemConnectionContext(ctx)
		if err != nil {
			return nil, fmt.Errorf("connecting to systemd: %w", err)
		}
		return &systemdManager{conn: conn}, nil
	}
	return newSysV(), nil
}

type systemdManager struct{ conn *dbus.Conn }

func (m *systemdManager) Close() error { m.conn.Close(); return nil }

// List reads every loaded service unit and every enabled unit file.
func (m *systemdManager) List(ctx context.Context) ([]service, error) {
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
	out := make([]service, 0, len(names))
	for n := range names {
		props, err := m.props(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, unitFromProps(props))
	}
	return out, nil
}

func (m *systemdManager) props(ctx context.Context, name string) (map[string]string, error) {
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

func (m *systemdManager) Start(ctx context.Context, name string) error {
	done := make(chan string, 1)
	if _, err := m.conn.StartUnitContext(ctx, name, "replace", done); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	select {
	case r := <-done:
		if r != "done" {
			return errors.New("start job " + r)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
