package patch

import (
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

func TestDecisions(t *testing.T) {
	missing := []core.DevicePatch{
		{PatchID: 1, MissingUpdate: core.MissingUpdate{Update: core.Update{Key: "apt:a@2"}}},
		{PatchID: 2, MissingUpdate: core.MissingUpdate{Update: core.Update{Key: "apt:b@2"}}},
		{PatchID: 3, MissingUpdate: core.MissingUpdate{Update: core.Update{Key: "apt:c@2"}}},
	}
	as := []core.PatchApproval{
		{PatchID: 1, ClientID: 5, Approved: false}, // the client's decision …
		{PatchID: 1, ClientID: 0, Approved: true},  // … beats the fleet-wide one, in any order
		{PatchID: 2, ClientID: 0, Approved: true},
		{PatchID: 3, ClientID: 6, Approved: true}, // another client's
		{PatchID: 4, ClientID: 0, Approved: true}, // not missing here
	}
	got := Decisions(as, 5, missing)
	if len(got) != 2 || got["apt:a@2"] != false || got["apt:b@2"] != true {
		t.Fatalf("decisions = %v", got)
	}
	if _, ok := got["apt:a@2"]; !ok {
		t.Fatal("the client's decline is missing")
	}
	if got := Decisions(nil, 5, missing); got != nil {
		t.Errorf("no approvals = %v, want nil", got)
	}
}

// TestCompliant: never compliant without a good scan; only approved
// updates and failures count.
func TestCompliant(t *testing.T) {
	at := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	good := core.DevicePatchStatus{ScannedAt: at, Sources: []core.PatchSourceStatus{{Source: "apt", Status: core.ScanOK}}}
	if !Compliant(good, 0) {
		t.Fatal("a clean status is not compliant")
	}
	waiting := good
	waiting.Missing, waiting.Reboot = 3, core.RebootState{Pending: true}
	if !Compliant(waiting, 0) {
		t.Error("updates nobody approved and a pending restart make a device non-compliant")
	}
	for name, c := range map[string]struct {
		s        core.DevicePatchStatus
		approved int
	}{
		"never scanned":    {core.DevicePatchStatus{Sources: good.Sources}, 0},
		"approved missing": {good, 1},
		"failed":           {core.DevicePatchStatus{ScannedAt: at, Failed: 1}, 0},
		"scan error":       {core.DevicePatchStatus{ScannedAt: at, Sources: []core.PatchSourceStatus{{Source: "apt", Status: core.ScanOK}, {Source: "winget", Status: core.ScanError}}}, 0},
	} {
		if Compliant(c.s, c.approved) {
			t.Errorf("%s counts as compliant", name)
		}
	}
	missing := []core.DevicePatch{{Approval: core.ApprovalAuto}, {Approval: core.ApprovalManual}, {Approval: core.ApprovalNone},
		{Approval: core.ApprovalDeclined}, {Approval: core.ApprovalExcluded}}
	if n := ApprovedMissing(missing); n != 2 {
		t.Errorf("ApprovedMissing = %d, want 2", n)
	}
}
