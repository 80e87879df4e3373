package service

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestDeviceSoftwareState: a device's software state lists what its
// effective policy wants (pending until the agent reports, then what the
// agent reports; an entry that cannot be sent as an error; another OS's
// package not at all) and packages only deployed to it by their last
// deployment; the client's view holds the same per device, and a user
// outside the client sees nothing.
func TestDeviceSoftwareState(t *testing.T) {
	f := newSoftwareFixture(t)
	ctx := context.Background()
	byID := func(ds DeviceSoftware) map[int64]SoftwareState {
		m := map[int64]SoftwareState{}
		for _, p := range ds.Packages {
			m[p.PackageID] = p
		}
		return m
	}
	ds, err := f.svc.DeviceSoftwareState(ctx, f.admin, f.dev.ID)
	if err != nil {
		t.Fatal(err)
	}
	got := byID(ds)
	if _, ok := got[f.win.ID]; ok || len(got) != 3 {
		t.Errorf("packages %+v, want demo, htop and the broken upload (not Windows', not the excluded curl)", ds.Packages)
	}
	if s := got[f.htop.ID]; s.Status != SoftwarePending || s.Desired == nil || s.Desired.MinVersion != "3.0" || !strings.Contains(s.Message.DE, "noch nichts") {
		t.Errorf("htop before a report: %+v", s)
	}
	if s := got[f.noFile.ID]; s.Status != "error" || !strings.HasPrefix(s.Message.EN, "Not sent to the agent: ") {
		t.Errorf("upload without its file: %+v", s)
	}

	// The agent reports htop missing.
	at := time.Now().UTC().Truncate(time.Millisecond)
	msg := core.Text{EN: "htop is not installed: exit code 100. Next attempt at 14:30.", DE: "htop ist nicht installiert"}
	if err := f.st.SaveResults(ctx, f.dev.ID, []core.Result{{ID: core.NewResultID(), Check: core.SoftwareCheckName(f.htop.ID),
		Status: core.StatusFailure, Message: msg, At: at}}); err != nil {
		t.Fatal(err)
	}
	// curl, which no policy wants here, is deployed by a job.
	sub, err := f.svc.DeployPackage(ctx, f.admin, f.curl.ID, DeployRequest{Action: DeployInstall, Devices: []int64{f.dev.ID}})
	if err != nil {
		t.Fatal(err)
	}
	got = byID(mustSoftware(t, f, f.admin))
	if s := got[f.htop.ID]; s.Status != "failure" || s.Message != msg || s.Reported == nil {
		t.Errorf("htop reported missing: %+v", s)
	}
	if s := got[f.curl.ID]; s.Status != SoftwarePending || s.Desired != nil || s.LastDeployment == nil || s.LastDeployment.JobID != sub.JobID {
		t.Errorf("curl queued: %+v", s)
	}
	claims, err := f.st.ClaimScriptRuns(ctx, []int64{f.dev.ID}, time.Now(), time.Minute)
	if err != nil || len(claims.Runs) != 1 {
		t.Fatalf("claiming the run: %+v %v", claims, err)
	}
	r := claims.Runs[0]
	code, now := 0, time.Now()
	r.State, r.ExitCode, r.FinishedAt, r.Meaning, r.SWState, r.SWVersion, r.RebootNeeded = core.RunDone, &code, &now, core.ExitReboot, "installed", "8.5.0", true
	if conflicts, err := f.st.FinishScriptRuns(ctx, []core.ScriptRun{r}); err != nil || len(conflicts) > 0 {
		t.Fatalf("finishing the run: %v %v", conflicts, err)
	}
	if s := byID(mustSoftware(t, f, f.admin))[f.curl.ID]; s.Status != "warning" || !strings.Contains(s.Message.EN, "Installed (8.5.0), restart needed by deployment job") {
		t.Errorf("curl deployed: %+v", s)
	}

	clients, err := f.svc.ClientSoftwareState(ctx, f.admin, f.dev.ClientID)
	if err != nil || len(clients) != 1 || clients[0].DeviceID != f.dev.ID || len(clients[0].Packages) != 4 {
		t.Errorf("client view: %+v %v", clients, err)
	}
	other := f.admin
	other.Scope = core.Scope{Restricted: true, Clients: []int64{f.dev.ClientID + 1000}}
	if _, err := f.svc.DeviceSoftwareState(ctx, other, f.dev.ID); err == nil {
		t.Error("a user outside the client sees the device's software")
	}
	if _, err := f.svc.ClientSoftwareState(ctx, other, f.dev.ClientID); err == nil {
		t.Error("a user outside the client sees the client's software")
	}
}

func mustSoftware(t *testing.T, f softwareFixture, u core.User) DeviceSoftware {
	t.Helper()
	ds, err := f.svc.DeviceSoftwareState(context.Background(), u, f.dev.ID)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}
