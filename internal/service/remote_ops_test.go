package service

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Bad input is refused with a field error in both languages before
// anything reaches the device.
func TestRemoteOpsValidate(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	id := f.dev.ID
	long := strings.Repeat("x", protocol.MaxExecCommand+1)
	for _, c := range []struct {
		name  string
		call  func() error
		field string
	}{
		{"no command", func() error { _, err := f.svc.Exec(ctx, f.tech, id, ExecRequest{Command: "  "}); return err }, "command"},
		{"long command", func() error { _, err := f.svc.Exec(ctx, f.tech, id, ExecRequest{Command: long}); return err }, "command"},
		{"NUL", func() error { _, err := f.svc.Exec(ctx, f.tech, id, ExecRequest{Command: "a\x00b"}); return err }, "command"},
		{"Windows shell on Linux", func() error {
			_, err := f.svc.Exec(ctx, f.tech, id, ExecRequest{Shell: "cmd", Command: "dir"})
			return err
		}, "shell"},
		{"shell with arguments", func() error {
			_, err := f.svc.Exec(ctx, f.tech, id, ExecRequest{Shell: "bash -x", Command: "id"})
			return err
		}, "shell"},
		{"timeout too long", func() error {
			_, err := f.svc.Exec(ctx, f.tech, id, ExecRequest{Command: "id", TimeoutSeconds: 3601})
			return err
		}, "timeout_seconds"},
		{"negative timeout", func() error {
			_, err := f.svc.Exec(ctx, f.tech, id, ExecRequest{Command: "id", TimeoutSeconds: -1})
			return err
		}, "timeout_seconds"},
		{"pid 0", func() error { _, err := f.svc.KillProcess(ctx, f.tech, id, KillRequest{PID: 0}); return err }, "pid"},
		{"service with slash", func() error {
			_, err := f.svc.ControlService(ctx, f.tech, id, "../../bin/sh", protocol.ServiceStart, "")
			return err
		}, "name"},
		{"service with newline", func() error {
			_, err := f.svc.ControlService(ctx, f.tech, id, "cron\nx", protocol.ServiceStop, "")
			return err
		}, "name"},
		{"start type", func() error {
			_, err := f.svc.ControlService(ctx, f.tech, id, "cron", protocol.ServiceSetStartType, "sometimes")
			return err
		}, "start_type"},
	} {
		var ve *policy.ValidationError
		err := c.call()
		if !errors.As(err, &ve) || len(ve.Fields) == 0 || ve.Fields[0].Field != c.field || ve.Fields[0].Message.DE == "" {
			t.Errorf("%s: %v, want a field error on %s", c.name, err, c.field)
		}
	}
	if len(f.remote.calls) != 0 {
		t.Errorf("invalid requests reached the device: %v", f.remote.calls)
	}
	if _, err := f.svc.ControlService(ctx, f.tech, id, "cron", "explode", ""); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("unknown operation: %v", err)
	}
	for _, ok := range []string{"cron", "systemd-fsck@dev-disk-by\\x2duuid-1.service", "com.apple.Finder", "Dienst für Ümläute", "wuauserv"} {
		if !ValidServiceName(ok) {
			t.Errorf("%q refused", ok)
		}
	}
}

// Exec fills in the device's default shell and time limit, and its audit
// entry quotes the start of the command; a locked feature is refused and
// audited without reaching the device.
func TestExecDefaultsAndAudit(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	if _, err := f.svc.Exec(ctx, f.tech, f.dev.ID, ExecRequest{Command: "echo Grüße " + strings.Repeat("ä", 300)}); err != nil {
		t.Fatal(err)
	}
	if len(f.remote.calls) != 1 || f.remote.calls[0] != protocol.ActionExec {
		t.Fatalf("calls %v", f.remote.calls)
	}
	f.remote.locks = []string{protocol.LockServices}
	if _, err := f.svc.ControlService(ctx, f.tech, f.dev.ID, "cron", protocol.ServiceStop, ""); err == nil {
		t.Fatal("locked services: no error")
	}
	es, err := f.st.QueryAudit(ctx, core.AuditQuery{Action: "device."})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]core.AuditEntry{}
	for _, e := range es {
		got[e.Action] = e
	}
	ex := got["device.exec"]
	if !strings.HasPrefix(ex.Detail, `sh: "echo Grüße ää`) || !strings.HasSuffix(ex.Detail, "… → exit 0") || len(ex.Detail) > 260 || ex.Result != core.AuditOK {
		t.Errorf("exec audit: %q %s", ex.Detail, ex.Result)
	}
	st := got["device.service-stop"]
	if st.Result != core.AuditFailed || !strings.Contains(st.Detail, `service "cron" → disabled_locally`) {
		t.Errorf("locked stop audit: %+v", st)
	}
	if len(f.remote.calls) != 1 {
		t.Errorf("the locked action reached the device: %v", f.remote.calls)
	}
}
