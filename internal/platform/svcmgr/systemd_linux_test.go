package svcmgr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/coreos/go-systemd/v22/dbus"

	"github.com/wacht-rmm/wacht/internal/platform/systemdtest"
)

const (
	testUnit = `[Unit]
Description=Wacht-Testdienst für Größen
[Service]
ExecStart=/bin/sleep 300
[Install]
WantedBy=multi-user.target
`
	stubbornUnit = `[Unit]
Description=ignores SIGTERM
[Service]
ExecStart=/bin/sh -c 'trap "" TERM; touch /run/wachtstubborn.ready; while :; do sleep 1; done'
# The start job ends only once the trap is set: a stop sent earlier, on a
# busy machine, would end the shell before it ignores SIGTERM.
ExecStartPre=/bin/rm -f /run/wachtstubborn.ready
ExecStartPost=/bin/sh -c 'while [ ! -e /run/wachtstubborn.ready ]; do sleep 0.1; done'
KillMode=process
TimeoutStopSec=infinity
`
)

// TestSystemdReal controls real units over systemd's D-Bus API, against a
// systemd booted in a container (systemdtest.Run boots one as root with
// ../shared/tools/boot-systemd-container.sh, or the test runs under it:
// RUN_ON_HOST=1 boot-systemd-container.sh svcmgr.test -test.run TestSystemdReal).
func TestSystemdReal(t *testing.T) {
	if !systemdtest.Run(t) {
		return
	}
	root := systemdtest.Root()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// In /usr/lib, so that masking (a link in /etc) leaves the unit file.
	dir := filepath.Join(root, "usr/lib/systemd/system")
	for name, unit := range map[string]string{"wachttest.service": testUnit, "wachtstubborn.service": stubbornUnit} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(unit), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	conn, err := dbus.NewSystemConnectionContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	m := NewSystemd(conn)
	defer m.Close()
	m.StopWait = 3 * time.Second
	if err := m.conn.ReloadContext(ctx); err != nil {
		t.Fatal(err)
	}

	get := func(want string) Service {
		t.Helper()
		s, err := m.Get(ctx, "wachttest")
		if err != nil {
			t.Fatal(err)
		}
		if got := s.State + " " + s.StartType; got != want {
			t.Fatalf("wachttest: %q, want %q (%+v)", got, want, s)
		}
		return s
	}
	if s := get("inactive/dead manual"); s.Running || s.Description != "Wacht-Testdienst für Größen" || s.Name != "wachttest.service" {
		t.Fatalf("%+v", s)
	}
	if err := m.Start(ctx, "wachttest"); err != nil {
		t.Fatal(err)
	}
	get("active/running manual")
	if err := Restart(ctx, m, "wachttest.service"); err != nil {
		t.Fatal(err)
	}
	get("active/running manual")
	if err := m.Stop(ctx, "wachttest"); err != nil {
		t.Fatal(err)
	}
	get("inactive/dead manual")

	if err := m.SetStartType(ctx, "wachttest", "automatic"); err != nil {
		t.Fatal(err)
	}
	get("inactive/dead automatic")
	all, err := m.List(ctx)
	if err != nil || !slices.ContainsFunc(all, func(s Service) bool { return s.Name == "wachttest.service" && s.Auto }) {
		t.Fatalf("list (%d services) without the enabled unit: %v", len(all), err)
	}
	if err := m.SetStartType(ctx, "wachttest", "disabled"); err != nil {
		t.Fatal(err)
	}
	get("inactive/dead disabled")
	if err := m.Start(ctx, "wachttest"); err == nil {
		t.Error("a masked unit started")
	}
	if err := m.SetStartType(ctx, "wachttest", "manual"); err != nil {
		t.Fatal(err)
	}
	get("inactive/dead manual")

	for _, err := range []error{m.Start(ctx, "fehlt"), m.Stop(ctx, "fehlt"), m.SetStartType(ctx, "fehlt", "manual"), func() error { _, err := m.Get(ctx, "fehlt"); return err }()} {
		if !errors.Is(err, ErrNotFound) {
			t.Errorf("unknown unit: %v", err)
		}
	}

	if err := m.Start(ctx, "wachtstubborn"); err != nil {
		t.Fatal(err)
	}
	if err := m.Stop(ctx, "wachtstubborn"); !errors.Is(err, ErrTimeout) {
		t.Errorf("stubborn stop: %v", err)
	}
	m.conn.KillUnitWithTarget(ctx, "wachtstubborn.service", dbus.All, 9)
}
