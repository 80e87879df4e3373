package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
)

var releaseTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"AgentFiles", testAgentFiles},
	{"AgentFileDeleteDuringRollout", testAgentFileDeleteDuringRollout},
	{"Rollouts", testRollouts},
	{"RolloutCreateConcurrent", testRolloutCreateConcurrent},
	{"AgentUpdates", testAgentUpdates},
	{"AgentVersionCounts", testAgentVersionCounts},
}

// agentFile is a release file; its SHA-256 and signed manifest follow
// from its fields, so that two files never share them by accident.
func agentFile(kind, version, goos, arch string) core.AgentFile {
	name := fmt.Sprintf("wacht-agent-%s-%s-%s-%s", kind, version, goos, arch)
	sum := sha256.Sum256([]byte(name))
	return core.AgentFile{Kind: kind, Version: version, OS: goos, Arch: arch, Name: name,
		SHA256: hex.EncodeToString(sum[:]), Size: int64(1000 + len(name)), KeyID: "k1",
		Signed:     []byte(`{"manifest":{"name":"` + name + `"},"sig":"AP8A"}`),
		UploadedBy: "admin@example.com"}
}

func createAgentFile(t *testing.T, s core.Store, f core.AgentFile) core.AgentFile {
	t.Helper()
	must(t, "CreateAgentFile "+f.Name, s.CreateAgentFile(ctx, &f))
	return f
}

func fileNames(fs []core.AgentFile) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Kind+" "+f.Version+" "+f.OS+"/"+f.Arch)
	}
	return out
}

