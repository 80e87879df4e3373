//go:build windows

package svcmgr

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// New connects to the service control manager.
func New(context.Context) (Manager, error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, callErr("OpenSCManager", err)
	}
	return &scm{m: m}, nil
}

type scm struct{ m *mgr.Mgr }

func (s *scm) Kind() string { return "scm" }

func (s *scm) Close() error { return s.m.Disconnect() }

func (s *scm) List(ctx context.Context) ([]Service, error) {
	names, err := s.m.ListServices()
	if err != nil {
		return nil, callErr("EnumServicesStatusEx", err)
	}
	out := make([]Service, 0, len(names))
	for _, n := range names {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		sv, err := s.Get(ctx, n)
		if errors.Is(err, ErrNotFound) {
			continue // gone since listing
		}
		if err != nil {
			sv = Service{Name: n, Err: err.Error()}
		}
		out = append(out, sv)
	}
	return out, nil
}

// open opens a service with access rights, mapping a missing one to
// ErrNotFound.
func (s *scm) open(name string, access uint32) (windows.Handle, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	h, err := windows.OpenService(s.m.Handle, windows.StringToUTF16Ptr(name), access)
	if err == windows.ERROR_SERVICE_DOES_NOT_EXIST {
		return 0, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return 0, callErr("OpenService", err)
	}
	return h, nil
}

func (s *scm) Get(_ context.Context, name string) (Service, error) {
	h, err := s.open(name, windows.SERVICE_QUERY_CONFIG|windows.SERVICE_QUERY_STATUS)
	if err != nil {
		return Service{}, err
	}
	defer windows.CloseServiceHandle(h)
	return readService(h, name)
}

// readService reads one service: start type and display name
// (QueryServiceConfig) and state (QueryServiceStatusEx). The delayed-start
// flag, the triggers and the description (QueryServiceConfig2, which Wine
// does not implement for all of them) only refine that and count as unset
// when unreadable; mgr.Service.Config is not used because it also fails on
// the SID type nobody here needs.
func readService(h windows.Handle, name string) (Service, error) {
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
			return Service{}, callErr("QueryServiceConfig", err)
		}
	}
	st, err := (&mgr.Service{Name: name, Handle: h}).Query()
	if err != nil {
		return Service{}, callErr("QueryServiceStatusEx", err)
	}
	sv := winService(name, windows.UTF16PtrToString(cfg.DisplayName), cfg.StartType, delayedStart(h), hasTriggers(h), uint32(st.State))
	sv.Description = description(h)
	return sv, nil
}

// delayedStart reports whether an automatic service starts delayed.
func delayedStart(h windows.Handle) bool {
	var info windows.SERVICE_DELAYED_AUTO_START_INFO
	var need uint32
	err := windows.QueryServiceConfig2(h, windows.SERVICE_CONFIG_DELAYED_AUTO_START_INFO, (*byte)(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info)), &need)
	return err == nil && info.IsDelayedAutoStartUp != 0
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

// description reads a service's description, "" when it has none or it
// cannot be read.
func description(h windows.Handle) string {
	var need uint32
	err := windows.QueryServiceConfig2(h, windows.SERVICE_CONFIG_DESCRIPTION, nil, 0, &need)
	if err != windows.ERROR_INSUFFICIENT_BUFFER || need < uint32(unsafe.Sizeof(windows.SERVICE_DESCRIPTION{})) {
		return ""
	}
	buf := make([]byte, need)
	if err := windows.QueryServiceConfig2(h, windows.SERVICE_CONFIG_DESCRIPTION, &buf[0], need, &need); err != nil {
		return ""
	}
	d := (*windows.SERVICE_DESCRIPTION)(unsafe.Pointer(&buf[0]))
	if d.Description == nil {
		return ""
	}
	return windows.UTF16PtrToString(d.Description)
}

// waitState polls a service until it reports want, fails on stopped while
// waiting for running, and gives up after limit.
func waitState(ctx context.Context, sv *mgr.Service, want svc.State, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		st, err := sv.Query()
		if err != nil {
			return callErr("QueryServiceStatusEx", err)
		}
		switch {
		case st.State == want:
			return nil
		case want == svc.Running && st.State == svc.Stopped:
			return fmt.Errorf("%s stopped again right after starting (exit code %d)", sv.Name, st.Win32ExitCode)
		case time.Now().After(deadline) && want == svc.Stopped:
			return stopTimeout(sv.Name, limit)
		case time.Now().After(deadline):
			return fmt.Errorf("%s did not report running within %s", sv.Name, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// service opens a service for control.
func (s *scm) service(name string, access uint32) (*mgr.Service, error) {
	h, err := s.open(name, access|windows.SERVICE_QUERY_STATUS)
	if err != nil {
		return nil, err
	}
	return &mgr.Service{Name: name, Handle: h}, nil
}

// Start starts a service and waits until it reports running, as the check
// re-reads the state right after.
func (s *scm) Start(ctx context.Context, name string) error {
	sv, err := s.service(name, windows.SERVICE_START)
	if err != nil {
		return err
	}
	defer sv.Close()
	if err := sv.Start(); err != nil && err != windows.ERROR_SERVICE_ALREADY_RUNNING {
		return callErr("StartService", err)
	}
	return waitState(ctx, sv, svc.Running, 30*time.Second)
}

func (s *scm) Stop(ctx context.Context, name string) error {
	sv, err := s.service(name, windows.SERVICE_STOP)
	if err != nil {
		return err
	}
	defer sv.Close()
	if _, err := sv.Control(svc.Stop); err != nil && err != windows.ERROR_SERVICE_NOT_ACTIVE {
		return callErr("ControlService", err)
	}
	return waitState(ctx, sv, svc.Stopped, StopTimeout)
}

func (s *scm) SetStartType(_ context.Context, name, startType string) error {
	if err := checkStartType(startType); err != nil {
		return err
	}
	sv, err := s.service(name, windows.SERVICE_CHANGE_CONFIG)
	if err != nil {
		return err
	}
	defer sv.Close()
	const keep = windows.SERVICE_NO_CHANGE
	err = windows.ChangeServiceConfig(sv.Handle, keep, winStartType(startType), keep, nil, nil, nil, nil, nil, nil, nil)
	return callErr("ChangeServiceConfig", err)
}
