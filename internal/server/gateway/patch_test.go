package gateway

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/store"
)

// patchOn turns patch management on in every policy of its base, as a
// policy with patch settings assigned to the device does.
type patchOn struct{ base PolicySource }

func (p patchOn) AgentPolicy(ctx context.Context, id int64) (protocol.Policy, error) {
	pol, err := p.base.AgentPolicy(ctx, id)
	if err == nil && pol.Patch == nil {
		pol.Patch = &protocol.PatchPolicy{PatchPolicy: core.PatchPolicy{Enabled: true, Install: true,
			Schedule: core.PatchSchedule{Maintenance: true}}}
	}
	return pol, err
}

// sendPatchReport sends a report and returns the server's answer.
func (a *agent) sendPatchReport(id string, r protocol.PatchReport) protocol.PatchAck {
	a.t.Helper()
	a.send(protocol.TypePatchReport, id, r)
	env := a.read()
	var ack protocol.PatchAck
	if env.Type != protocol.TypePatchAck || env.ID != id || protocol.DecodeData(env, &ack) != nil {
		a.t.Fatalf("got %s %s %s, want a patch ack for %s", env.Type, env.ID, env.Data, id)
	}
	return ack
}

// quiet checks that nothing was pushed: the next frame is the heartbeat's
// answer.
func (a *agent) quiet(id string) {
	a.t.Helper()
	a.send(protocol.TypeHeartbeat, id, struct{}{})
	if env := a.read(); env.Type != protocol.TypeHeartbeatAck {
		a.t.Fatalf("got %s %s, want heartbeat_ack (nothing pushed)", env.Type, env.Data)
	}
}

func aptUpdate(name string, class string) core.MissingUpdate {
	return core.MissingUpdate{Update: core.Update{Key: core.UpdateKey(core.SourceApt, name, "2.0"), Source: core.SourceApt, ID: name,
		Version: "2.0", Installed: "1.0", Title: name + " 2.0", Classification: class}, FirstSeen: time.Now().Add(-48 * time.Hour).UTC().Truncate(time.Second)}
}