func testAgentFiles(t *testing.T, s core.Store) {
	f := agentFile("binary", "1.9.0", "linux", "amd64")
	f.SHA256 = "aa" + f.SHA256[2:]
	f.UploadedAt = t0
	must(t, "CreateAgentFile", s.CreateAgentFile(ctx, &f))
	if f.ID == 0 || !f.UploadedAt.Equal(t0) {
		t.Fatalf("after create: %+v", f)
	}
	now := createAgentFile(t, s, agentFile("binary", "1.10.0", "linux", "amd64"))
	if now.UploadedAt.IsZero() || !now.UploadedAt.After(t0) {
		t.Errorf("UploadedAt not set to now: %v", now.UploadedAt)
	}
	createAgentFile(t, s, agentFile("deb", "1.10.0", "linux", "amd64"))
	createAgentFile(t, s, agentFile("binary", "1.10.0", "windows", "amd64"))
	createAgentFile(t, s, agentFile("binary", "1.2.0", "linux", "amd64"))
	createAgentFile(t, s, agentFile("binary", "1.10.0", "linux", "arm64"))

	dup := agentFile("binary", "1.9.0", "linux", "amd64")
	dup.SHA256 = "bb" + dup.SHA256[2:]
	wantErr(t, "same kind, OS, architecture and version", s.CreateAgentFile(ctx, &dup), core.ErrConflict)
	for _, bad := range []func(*core.AgentFile){
		func(f *core.AgentFile) { f.Kind = "" },
		func(f *core.AgentFile) { f.Version = "" },
		func(f *core.AgentFile) { f.OS = "" },
		func(f *core.AgentFile) { f.Arch = "" },
		func(f *core.AgentFile) { f.SHA256 = "" },
		func(f *core.AgentFile) { f.Signed = nil },
	} {
		b := agentFile("rpm", "2.0.0", "linux", "amd64")
		bad(&b)
		wantErr(t, fmt.Sprintf("CreateAgentFile %+v", b), s.CreateAgentFile(ctx, &b), core.ErrInvalid)
	}

	got, err := s.GetAgentFile(ctx, f.ID)
	must(t, "GetAgentFile", err)
	if !reflect.DeepEqual(got, f) {
		t.Errorf("GetAgentFile = %+v\nwant %+v", got, f)
	}
	_, err = s.GetAgentFile(ctx, 999999)
	wantErr(t, "GetAgentFile unknown", err, core.ErrNotFound)

	found, err := s.FindAgentFile(ctx, "binary", "1.9.0", "linux", "amd64")
	must(t, "FindAgentFile", err)
	if !reflect.DeepEqual(found, f) {
		t.Errorf("FindAgentFile = %+v\nwant %+v", found, f)
	}
	for _, q := range [][4]string{
		{"deb", "1.9.0", "linux", "amd64"}, {"binary", "1.9", "linux", "amd64"},
		{"binary", "1.9.0", "windows", "amd64"}, {"binary", "1.9.0", "linux", "arm64"},
	} {
		_, err := s.FindAgentFile(ctx, q[0], q[1], q[2], q[3])
		wantErr(t, fmt.Sprintf("FindAgentFile %q", q), err, core.ErrNotFound)
	}

	list, err := s.ListAgentFiles(ctx)
	must(t, "ListAgentFiles", err)
	want := []string{
		"binary 1.10.0 linux/amd64", "binary 1.10.0 linux/arm64", "binary 1.10.0 windows/amd64",
		"deb 1.10.0 linux/amd64", "binary 1.9.0 linux/amd64", "binary 1.2.0 linux/amd64",
	}
	if got := fileNames(list); !slices.Equal(got, want) {
		t.Errorf("ListAgentFiles = %q\nwant %q (1.10.0 > 1.9.0 > 1.2.0)", got, want)
	}
	if i := slices.IndexFunc(list, func(l core.AgentFile) bool { return l.ID == f.ID }); i < 0 || !reflect.DeepEqual(list[i], f) {
		t.Errorf("listed file %d differs from the stored %+v: %+v", f.ID, f, list)
	}

	inUse, err := s.AgentFileBlobInUse(ctx, f.SHA256)
	must(t, "AgentFileBlobInUse", err)
	if !inUse {
		t.Errorf("AgentFileBlobInUse(%s) = false for a stored file", f.SHA256)
	}
	if inUse, err := s.AgentFileBlobInUse(ctx, dup.SHA256); err != nil || inUse {
		t.Errorf("AgentFileBlobInUse of a never stored file = %v, %v", inUse, err)
	}

	must(t, "DeleteAgentFile", s.DeleteAgentFile(ctx, f.ID))
	wantErr(t, "DeleteAgentFile again", s.DeleteAgentFile(ctx, f.ID), core.ErrNotFound)
	_, err = s.GetAgentFile(ctx, f.ID)
	wantErr(t, "GetAgentFile deleted", err, core.ErrNotFound)
	if inUse, err := s.AgentFileBlobInUse(ctx, f.SHA256); err != nil || inUse {
		t.Errorf("AgentFileBlobInUse after the delete = %v, %v", inUse, err)
	}
	// The same file may be uploaded again.
	again := f
	again.ID = 0
	must(t, "CreateAgentFile after delete", s.CreateAgentFile(ctx, &again))
}

func testAgentFileDeleteDuringRollout(t *testing.T, s core.Store) {
	newer := createAgentFile(t, s, agentFile("binary", "1.10.0", "linux", "amd64"))
	msi := createAgentFile(t, s, agentFile("msi", "1.10.0", "windows", "amd64"))
	older := createAgentFile(t, s, agentFile("binary", "1.9.0", "linux", "amd64"))
	r := core.Rollout{Version: "1.10.0", MaxFailures: 1, WatchdogSeconds: 300, Concurrency: 10}
	must(t, "CreateRollout", s.CreateRollout(ctx, &r))

	wantErr(t, "delete a file of the running rollout's version", s.DeleteAgentFile(ctx, newer.ID), core.ErrConflict)
	wantErr(t, "delete another kind of that version", s.DeleteAgentFile(ctx, msi.ID), core.ErrConflict)
	must(t, "delete a file of another version", s.DeleteAgentFile(ctx, older.ID))

	r.State, r.PauseReason = core.RolloutPaused, core.Text{EN: "paused", DE: "angehalten"}
	must(t, "pause", s.UpdateRollout(ctx, &r))
	wantErr(t, "delete during a paused rollout", s.DeleteAgentFile(ctx, newer.ID), core.ErrConflict)
	if _, err := s.GetAgentFile(ctx, newer.ID); err != nil {
		t.Errorf("the refused delete removed the file: %v", err)
	}

	fin := t0.Add(time.Hour)
	r.State, r.FinishedAt = core.RolloutCancelled, &fin
	must(t, "cancel", s.UpdateRollout(ctx, &r))
	must(t, "delete after the rollout ended", s.DeleteAgentFile(ctx, newer.ID))
	must(t, "delete the MSI after the rollout ended", s.DeleteAgentFile(ctx, msi.ID))
	list, err := s.ListAgentFiles(ctx)
	if err != nil || len(list) != 0 {
		t.Errorf("ListAgentFiles after deleting all = %q, %v", fileNames(list), err)
	}
}

