package service

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// fakeRemote stands in for the gateway where only the rules before the
// agent are tested; the real path (signed, through a gateway to a real
// agent) is tested by the transports.
type fakeRemote struct {
	locks []string
	calls []string
}

func (f *fakeRemote) Command(context.Context, int64, protocol.Command) (protocol.CommandResult, error) {
	return protocol.CommandResult{}, core.ErrOffline
}

func (f *fakeRemote) Do(_ context.Context, _ int64, typ string, _, _ any) error {
	f.calls = append(f.calls, typ)
	return nil
}

func (f *fakeRemote) OpenStream(_ context.Context, _ int64, typ string, _ any) (*gateway.Stream, error) {
	f.calls = append(f.calls, typ)
	return nil, core.ErrOffline
}

func (f *fakeRemote) Disabled(int64) ([]string, bool) { return f.locks, true }

// remoteFixture is a service over a fresh SQLite store with one enrolled
// device of client "Müller GmbH", an administrator, a technician of that
// client, a technician of another client and a read-only user of it.
type remoteFixture struct {
	svc                            *Service
	st                             core.Store
	remote                         *fakeRemote
	dev                            core.Device
	admin, tech, foreign, readonly core.User
}

func newRemoteFixture(t *testing.T) *remoteFixture {
	t.Helper()
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	f := &remoteFixture{st: st, remote: &fakeRemote{}}
	f.svc = New(Deps{Store: st, Commander: f.remote, PasswordCost: authtest.Cost})
	c, site, err := st.EnsureClientSite(ctx, "Müller GmbH", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := st.EnsureClientSite(ctx, "Andere AG", "Lager")
	if err != nil {
		t.Fatal(err)
	}
	tok := core.EnrollmentToken{SecretHash: []byte("secret"), SiteID: site.ID}
	if err := st.CreateEnrollmentToken(ctx, &tok); err != nil {
		t.Fatal(err)
	}
	f.dev = core.Device{Hostname: "pc-01", OS: "linux", MachineID: "mid-1", PublicKey: []byte("key")}
	if err := st.Enroll(ctx, []byte("secret"), &f.dev, time.Now()); err != nil {
		t.Fatal(err)
	}
	mk := func(email, role string, scope core.Scope) core.User {
		u, err := f.svc.CreateUser(ctx, CLI, NewUser{Email: email, Password: "long enough", Role: role, Scope: scope})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	f.admin = mk("admin@example.com", core.RoleAdmin, core.Scope{})
	f.tech = mk("tech@example.com", core.RoleTechnician, core.Only(c.ID))
	f.foreign = mk("other@example.com", core.RoleTechnician, core.Only(other.ID))
	f.readonly = mk("ro@example.com", core.RoleReadOnly, core.Only(c.ID))
	return f
}

func TestRemoteTargetRules(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	id := f.dev.ID
	for _, c := range []struct {
		who  string
		u    core.User
		want error
	}{
		{"admin", f.admin, nil},
		{"technician in scope", f.tech, nil},
		{"technician of another client", f.foreign, core.ErrNotFound},
		{"read-only", f.readonly, core.ErrForbidden},
		{"nobody", core.User{}, core.ErrForbidden},
	} {
		if _, _, err := f.svc.remoteTarget(ctx, c.u, id, protocol.LockExec); !errors.Is(err, c.want) && (c.want != nil || err != nil) {
			t.Errorf("%s: %v, want %v", c.who, err, c.want)
		}
	}

	// The local lock refuses with the agent's own code and reason.
	f.remote.locks = []string{protocol.LockTerminal}
	_, _, err := f.svc.remoteTarget(ctx, f.admin, id, protocol.LockTerminal)
	var ae *protocol.ActionError
	if !errors.As(err, &ae) || ae.Code != protocol.CodeDisabledLocally || ae.Message.DE == "" {
		t.Errorf("locked terminal: %v", err)
	}
	if _, ok := Reason(err); !ok {
		t.Error("locked terminal: no reason to show")
	}
	if _, _, err := f.svc.remoteTarget(ctx, f.admin, id, protocol.LockExec); err != nil {
		t.Errorf("exec while only the terminal is locked: %v", err)
	}
}

func TestRemoteNeedsSecondFactorWhenSet(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	if err := f.svc.SetRemoteSettings(ctx, f.tech, RemoteSettings{Require2FA: true, RecordingDays: 30}); !errors.Is(err, core.ErrForbidden) {
		t.Fatalf("technician changing remote settings: %v", err)
	}
	if err := f.svc.SetRemoteSettings(ctx, f.admin, RemoteSettings{Require2FA: true, RecordingDays: 0}); !errors.Is(err, core.ErrInvalid) {
		t.Fatalf("retention 0: %v", err)
	}
	if err := f.svc.SetRemoteSettings(ctx, f.admin, RemoteSettings{Require2FA: true, RecordingDays: 30}); err != nil {
		t.Fatal(err)
	}
	rs, err := f.svc.RemoteSettings(ctx, f.admin)
	if err != nil || !rs.Require2FA || rs.RecordingDays != 30 {
		t.Fatalf("settings read back: %+v %v", rs, err)
	}
	if _, _, err := f.svc.remoteTarget(ctx, f.tech, f.dev.ID, protocol.LockExec); !errors.Is(err, ErrRemote2FA) {
		t.Errorf("technician without 2FA: %v, want ErrRemote2FA", err)
	}
	with := f.tech
	with.TOTPEnabled = true
	if _, _, err := f.svc.remoteTarget(ctx, with, f.dev.ID, protocol.LockExec); err != nil {
		t.Errorf("technician with 2FA: %v", err)
	}
	es, err := f.st.QueryAudit(ctx, core.AuditQuery{Action: "settings.remote"})
	if err != nil || len(es) != 1 {
		t.Errorf("audit of the settings change: %+v %v", es, err)
	}
}

func TestAuditRemoteSaysWhyItFailed(t *testing.T) {
	f := newRemoteFixture(t)
	ctx := context.Background()
	refused := &protocol.ActionError{Code: protocol.CodeNotFound, Message: core.Text{EN: "no such process", DE: "kein solcher Prozess"}}
	if err := f.svc.auditRemote(ctx, f.tech, "device.process-kill", f.dev.ID, "pid 4242", refused); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.auditRemote(ctx, f.tech, "device.exec", f.dev.ID, "sh: uptime", nil); err != nil {
		t.Fatal(err)
	}
	es, err := f.st.QueryAudit(ctx, core.AuditQuery{})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(es, func(e core.AuditEntry) bool { return e.Action == "device.process-kill" })
	if i < 0 || es[i].Result != core.AuditFailed || es[i].Detail != "pid 4242 → not_found: no such process" || es[i].Actor != "user:tech@example.com" {
		t.Errorf("kill audit: %+v", es)
	}
	i = slices.IndexFunc(es, func(e core.AuditEntry) bool { return e.Action == "device.exec" })
	if i < 0 || es[i].Result != core.AuditOK {
		t.Errorf("exec audit: %+v", es)
	}
}
