//go:build windows

package services

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
)

var defaultExclude = windowsExclude

// osTools: the check starts no program here (the service control manager
// does).
var osTools []string

func newManager(context.Context) (manager, error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, msg.Call("OpenSCManager", err)
	}
	return &scm{m: m}, nil
}

type scm struct{ m *mgr.Mgr }

func (s *scm) Close() error { return s.m.Disconnect() }

func (s *scm) List(ctx context.Context) ([]service, error) {
	names, err := s.m.ListServices()
	if err != nil {
		return nil, msg.Call("EnumServicesStatusEx", err)
	}
	out := make([]service, 0, len(names))
	for _, n := range names {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		h, err := windows.OpenService(s.m.Handle, windows.StringToUTF16Ptr(n), windows.SERVICE_QUERY_CONFIG|windows.SERVICE_QUERY_STATUS)
		if err == windows.ERROR_SERVICE_DOES_NOT_EXIST {
			continue // gone since listing
		}
		if err != nil {
			out = append(out, service{Name: n, Err: "OpenService: " + err.Error()})
			continue
		}
		sv, err := readService(h, n)
		windows.CloseServiceHandle(h)
		if err != nil {
			sv = service{Name: n, Err: err.Error()}
		}
		out = append(out, sv)
	}
	return out, nil
}

// readService reads what the check needs of one service: start type and
// display name (QueryServiceConfig) and state (QueryServiceStatusEx). The
// delayed-start flag and the triggers (QueryServiceConfig2, which Wine
// does not implement for them) only refine that and count as unset when
// unreadable; mgr.Service.Config is not used because it also fails on the
// description and SID type the check does not need.
func readService(h windows.Handle, name string) (service, error) {
	n := uint32(1024)
	var cfg *windows.QUERY_SERVICE_CONFIG
	for {
		b := make([]byte, n)
		cfg = (*windows.QUERY_SERVICE_CONFIG)(unsafe.Pointer(&b[0]))
		err := windows.QueryServiceConfig(h, cfg, n, &n)
		if err == nil {
			break
		}
		if err != windows.ERROR_INSUFFICIENT_BUFFER || n <= uint32(len(b)) {
			return service{}, fmt.Errorf("QueryServiceConfig: %w", err)
		}
	}
	st, err := (&mgr.Service{Name: name, Handle: h}).Query()
	if err != nil {
		return service{}, fmt.Errorf("QueryServiceStatusEx: %w", err)
	}
	return winService(name, windows.UTF16PtrToString(cfg.DisplayName), cfg.StartType, delayedStart(h), hasTriggers(h), uint32(st.State)), nil
}

// delayedStart reports whether an automatic service starts delayed.
func delayedStart(h windows.Handle) bool {
	var info windows.SERVICE_DELAYED_AUTO_START_INFO
	var need uint32
	err := windows.QueryServiceConfig2(h, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO, (*byte)(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), &need)
	return err == nil && info.IsDelayedAutoStartUp != 0
}

func (s *scm) Start(ctx context.Context, name string) error {
	sv, err := s.m.OpenService(name)
	if err != nil {
		return fmt.Errorf("opening %s: %w", name, err)
	}
	defer sv.Close()
	if err := sv.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", name, err)
	}
	// Start returns once the service was launched; wait until it reports
	// running, as the check re-reads the state right after.
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		st, err := sv.Query()
		if err != nil {
			return fmt.Errorf("querying %s: %w", name, err)
		}
		if st.State == svc.Running {
			return nil
		}
		if st.State == svc.Stopped {
			return fmt.Errorf("%s stopped again right after starting (exit code %d)", name, st.Win32ExitCode)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not report running within 30 s", name)
}

// hasTriggers reports whether a service has start triggers
// (SERVICE_TRIGGER_INFO.cTriggers > 0).
func hasTriggers(h windows.Handle) bool {
	var need uint32
	err := windows.QueryServiceConfig2(h, windows.SERVICE_CONFIG_TRIGGER_INFO, nil, 0, &need)
	if err != windows.ERROR_INSUFFICIENT_BUFFER || need < 4 {
		return false
	}
	buf := make([]byte, need)
	if err := windows.QueryServiceConfig2(h, windows.SERVICE_CONFIG_TRIGGER_INFO, &buf[0], need, &need); err != nil {
		return false
	}
	return binary.LittleEndian.Uint32(buf[:4]) > 0
}