func testRollouts(t *testing.T, s core.Store) {
	if _, err := s.ActiveRollout(ctx); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("ActiveRollout without any = %v, want ErrNotFound", err)
	}
	pilot := site(t, s, "Pilot GmbH", "HQ")
	r1 := core.Rollout{Version: "1.10.0", PilotClients: []int64{pilot.ClientID, 424242}, PilotPercent: 10,
		AutoPromote: true, MaxFailures: 3, WatchdogSeconds: 300, Concurrency: 20, CreatedBy: "anna@example.com",
		CreatedAt: t0, State: core.RolloutDone, Stage: core.StageAll}
	must(t, "CreateRollout", s.CreateRollout(ctx, &r1))
	if r1.ID == 0 || r1.State != core.RolloutRunning || r1.Stage != core.StagePilot || !r1.CreatedAt.Equal(t0) ||
		!r1.UpdatedAt.Equal(t0) || r1.FinishedAt != nil {
		t.Fatalf("after create: %+v", r1)
	}
	got, err := s.GetRollout(ctx, r1.ID)
	must(t, "GetRollout", err)
	if !reflect.DeepEqual(got, r1) {
		t.Errorf("GetRollout = %+v\nwant %+v", got, r1)
	}
	_, err = s.GetRollout(ctx, 999999)
	wantErr(t, "GetRollout unknown", err, core.ErrNotFound)

	r2 := core.Rollout{Version: "1.11.0", MaxFailures: 1, WatchdogSeconds: 300, Concurrency: 5}
	wantErr(t, "a second rollout while one runs", s.CreateRollout(ctx, &r2), core.ErrConflict)
	for _, bad := range []core.Rollout{
		{Version: "", MaxFailures: 1},
		{Version: "2.0.0", PilotPercent: 101, MaxFailures: 1},
		{Version: "2.0.0", PilotPercent: -1, MaxFailures: 1},
		{Version: "2.0.0", MaxFailures: 1, Concurrency: -1},
	} {
		wantErr(t, fmt.Sprintf("CreateRollout %+v", bad), s.CreateRollout(ctx, &bad), core.ErrInvalid)
	}

	before := r1.UpdatedAt
	r1.State, r1.PauseReason = core.RolloutPaused, core.Text{EN: "3 devices failed", DE: "3 Geräte fehlgeschlagen"}
	r1.Stage, r1.PilotClients, r1.PilotPercent, r1.AutoPromote, r1.AllowDowngrade = core.StageAll, nil, 25, false, true
	r1.MaxFailures, r1.WatchdogSeconds, r1.Concurrency = 7, 600, 50
	r1.Version, r1.CreatedBy = "9.9.9", "mallory" // not settings: they stay
	must(t, "UpdateRollout", s.UpdateRollout(ctx, &r1))
	if !r1.UpdatedAt.After(before) {
		t.Errorf("UpdatedAt = %v, not after %v", r1.UpdatedAt, before)
	}
	active, err := s.ActiveRollout(ctx)
	must(t, "ActiveRollout", err)
	want := r1
	want.Version, want.CreatedBy = "1.10.0", "anna@example.com"
	want.PilotClients = []int64{}
	if active.PilotClients == nil {
		active.PilotClients = []int64{}
	}
	if !reflect.DeepEqual(active, want) {
		t.Errorf("ActiveRollout after pausing = %+v\nwant %+v", active, want)
	}
	wantErr(t, "a second rollout while one is paused", s.CreateRollout(ctx, &r2), core.ErrConflict)
	unknown := core.Rollout{ID: 999999, Version: "1", State: core.RolloutDone, Stage: core.StageAll}
	wantErr(t, "UpdateRollout unknown", s.UpdateRollout(ctx, &unknown), core.ErrNotFound)

	fin := t0.Add(2 * time.Hour)
	r1.State, r1.FinishedAt, r1.PauseReason = core.RolloutDone, &fin, core.Text{}
	must(t, "finish", s.UpdateRollout(ctx, &r1))
	_, err = s.ActiveRollout(ctx)
	wantErr(t, "ActiveRollout after the rollout finished", err, core.ErrNotFound)
	if got, err := s.GetRollout(ctx, r1.ID); err != nil || got.FinishedAt == nil || !got.FinishedAt.Equal(fin) ||
		got.State != core.RolloutDone || got.PauseReason != (core.Text{}) {
		t.Errorf("finished rollout = %+v, %v", got, err)
	}

	must(t, "CreateRollout after the first finished", s.CreateRollout(ctx, &r2))
	if r2.Stage != core.StageAll || r2.State != core.RolloutRunning {
		t.Errorf("rollout without a pilot ring: stage %q state %q, want all, running", r2.Stage, r2.State)
	}
	if active, err := s.ActiveRollout(ctx); err != nil || active.ID != r2.ID {
		t.Errorf("ActiveRollout = %d, %v; want %d", active.ID, err, r2.ID)
	}
	// Resuming the old rollout would make two active ones.
	r1.State, r1.FinishedAt = core.RolloutRunning, nil
	wantErr(t, "resume a finished rollout while another runs", s.UpdateRollout(ctx, &r1), core.ErrConflict)

	r3 := core.Rollout{Version: "1.12.0", PilotPercent: 5, MaxFailures: 1, WatchdogSeconds: 300, Concurrency: 5}
	r2.State = core.RolloutCancelled
	must(t, "cancel r2", s.UpdateRollout(ctx, &r2))
	must(t, "CreateRollout r3", s.CreateRollout(ctx, &r3))
	if r3.Stage != core.StagePilot {
		t.Errorf("rollout with a pilot percentage only: stage %q, want pilot", r3.Stage)
	}

	list, err := s.ListRollouts(ctx, 0)
	must(t, "ListRollouts", err)
	var ids []int64
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	if !slices.Equal(ids, []int64{r3.ID, r2.ID, r1.ID}) {
		t.Errorf("ListRollouts(0) = %v, want newest first %v", ids, []int64{r3.ID, r2.ID, r1.ID})
	}
	if list[2].Version != "1.10.0" || list[2].State != core.RolloutDone || list[1].State != core.RolloutCancelled {
		t.Errorf("listed rollouts = %+v", list)
	}
	list, err = s.ListRollouts(ctx, 2)
	must(t, "ListRollouts(2)", err)
	if len(list) != 2 || list[0].ID != r3.ID || list[1].ID != r2.ID {
		t.Errorf("ListRollouts(2) = %+v", list)
	}
}

