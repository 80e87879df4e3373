package agent

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/coreos/go-systemd/v22/dbus"

	"github.com/wacht-rmm/wacht/internal/platform/svcmgr"
	"github.com/wacht-rmm/wacht/internal/platform/systemdtest"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestServicesSystemdReal lists, starts, restarts, stops and enables a real
// systemd unit over D-Bus through the agent's service actions and a real
// gateway, against a systemd booted in a container (systemdtest.Run). The
// agent picks systemd when /run/systemd/system exists; on the test host it
// does not, so the test hands the agent the container's systemd instead.
func TestServicesSystemdReal(t *testing.T) {
	if !systemdtest.Run(t) {
		return
	}
	ctx := ctxT(t)
	unit := "[Unit]\nDescription=Wacht-Agenttest für Größen\n[Service]\nExecStart=/bin/sleep 300\n[Install]\nWantedBy=multi-user.target\n"
	if err := os.WriteFile(filepath.Join(systemdtest.Root(), "usr/lib/systemd/system/wachtagent.service"), []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	conn, err := dbus.NewSystemConnectionContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.ReloadContext(ctx); err != nil {
		t.Fatal(err)
	}
	newServiceManager = func(ctx context.Context) (svcmgr.Manager, error) {
		c, err := dbus.NewSystemConnectionContext(ctx)
		if err != nil {
			return nil, err
		}
		return svcmgr.NewSystemd(c), nil
	}
	t.Cleanup(func() { newServiceManager = svcmgr.New })

	l := startLive(t, liveOpts{})
	control := func(a protocol.ServiceControlArgs) protocol.Service {
		t.Helper()
		var res protocol.ServiceControlResult
		if err := l.hub.Do(ctx, l.deviceID, protocol.ActionServiceControl, a, &res); err != nil {
			t.Fatalf("%s %s: %v", a.Op, a.StartType, err)
		}
		return res.Service
	}
	// A unit neither loaded nor enabled is not listed; a started one is.
	if s := control(protocol.ServiceControlArgs{Name: "wachtagent", Op: protocol.ServiceStart}); !s.Running || s.State != "active/running" {
		t.Fatalf("after start: %+v", s)
	}
	var list protocol.ServiceList
	if err := l.hub.Do(ctx, l.deviceID, protocol.ActionServices, nil, &list); err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(list.Services, func(s protocol.Service) bool { return s.Name == "wachtagent.service" })
	if list.Manager != "systemd" || i < 0 || !list.Services[i].Running || list.Services[i].Description != "Wacht-Agenttest für Größen" {
		t.Fatalf("list (%s, %d services) without the running unit: %+v", list.Manager, len(list.Services), list.Services)
	}
	for _, op := range []string{protocol.ServiceRestart, protocol.ServiceStop} {
		if s := control(protocol.ServiceControlArgs{Name: "wachtagent", Op: op}); s.Running != (op != protocol.ServiceStop) {
			t.Errorf("after %s: %+v", op, s)
		}
	}
	for _, st := range []string{protocol.StartAutomatic, protocol.StartDisabled, protocol.StartManual} {
		if s := control(protocol.ServiceControlArgs{Name: "wachtagent", Op: protocol.ServiceSetStartType, StartType: st}); s.StartType != st {
			t.Errorf("start type %s: %+v", st, s)
		}
	}
	// systemd itself confirms what the agent did.
	if err := l.hub.Do(ctx, l.deviceID, protocol.ActionServiceControl, protocol.ServiceControlArgs{Name: "wachtagent", Op: protocol.ServiceStart}, nil); err != nil {
		t.Fatal(err)
	}
	props, err := conn.GetUnitPropertiesContext(ctx, "wachtagent.service")
	if err != nil || props["ActiveState"] != "active" {
		t.Errorf("systemd says the unit is %v (%v), want active", props["ActiveState"], err)
	}
	err = l.hub.Do(ctx, l.deviceID, protocol.ActionServiceControl, protocol.ServiceControlArgs{Name: "fehlt", Op: protocol.ServiceStart}, nil)
	wantCode(t, "unknown unit", err, protocol.CodeNotFound)
}