func TestPatchReportIngestAndDecisions(t *testing.T) {
	engines(t, func(t *testing.T, st testStore) {
		ctx := context.Background()
		db := st.(*store.DB)
		e := newEnv(t, st, nil, func(o *Options) {
			o.Policy = PatchPolicies{Base: patchOn{policy.NewResolver(db, nil)}, Store: db}
		})
		a := e.enrollAgent("patch-a")
		b := e.enrollAgent("patch-b")
		dev, err := db.GetDevice(ctx, a.id)
		if err != nil {
			t.Fatal(err)
		}
		// A daily maintenance window of a's site: its periods of the next
		// 14 days go out with the policy.
		if err := db.CreateMaintenance(ctx, &core.Maintenance{Scope: core.LevelSite, TargetID: dev.SiteID, Title: "Patchnacht",
			Start: time.Now().Add(-24 * time.Hour), Repeat: core.RepeatDaily, From: "01:00", To: "03:00", CreatedBy: "test"}); err != nil {
			t.Fatal(err)
		}
		e.connected(a)
		first := readPolicy(t, a)
		if first.Patch == nil || !first.Patch.Enabled || len(first.Patch.Decisions) != 0 {
			t.Fatalf("first patch policy = %+v", first.Patch)
		}
		// The window's first day began 24 hours ago, within the default
		// lateness (48 hours): it goes too, so a device that was off can
		// catch up.
		if n := len(first.Patch.Windows); n < 15 || n > 16 {
			t.Errorf("%d maintenance windows sent, want the 15 or 16 since its start and of the next 14 days", n)
		}
		if w := first.Patch.Windows[0]; w.Start.After(time.Now()) {
			t.Errorf("no window of the last day sent: the first starts %v", w.Start)
		}
		for _, w := range first.Patch.Windows {
			if d := w.End.Sub(w.Start); d <= 0 || d > 2*time.Hour || w.End.Before(time.Now().Add(-48*time.Hour)) {
				t.Errorf("window %v – %v", w.Start, w.End)
			}
		}

		// a's report: two missing updates, an attempt, a pending restart.
		started := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
		report := protocol.PatchReport{
			ScannedAt: time.Now().UTC().Truncate(time.Second),
			Sources:   []core.PatchSourceStatus{{Source: core.SourceApt, Status: core.ScanOK, Missing: 2}},
			Missing:   []core.MissingUpdate{aptUpdate("demo-a", core.ClassSecurity), aptUpdate("demo-b", core.ClassUpdate)},
			Attempts: []core.PatchAttempt{{Key: "apt:demo-c@1.5", Source: core.SourceApt, Title: "demo-c 1.5", StartedAt: started,
				FinishedAt: started.Add(time.Minute), Result: core.PatchInstalled, Trigger: "schedule"}},
			Reboot: core.RebootState{Pending: true, Since: started, Reasons: []string{"/var/run/reboot-required"}},
		}
		if ack := a.sendPatchReport("p1", report); ack.Status != protocol.PatchStored {
			t.Fatalf("ack = %+v", ack)
		}
		a.quiet("hb1") // no decisions yet: the policy is unchanged
		status, err := db.DevicePatchStatus(ctx, a.id)
		if err != nil {
			t.Fatal(err)
		}
		if status.Missing != 2 || !status.Reboot.Pending || len(status.Sources) != 1 {
			t.Fatalf("stored status = %+v", status)
		}
		// The same report again is stored once.
		if ack := a.sendPatchReport("p1", report); ack.Status != protocol.PatchStored {
			t.Fatalf("resent ack = %+v", ack)
		}
		if as, err := db.PatchAttempts(ctx, a.id, 10); err != nil || len(as) != 1 {
			t.Fatalf("attempts after a resend = %+v, %v", as, err)
		}

		// A malformed report (a key twice) is rejected with the reason;
		// the session goes on.
		bad := report
		bad.Missing = []core.MissingUpdate{aptUpdate("demo-a", ""), aptUpdate("demo-a", "")}
		ack := a.sendPatchReport("p2", bad)
		if ack.Status != protocol.PatchRejected || !strings.Contains(ack.Reason, "twice") {
			t.Fatalf("malformed report answered %+v", ack)
		}
		a.quiet("hb2")
		if st, _ := db.DevicePatchStatus(ctx, a.id); st.Missing != 2 {
			t.Errorf("a rejected report changed the status: %+v", st)
		}

		// Decisions: demo-a approved for the client; demo-b approved for
		// every client but declined for this one (the client's wins).
		ids, err := db.PatchesByKey(ctx, []string{"apt:demo-a@2.0", "apt:demo-b@2.0"})
		if err != nil || len(ids) != 2 {
			t.Fatalf("patch IDs %v, %v", ids, err)
		}
		now := time.Now().UTC().Truncate(time.Second)
		for _, ap := range []core.PatchApproval{
			{PatchID: ids["apt:demo-a@2.0"], ClientID: dev.ClientID, Approved: true},
			{PatchID: ids["apt:demo-b@2.0"], ClientID: 0, Approved: true},
			{PatchID: ids["apt:demo-b@2.0"], ClientID: dev.ClientID, Approved: false},
		} {
			ap.By, ap.DecidedAt = "user:test@example.com", now
			if err := db.SetPatchApproval(ctx, ap); err != nil {
				t.Fatal(err)
			}
		}
		e.gw.Hub().PushPolicies()
		second := readPolicy(t, a)
		d := second.Patch.Decisions
		if len(d) != 2 || !d["apt:demo-a@2.0"] || d["apt:demo-b@2.0"] {
			t.Fatalf("decisions = %v, want demo-a approved and demo-b declined", d)
		}
		if second.Revision == first.Revision {
			t.Error("the decisions did not change the revision")
		}

		// demo-c, first reported by b, is approved for every client; a does
		// not miss it, so a's policy stays.
		e.connected(b)
		readPolicy(t, b)
		rb := protocol.PatchReport{ScannedAt: now, Sources: report.Sources, Missing: []core.MissingUpdate{aptUpdate("demo-c", core.ClassSecurity)}}
		if ack := b.sendPatchReport("b1", rb); ack.Status != protocol.PatchStored {
			t.Fatalf("b's ack = %+v", ack)
		}
		cid, err := db.PatchesByKey(ctx, []string{"apt:demo-c@2.0"})
		if err != nil || cid["apt:demo-c@2.0"] == 0 {
			t.Fatalf("demo-c's ID: %v, %v", cid, err)
		}
		if err := db.SetPatchApproval(ctx, core.PatchApproval{PatchID: cid["apt:demo-c@2.0"], Approved: true, By: "user:test@example.com", DecidedAt: now}); err != nil {
			t.Fatal(err)
		}
		e.gw.Hub().PushPolicies()
		if p := readPolicy(t, b); !p.Patch.Decisions["apt:demo-c@2.0"] {
			t.Errorf("b's decisions = %v", p.Patch.Decisions)
		}
		a.quiet("hb3")

		// Now a misses demo-c too: its report brings the policy again with
		// the fleet-wide decision, without any PushPolicies.
		report.Missing = append(report.Missing, aptUpdate("demo-c", core.ClassSecurity))
		if ack := a.sendPatchReport("p3", report); ack.Status != protocol.PatchStored {
			t.Fatalf("ack = %+v", ack)
		}
		third := readPolicy(t, a)
		if d := third.Patch.Decisions; len(d) != 3 || !d["apt:demo-c@2.0"] || !d["apt:demo-a@2.0"] || d["apt:demo-b@2.0"] {
			t.Fatalf("decisions after the report = %v", d)
		}
		// A report without change pushes nothing.
		if ack := a.sendPatchReport("p4", report); ack.Status != protocol.PatchStored {
			t.Fatalf("ack = %+v", ack)
		}
		a.quiet("hb4")
	})
}
