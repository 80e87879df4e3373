package svcmgr

import (
	"context"
	"errors"
	"os"
	"testing"
)

// TestSCMReal reads and controls a demand-start service of the real service
// control manager. It changes the machine's services, so it runs only
// where WACHT_TEST_SCM names such a service (under Wine: MSIServer).
func TestSCMReal(t *testing.T) {
	name := os.Getenv("WACHT_TEST_SCM")
	if name == "" {
		t.Skip("WACHT_TEST_SCM names no demand-start service to control")
	}
	ctx := context.Background()
	m, err := New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	all, err := m.List(ctx)
	if err != nil || len(all) == 0 {
		t.Fatalf("list: %d services, %v", len(all), err)
	}
	for _, s := range all {
		t.Logf("%-20s %-10s %-9s running=%-5v %q %s", s.Name, s.StartType, s.State, s.Running, s.Display, s.Err)
	}
	if _, err := m.Get(ctx, "wacht-fehlt"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown service: %v", err)
	}
	if err := m.Start(ctx, "wacht-fehlt"); !errors.Is(err, ErrNotFound) {
		t.Errorf("starting an unknown service: %v", err)
	}
	if err := m.Start(ctx, name); err != nil {
		t.Fatal(err)
	}
	if s, err := m.Get(ctx, name); err != nil || !s.Running {
		t.Fatalf("after start: %+v %v", s, err)
	}
	if err := m.Stop(ctx, name); err != nil {
		t.Fatal(err)
	}
	if s, err := m.Get(ctx, name); err != nil || s.Running || s.State != "stopped" {
		t.Fatalf("after stop: %+v %v", s, err)
	}
	if err := m.SetStartType(ctx, name, "disabled"); err != nil {
		t.Fatal(err)
	}
	if s, _ := m.Get(ctx, name); s.StartType != "disabled" {
		t.Errorf("start type %q after disabling", s.StartType)
	}
	if err := m.Start(ctx, name); err == nil {
		t.Error("a disabled service started")
	}
	if err := m.SetStartType(ctx, name, "manual"); err != nil {
		t.Fatal(err)
	}
}