// testRolloutCreateConcurrent starts rollouts at once, as two servers
// might: exactly one runs.
func testRolloutCreateConcurrent(t *testing.T, s core.Store) {
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			r := core.Rollout{Version: fmt.Sprintf("1.%d.0", i), MaxFailures: 1, WatchdogSeconds: 60, Concurrency: 1}
			errs[i] = s.CreateRollout(ctx, &r)
		})
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, core.ErrConflict):
			t.Errorf("CreateRollout %d: %v, want nil or ErrConflict", i, err)
		}
	}
	list, err := s.ListRollouts(ctx, 0)
	must(t, "ListRollouts", err)
	if ok != 1 || len(list) != 1 {
		t.Errorf("%d of %d concurrent rollouts created, %d stored; want exactly one", ok, n, len(list))
	}
}

// agentDevice enrolls a device with an agent version, OS and architecture.
func agentDevice(t *testing.T, s core.Store, siteID int64, host, goos, arch, version string) core.Device {
	t.Helper()
	token(t, s, siteID, "secret-"+host, 1)
	d := core.Device{Hostname: host, OS: goos, Arch: arch, AgentVersion: version, MachineID: "mid-" + host,
		PublicKey: []byte("key-" + host)}
	must(t, "Enroll "+host, s.Enroll(ctx, []byte("secret-"+host), &d, t0))
	return d
}

