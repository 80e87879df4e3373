package service

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// bulkCommander answers run-checks per device: offline, never (until the
// caller gives up) or at once; it records how many were in flight at most.
type bulkCommander struct {
	mu               sync.Mutex
	offline, hang    map[int64]bool
	release          chan struct{} // ends the hanging answers
	inFlight, max, n int
}

func (c *bulkCommander) Command(ctx context.Context, id int64, _ protocol.Command) (protocol.CommandResult, error) {
	c.mu.Lock()
	c.n++
	c.inFlight++
	c.max = max(c.max, c.inFlight)
	off, hang := c.offline[id], c.hang[id]
	c.mu.Unlock()
	defer func() { c.mu.Lock(); c.inFlight--; c.mu.Unlock() }()
	switch {
	case off:
		return protocol.CommandResult{}, core.ErrOffline
	case hang:
		select {
		case <-ctx.Done():
			return protocol.CommandResult{}, ctx.Err()
		case <-c.release:
			return protocol.CommandResult{OK: true}, nil
		}
	}
	return protocol.CommandResult{OK: true}, nil
}

// TestBulkRunChecks: every device is asked through RunChecks (audited
// each), at most bulkRunParallel at a time; an agent that does not answer
// within the short wait counts as requested, an offline one as failed with
// the reason, and a device outside the caller's scope as not found without
// its name. The unanswered request goes on after BulkDevices returned and
// is audited when it ends.
func TestBulkRunChecks(t *testing.T) {
	ctx := context.Background()
	st := storetest.NewSQLite(t)
	cmd := &bulkCommander{offline: map[int64]bool{}, hang: map[int64]bool{}, release: make(chan struct{})}
	svc := New(Deps{Store: st, Commander: cmd, PasswordCost: authtest.Cost})
	c, site, err := st.EnsureClientSite(ctx, "Müller GmbH", "Zentrale")
	if err != nil {
		t.Fatal(err)
	}
	_, otherSite, err := st.EnsureClientSite(ctx, "Andere AG", "Lager")
	if err != nil {
		t.Fatal(err)
	}
	enroll := func(st2 core.Site, host string) core.Device {
		tok := core.EnrollmentToken{SecretHash: []byte("s-" + host), SiteID: st2.ID, ClientID: st2.ClientID}
		if err := st.CreateEnrollmentToken(ctx, &tok); err != nil {
			t.Fatal(err)
		}
		d := core.Device{Hostname: host, OS: "linux", MachineID: "m-" + host, PublicKey: []byte("k-" + host)}
		if err := st.Enroll(ctx, []byte("s-"+host), &d, time.Now()); err != nil {
			t.Fatal(err)
		}
		return d
	}
	var ids []int64
	for i := range 30 {
		ids = append(ids, enroll(site, "pc-"+string(rune('a'+i))).ID)
	}
	cmd.offline[ids[0]], cmd.hang[ids[1]] = true, true
	foreign := enroll(otherSite, "geheim-pc")
	tech, err := svc.CreateUser(ctx, CLI, NewUser{Email: "tech@example.com", Password: "long enough", Role: core.RoleTechnician, Scope: core.Only(c.ID)})
	if err != nil {
		t.Fatal(err)
	}

	res, err := svc.BulkDevices(ctx, tech, append(ids, foreign.ID, ids[2]), BulkAction{Action: BulkRunChecks})
	if err != nil {
		t.Fatal(err)
	}
	if res.Done != 29 || res.Requested != 1 || len(res.Failed) != 2 {
		t.Fatalf("result %+v", res)
	}
	if f := res.Failed[0]; f.DeviceID != ids[0] || f.Hostname != "pc-a" || f.Reason.DE != "der Agent ist offline" {
		t.Errorf("offline failure %+v", f)
	}
	if f := res.Failed[1]; f.DeviceID != foreign.ID || f.Hostname != "" || f.Reason.EN != "device not found" {
		t.Errorf("foreign failure %+v", f)
	}
	// The waits are bounded, the silent agent's request still runs.
	cmd.mu.Lock()
	n, most := cmd.n, cmd.max
	cmd.mu.Unlock()
	if n != 30 || most > bulkRunParallel+1 {
		t.Errorf("%d commands (want 30, the repeated ID once), %d at once (bound %d + the silent one)", n, most, bulkRunParallel)
	}
	close(cmd.release)
	audited := func() int {
		es, err := st.ListAudit(ctx, 200)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range es {
			if e.Action == "device.run-checks" {
				n++
			}
		}
		return n
	}
	for deadline := time.Now().Add(time.Minute); audited() != 30; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d run-checks audited, want 30", audited())
		}
	}

	// Refused as a whole: a read-only user, no device, an unknown action.
	ro, err := svc.CreateUser(ctx, CLI, NewUser{Email: "ro@example.com", Password: "long enough", Role: core.RoleReadOnly})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.BulkDevices(ctx, ro, ids, BulkAction{Action: BulkRunChecks}); err != core.ErrForbidden {
		t.Errorf("read-only: %v", err)
	}
	for _, a := range []BulkAction{{Action: "reboot"}, {Action: BulkMaintenance, Title: "x"}, {Action: BulkMove}, {Action: BulkPolicy, PolicyID: 999999}} {
		_, err := svc.BulkDevices(ctx, tech, ids, a)
		if ve := (*policy.ValidationError)(nil); !asValidation(err, &ve) {
			t.Errorf("%+v: %v, want a validation error", a, err)
		}
	}
	cmd.mu.Lock()
	defer cmd.mu.Unlock()
	if cmd.n != 30 {
		t.Errorf("refused requests sent %d commands", cmd.n-30)
	}
}

func asValidation(err error, ve **policy.ValidationError) bool {
	v, ok := err.(*policy.ValidationError)
	*ve = v
	return ok
}
