//go:build windows

package services

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

var defaultExclude = windowsExclude

// osTools: the check starts no program here (the service control manager
// does).
var osTools []string

func newManager(context.Context) (manager, error) {
	m, err := mgr.Connect()
	if err != nil {
		return nil, fmt.Errorf("connecting to the service control manager: %w", err)
	}
	return &scm{m: m}, nil
}

type scm struct{ m *mgr.Mgr }

func (s *scm) Close() error { return s.m.Disconnect() }

func (s *scm) List(ctx context.Context) ([]service, error) {
	names, err := s.m.ListServices()
	if err != nil {
		return nil, fmt.Errorf("listing services: %w", err)
	}
	out := make([]service, 0, len(names))
	for _, n := range names {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		h, err := windows.OpenService(s.m.Handle, windows.StringToUTF16Ptr(n), windows.SERVICE_QUERY_CONFIG|windows.SERVICE_QUERY_STATUS)
		if err != nil {
			continue // gone since listing, or not ours to see
		}
		sv := &mgr.Service{Name: n, Handle: h}
		cfg, cerr := sv.Config()
		st, qerr := sv.Query()
		triggered := hasTriggers(h)
		sv.Close()
		if cerr != nil || qerr != nil {
			continue
		}
		out = append(out, winService(n, cfg.DisplayName, cfg.StartType, cfg.DelayedAutoStart, triggered, uint32(st.State)))
	}
	return out, nil
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