func testAgentUpdates(t *testing.T, s core.Store) {
	a := site(t, s, "Alpha AG", "HQ")
	b := site(t, s, "Beta KG", "Lager")
	beta := agentDevice(t, s, b.ID, "beta", "linux", "amd64", "1.9.0")
	alpha := agentDevice(t, s, a.ID, "alpha", "windows", "amd64", "1.9.0")
	gamma := agentDevice(t, s, a.ID, "gamma", "linux", "arm64", "1.9.0")
	r := core.Rollout{Version: "1.10.0", MaxFailures: 1, WatchdogSeconds: 300, Concurrency: 10}
	must(t, "CreateRollout", s.CreateRollout(ctx, &r))

	if list, err := s.ListAgentUpdates(ctx, r.ID); err != nil || len(list) != 0 {
		t.Errorf("ListAgentUpdates before any = %+v, %v", list, err)
	}
	ub := core.AgentUpdate{RolloutID: r.ID, DeviceID: beta.ID, FromVersion: "1.9.0", ToVersion: "1.10.0",
		State: core.UpdateSent, Attempts: 1, SentAt: t0}
	must(t, "PutAgentUpdate beta", s.PutAgentUpdate(ctx, ub))
	fin := t0.Add(time.Minute)
	ua := core.AgentUpdate{RolloutID: r.ID, DeviceID: alpha.ID, FromVersion: "1.9.0", ToVersion: "1.10.0",
		State: core.UpdateDone, Attempts: 1, SentAt: t0.Add(time.Second), FinishedAt: &fin}
	must(t, "PutAgentUpdate alpha", s.PutAgentUpdate(ctx, ua))
	ug := core.AgentUpdate{RolloutID: r.ID, DeviceID: gamma.ID, FromVersion: "1.9.0", ToVersion: "1.10.0",
		State: core.UpdateSent, Attempts: 1, SentAt: t0}
	must(t, "PutAgentUpdate gamma", s.PutAgentUpdate(ctx, ug))

	// Beta's watchdog rolled the new build back: the row is replaced.
	ub.State, ub.Code, ub.Attempts, ub.FinishedAt = core.UpdateRolledBack, "watchdog", 2, &fin
	ub.Error = core.Text{EN: "the new agent did not connect", DE: "der neue Agent hat sich nicht verbunden"}
	must(t, "PutAgentUpdate beta again", s.PutAgentUpdate(ctx, ub))

	list, err := s.ListAgentUpdates(ctx, r.ID)
	must(t, "ListAgentUpdates", err)
	ua.Hostname, ua.ClientID = "alpha", a.ClientID
	ub.Hostname, ub.ClientID = "beta", b.ClientID
	ug.Hostname, ug.ClientID = "gamma", a.ClientID
	if want := []core.AgentUpdate{ua, ub, ug}; !reflect.DeepEqual(list, want) {
		t.Errorf("ListAgentUpdates =\n%+v\nwant\n%+v", list, want)
	}

	wantErr(t, "PutAgentUpdate unknown device",
		s.PutAgentUpdate(ctx, core.AgentUpdate{RolloutID: r.ID, DeviceID: 999999, ToVersion: "1.10.0", State: core.UpdateSent}), core.ErrNotFound)
	wantErr(t, "PutAgentUpdate unknown rollout",
		s.PutAgentUpdate(ctx, core.AgentUpdate{RolloutID: 999999, DeviceID: alpha.ID, ToVersion: "1.10.0", State: core.UpdateSent}), core.ErrNotFound)
	wantErr(t, "PutAgentUpdate without state",
		s.PutAgentUpdate(ctx, core.AgentUpdate{RolloutID: r.ID, DeviceID: alpha.ID, ToVersion: "1.10.0"}), core.ErrInvalid)

	// Updates of another rollout stay apart.
	r.State = core.RolloutDone
	must(t, "finish", s.UpdateRollout(ctx, &r))
	r2 := core.Rollout{Version: "1.11.0", MaxFailures: 1, WatchdogSeconds: 300, Concurrency: 10}
	must(t, "CreateRollout 2", s.CreateRollout(ctx, &r2))
	must(t, "PutAgentUpdate of rollout 2", s.PutAgentUpdate(ctx, core.AgentUpdate{RolloutID: r2.ID, DeviceID: alpha.ID,
		FromVersion: "1.10.0", ToVersion: "1.11.0", State: core.UpdateFailed, Code: "downgrade", SentAt: t0}))
	if list, err := s.ListAgentUpdates(ctx, r.ID); err != nil || len(list) != 3 {
		t.Errorf("ListAgentUpdates of rollout 1 after rollout 2's update: %d rows, %v", len(list), err)
	}
	if list, err := s.ListAgentUpdates(ctx, r2.ID); err != nil || len(list) != 1 || list[0].Code != "downgrade" {
		t.Errorf("ListAgentUpdates of rollout 2 = %+v, %v", list, err)
	}

	// A deleted device takes its updates along.
	db := s.(*store.DB)
	if _, err := db.SQL().ExecContext(ctx, `DELETE FROM devices WHERE id = $1`, beta.ID); err != nil {
		t.Fatal(err)
	}
	list, err = s.ListAgentUpdates(ctx, r.ID)
	must(t, "ListAgentUpdates after deleting beta", err)
	if len(list) != 2 || list[0].DeviceID != alpha.ID || list[1].DeviceID != gamma.ID {
		t.Errorf("ListAgentUpdates after deleting beta = %+v", list)
	}
}

