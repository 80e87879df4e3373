package agent

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/platform/svcmgr"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestServicesThroughGateway lists, starts, restarts and stops a real
// SysV init script (svcmgr's test script in a temporary init folder, run
// because the agent's local allowlist allows that folder) through a real
// gateway, and gets clear codes for an unknown service, a service that
// does not stop (after 200ms, not the agent's StopTimeout) and a start
// type init scripts cannot set.
func TestServicesThroughGateway(t *testing.T) {
	root := t.TempDir()
	m := &svcmgr.SysV{InitDir: filepath.Join(root, "init.d"), RCDirs: []string{filepath.Join(root, "rc2.d")}, Timeout: 20 * time.Second, StopWait: 200 * time.Millisecond}
	for _, d := range []string{m.InitDir, m.RCDirs[0]} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script, err := os.ReadFile("../platform/svcmgr/testdata/wachttest.init")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"wachttest", "zweiter"} {
		if err := os.WriteFile(filepath.Join(m.InitDir, n), script, 0o755); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if b, err := os.ReadFile(filepath.Join(root, n+".pid")); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		})
	}
	os.Symlink("../init.d/zweiter", filepath.Join(m.RCDirs[0], "S02zweiter"))
	newServiceManager = func(context.Context) (svcmgr.Manager, error) { return m, nil }
	t.Cleanup(func() { newServiceManager = svcmgr.New })

	l := startLive(t, liveOpts{allow: []string{root}})
	ctx := ctxT(t)
	var list protocol.ServiceList
	if err := l.hub.Do(ctx, l.deviceID, protocol.ActionServices, nil, &list); err != nil {
		t.Fatal(err)
	}
	want := protocol.Service{Name: "wachttest", Description: "Wacht-Testdienst für Größen", State: "stopped", StartType: "manual"}
	if list.Manager != "sysv" || len(list.Services) != 2 || list.Services[0] != want || list.Services[1].Name != "zweiter" || list.Services[1].StartType != "automatic" {
		t.Fatalf("list %+v", list)
	}

	control := func(op string) (protocol.Service, error) {
		var res protocol.ServiceControlResult
		err := l.hub.Do(ctx, l.deviceID, protocol.ActionServiceControl, protocol.ServiceControlArgs{Name: "wachttest", Op: op}, &res)
		return res.Service, err
	}
	for _, op := range []string{protocol.ServiceStart, protocol.ServiceRestart, protocol.ServiceStop, protocol.ServiceStart} {
		s, err := control(op)
		if err != nil || s.Running != (op != protocol.ServiceStop) {
			t.Fatalf("%s: %+v %v", op, s, err)
		}
	}
	os.WriteFile(filepath.Join(root, "stubborn"), nil, 0o600)
	_, err = control(protocol.ServiceStop)
	wantCode(t, "stubborn stop", err, protocol.CodeTimeout)

	err = l.hub.Do(ctx, l.deviceID, protocol.ActionServiceControl, protocol.ServiceControlArgs{Name: "fehlt", Op: protocol.ServiceStart}, nil)
	wantCode(t, "unknown service", err, protocol.CodeNotFound)
	err = l.hub.Do(ctx, l.deviceID, protocol.ActionServiceControl, protocol.ServiceControlArgs{Name: "../../../bin/sh", Op: protocol.ServiceStart}, nil)
	wantCode(t, "path as name", err, protocol.CodeNotFound)
	err = l.hub.Do(ctx, l.deviceID, protocol.ActionServiceControl, protocol.ServiceControlArgs{Name: "wachttest", Op: protocol.ServiceSetStartType, StartType: protocol.StartDisabled}, nil)
	wantCode(t, "start type of an init script", err, protocol.CodeUnsupported)
	for _, a := range []protocol.ServiceControlArgs{{Name: "wachttest", Op: "delete"}, {Name: "wachttest", Op: protocol.ServiceSetStartType, StartType: "boot"}, {Op: protocol.ServiceStart}} {
		err = l.hub.Do(ctx, l.deviceID, protocol.ActionServiceControl, a, nil)
		wantCode(t, "bad args "+a.Op, err, protocol.CodeBadArgs)
	}
}

// TestServicesLocked: the services lock refuses both service actions, the
// processes lock both process actions.
func TestServicesLocked(t *testing.T) {
	l := startLive(t, liveOpts{disable: []string{protocol.LockServices, protocol.LockProcesses}})
	ctx := ctxT(t)
	for _, a := range []struct {
		name string
		args any
	}{
		{protocol.ActionServices, nil},
		{protocol.ActionServiceControl, protocol.ServiceControlArgs{Name: "ssh", Op: protocol.ServiceStop}},
		{protocol.ActionProcesses, nil},
		{protocol.ActionProcessKill, protocol.ProcessKillArgs{PID: 2}},
	} {
		wantCode(t, a.name, l.hub.Do(ctx, l.deviceID, a.name, a.args, nil), protocol.CodeDisabledLocally)
	}
}