func testAgentVersionCounts(t *testing.T, s core.Store) {
	if counts, err := s.AgentVersionCounts(ctx); err != nil || len(counts) != 0 {
		t.Errorf("AgentVersionCounts of no devices = %+v, %v", counts, err)
	}
	st := site(t, s, "Müller GmbH", "Zentrale")
	for i := range 3 {
		agentDevice(t, s, st.ID, fmt.Sprintf("new%d", i), "linux", "amd64", "1.10.0")
	}
	agentDevice(t, s, st.ID, "old-linux", "linux", "amd64", "1.9.0")
	agentDevice(t, s, st.ID, "old-windows", "windows", "amd64", "1.9.0")
	agentDevice(t, s, st.ID, "ancient", "linux", "amd64", "1.2.0")
	retired := agentDevice(t, s, st.ID, "retired", "linux", "amd64", "1.9.0")
	must(t, "RetireDevice", s.RetireDevice(ctx, retired.ID, t0))
	gone := agentDevice(t, s, st.ID, "retired-only", "darwin", "arm64", "1.8.0")
	must(t, "RetireDevice", s.RetireDevice(ctx, gone.ID, t0))
	// A reported version moves a device to another row.
	moved := agentDevice(t, s, st.ID, "moved", "linux", "amd64", "1.9.0")
	must(t, "TouchDevice", s.TouchDevice(ctx, moved.ID, t0, "1.10.0"))
	// Network devices run no agent.
	probe := agentDevice(t, s, st.ID, "probe", "linux", "arm64", "1.10.0")
	nd := core.NetDevice{SiteID: st.ID, Name: "Core router", Address: "192.0.2.1", Type: "router", ProbeID: probe.ID}
	must(t, "CreateNetDevice", s.CreateNetDevice(ctx, &nd))

	counts, err := s.AgentVersionCounts(ctx)
	must(t, "AgentVersionCounts", err)
	want := []core.VersionCount{
		{Version: "1.10.0", OS: "linux", Arch: "amd64", Devices: 4},
		{Version: "1.10.0", OS: "linux", Arch: "arm64", Devices: 1},
		{Version: "1.9.0", OS: "linux", Arch: "amd64", Devices: 1},
		{Version: "1.9.0", OS: "windows", Arch: "amd64", Devices: 1},
		{Version: "1.2.0", OS: "linux", Arch: "amd64", Devices: 1},
	}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("AgentVersionCounts =\n%+v\nwant (retired and network devices left out, newest version first)\n%+v", counts, want)
	}
}
