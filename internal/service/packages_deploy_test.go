package service

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/store"
)

// fakeAgent is a Remote whose agents are all connected to this node and
// answer package actions with answer; it keeps what it was sent.
type fakeAgent struct {
	fakeRemote
	signer []byte // lock mode's script signer of every device
	answer protocol.PackageResult
	sent   []protocol.PackageArgs
}

func (f *fakeAgent) Do(_ context.Context, _ int64, typ string, args, reply any) error {
	f.calls = append(f.calls, typ)
	a, ok := args.(protocol.PackageArgs)
	if !ok {
		return errors.New("not a package action")
	}
	f.sent = append(f.sent, a)
	b, _ := json.Marshal(f.answer)
	return json.Unmarshal(b, reply)
}

func (f *fakeAgent) Connected(int64) bool            { return true }
func (f *fakeAgent) ScriptSigner(int64) []byte       { return f.signer }
func (f *fakeAgent) Disabled(int64) ([]string, bool) { return f.locks, true }

// deployFixture is the remote fixture's store and users with a service
// that has a secret key, a fake agent, a clock, a dispatcher, and an apt
// package for the fixture's Linux device.
type deployFixture struct {
	*remoteFixture
	svc   *Service
	agent *fakeAgent
	at    time.Time
	d     *ScriptDispatcher
	pkg   core.Package
}

func newDeployFixture(t *testing.T) *deployFixture {
	f := &deployFixture{remoteFixture: newRemoteFixture(t), agent: &fakeAgent{}, at: time.Now().Truncate(time.Millisecond)}
	box, err := seal.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	f.svc = New(Deps{Store: f.st, Commander: f.agent, Secrets: box, PasswordCost: authtest.Cost})
	f.svc.Now = func() time.Time { return f.at }
	f.d = f.svc.ScriptDispatcher(DispatchOptions{})
	f.pkg, err = f.svc.SavePackage(context.Background(), f.admin, 0, PackageInput{Name: "htop", Version: "3", OS: "linux", Kind: core.PkgApt,
		ManagerID: "htop", Detection: core.Detection{Kind: core.DetectOSPackage, Name: "htop"},
		Params: []core.PackageParam{{Name: "token", Value: "s3cret", Secret: true}}})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// dispatch claims the device's next due run and sends it as the node's
// dispatcher does, its outcome stored when it returns; false if none was
// due.
func (f *deployFixture) dispatch(t *testing.T) bool {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { grouped(ctx, f.d.finishes, 10, f.d.finishGroup); close(done) }()
	defer func() { cancel(); <-done }()
	c := f.d.claimGroup([]int64{f.dev.ID})[0]
	if c.err != nil {
		t.Fatal(c.err)
	}
	if c.ok {
		f.d.send(ctx, c)
	}
	return c.ok
}

func (f *deployFixture) deploy(t *testing.T, action string) int64 {
	t.Helper()
	sub, err := f.svc.DeployPackage(context.Background(), f.tech, f.pkg.ID, DeployRequest{Action: action, Devices: []int64{f.dev.ID}})
	if err != nil || sub.Runs != 1 {
		t.Fatalf("deploy: %+v, %v", sub, err)
	}
	return sub.JobID
}

func (f *deployFixture) run(t *testing.T, job int64) core.ScriptRun {
	t.Helper()
	runs, err := f.st.ListScriptRuns(context.Background(), core.ScriptRunFilter{JobID: job})
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs of job %d: %+v, %v", job, runs, err)
	}
	return runs[0]
}

// TestDeployPackageTargets: who may deploy, to which devices, and which
// packages.
func TestDeployPackageTargets(t *testing.T) {
	f := newDeployFixture(t)
	ctx := context.Background()
	req := DeployRequest{Action: DeployInstall, Devices: []int64{f.dev.ID}}
	if _, err := f.svc.DeployPackage(ctx, f.readonly, f.pkg.ID, req); !errors.Is(err, core.ErrForbidden) {
		t.Errorf("read-only: %v", err)
	}
	if _, err := f.svc.DeployPackage(ctx, f.foreign, f.pkg.ID, req); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("technician of another client: %v", err)
	}
	if _, err := f.svc.DeployPackage(ctx, f.foreign, f.pkg.ID, DeployRequest{Action: DeployInstall, Client: f.dev.ClientID}); !errors.Is(err, core.ErrNotFound) {
		t.Errorf("another client's devices: %v", err)
	}
	_, err := f.svc.DeployPackage(ctx, f.tech, f.pkg.ID, DeployRequest{Action: "reinstall", Devices: req.Devices})
	wantFields(t, "unknown action", err, "action")
	_, err = f.svc.DeployPackage(ctx, f.tech, f.pkg.ID, DeployRequest{Action: DeployInstall, Devices: req.Devices, ExpiresMinutes: -1})
	wantFields(t, "bad expiry", err, "expires_minutes")

	// The 2FA rule of remote actions.
	if err := f.svc.SetRemoteSettings(ctx, f.admin, RemoteSettings{Require2FA: true, RecordingDays: 30}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.DeployPackage(ctx, f.tech, f.pkg.ID, req); !errors.Is(err, ErrRemote2FA) {
		t.Errorf("without a second factor: %v", err)
	}
	if err := f.svc.SetRemoteSettings(ctx, f.admin, RemoteSettings{RecordingDays: 30}); err != nil {
		t.Fatal(err)
	}

	// A Windows package: the named Linux device is refused, the client's
	// skipped (leaving none).
	win, err := f.svc.SavePackage(ctx, f.admin, 0, PackageInput{Name: "7-Zip", Version: "24", OS: "windows", Kind: core.PkgWinget,
		ManagerID: "7zip.7zip", Detection: core.Detection{Kind: core.DetectRegistry, DisplayName: "7-Zip*"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.DeployPackage(ctx, f.tech, win.ID, req)
	wantFields(t, "Windows package on a Linux device", err, "devices")
	_, err = f.svc.DeployPackage(ctx, f.tech, win.ID, DeployRequest{Action: DeployInstall, Client: f.dev.ClientID})
	wantFields(t, "Windows package on a Linux client", err, "devices")

	// Software locked on the device: named refused, of a client skipped.
	f.agent.locks = []string{protocol.LockSoftware}
	var ae *protocol.ActionError
	if _, err := f.svc.DeployPackage(ctx, f.tech, f.pkg.ID, req); !errors.As(err, &ae) || ae.Code != protocol.CodeDisabledLocally {
		t.Errorf("software locked: %v", err)
	}
	_, err = f.svc.DeployPackage(ctx, f.tech, f.pkg.ID, DeployRequest{Action: DeployInstall, Client: f.dev.ClientID})
	wantFields(t, "software locked on the client's devices", err, "devices")
	f.agent.locks = nil
	// Lock mode refuses packages.
	f.agent.signer = []byte("signer")
	if _, err := f.svc.DeployPackage(ctx, f.tech, f.pkg.ID, req); !errors.As(err, &ae) || ae.Code != protocol.CodeScriptSigner {
		t.Errorf("lock mode: %v", err)
	}
	f.agent.signer = nil

	// An upload without its file.
	up, err := f.svc.SavePackage(ctx, f.admin, 0, PackageInput{Name: "tool", Version: "1", OS: "linux", Kind: core.PkgUpload,
		Install: []string{"sh", "{{file}}"}, Detection: core.Detection{Kind: core.DetectFile, Path: "/opt/tool"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.DeployPackage(ctx, f.tech, up.ID, req)
	wantFields(t, "upload without its file", err, "package")

	// A definition changed in the database behind the server's back.
	db := f.st.(*store.DB)
	if _, err := db.SQL().ExecContext(ctx, `UPDATE packages SET manager_id = 'evil' WHERE id = $1`, f.pkg.ID); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.DeployPackage(ctx, f.tech, f.pkg.ID, req)
	wantFields(t, "inauthentic package", err, "package")
	if _, err := db.SQL().ExecContext(ctx, `UPDATE packages SET manager_id = 'htop' WHERE id = $1`, f.pkg.ID); err != nil {
		t.Fatal(err)
	}

	sub, err := f.svc.DeployPackage(ctx, f.tech, f.pkg.ID, DeployRequest{Action: DeployUninstall, Client: f.dev.ClientID, ExpiresMinutes: 30})
	if err != nil || sub.Runs != 1 || len(sub.Skipped) != 0 {
		t.Fatalf("deploy to the client: %+v, %v", sub, err)
	}
	v, err := f.svc.GetJob(ctx, f.readonly, sub.JobID)
	if err != nil || v.Action != protocol.ActionUninstall || v.PackageName != "htop" || v.PackageVersion != "3" || v.ScriptID != 0 ||
		len(v.Runs) != 1 || v.Runs[0].PackageName != "htop" || !v.ExpiresAt.Equal(f.at.Add(30*time.Minute)) {
		t.Errorf("job: %+v, %v", v, err)
	}
	audit, _ := f.st.ListAudit(ctx, 5)
	if len(audit) == 0 || audit[0].Action != "package.deploy" || !strings.Contains(audit[0].Detail, "uninstall") || strings.Contains(audit[0].Detail, "s3cret") {
		t.Errorf("audit: %+v", audit)
	}
}

// TestPackageDispatch: what the agent is sent, and what becomes of each
// answer: done with the detected state, failed, retried later with a new
// agent run ID (1618), refused when the run or the package is not what the
// server queued.
func TestPackageDispatch(t *testing.T) {
	f := newDeployFixture(t)
	ctx := context.Background()

	job := f.deploy(t, DeployInstall)
	f.agent.answer = protocol.PackageResult{ExitCode: 3010, Meaning: core.ExitReboot, RebootNeeded: true, State: "installed", Version: "3.0.1",
		Stdout: "token s3cret used"}
	if !f.dispatch(t) {
		t.Fatal("nothing to dispatch")
	}
	a := f.agent.sent[0]
	r := f.run(t, job)
	if f.agent.calls[0] != protocol.ActionInstall || a.RunID != r.ID || a.Kind != core.PkgApt || a.ManagerID != "htop" ||
		a.Secrets["token"] != "s3cret" || a.Detection.Name != "htop" || a.TimeoutSeconds != DefaultPackageTimeout || len(a.Command) != 0 {
		t.Errorf("sent %s %+v", f.agent.calls[0], a)
	}
	if err := a.Validate(); err != nil {
		t.Errorf("the agent would refuse the arguments: %v", err)
	}
	if r.State != core.RunDone || !r.RebootNeeded || r.SWState != "installed" || r.SWVersion != "3.0.1" || *r.ExitCode != 3010 ||
		r.Stdout != "token "+protocol.ScriptMask+" used" {
		t.Errorf("done run %+v", r)
	}

	// Another installation is running: back to the queue with back-off.
	job = f.deploy(t, DeployUninstall)
	f.agent.answer = protocol.PackageResult{ExitCode: 1618, Meaning: core.ExitRetry, Code: protocol.CodeBusy,
		Message: core.Text{EN: "Another installation is running", DE: "Eine andere Installation läuft"}}
	f.dispatch(t)
	r = f.run(t, job)
	if r.State != core.RunQueued || r.Retries != 1 || r.NotBefore == nil || !r.NotBefore.Equal(f.at.Add(time.Minute)) || r.Error.DE == "" {
		t.Fatalf("run to retry %+v", r)
	}
	if f.dispatch(t) {
		t.Fatal("a run sent again before its retry time")
	}
	f.at = f.at.Add(time.Minute)
	f.agent.answer = protocol.PackageResult{ExitCode: 0, Meaning: core.ExitFailed, Code: protocol.CodeFailed, State: "installed",
		Message: core.Text{EN: "The uninstaller exited with 0, but the rule still finds the package", DE: "…"}}
	if !f.dispatch(t) {
		t.Fatal("the retry was not sent at its time")
	}
	a = f.agent.sent[len(f.agent.sent)-1]
	if a.RunID != r.ID+"-r1" || f.agent.calls[len(f.agent.calls)-1] != protocol.ActionUninstall {
		t.Errorf("retry sent as %s %q, want a new run ID", f.agent.calls[len(f.agent.calls)-1], a.RunID)
	}
	if r = f.run(t, job); r.State != core.RunFailed || r.ErrorCode != protocol.CodeFailed || !strings.Contains(r.Error.EN, "still finds") {
		t.Errorf("failed run %+v", r)
	}

	// A run whose row was written outside the server: refused, not sent.
	sent := len(f.agent.sent)
	job = f.deploy(t, DeployInstall)
	db := f.st.(*store.DB)
	if _, err := db.SQL().ExecContext(ctx, `UPDATE script_jobs SET action = 'package_uninstall' WHERE id = $1`, job); err != nil {
		t.Fatal(err)
	}
	f.dispatch(t)
	if r = f.run(t, job); r.State != core.RunFailed || !strings.Contains(r.Error.EN, "authentication") || len(f.agent.sent) != sent {
		t.Errorf("forged run: %+v, %d sent", r, len(f.agent.sent)-sent)
	}

	// The package edited after queueing: refused with the reason.
	job = f.deploy(t, DeployInstall)
	if _, err := f.svc.SavePackage(ctx, f.admin, f.pkg.ID, PackageInput{Name: "htop", Version: "3", OS: "linux", Kind: core.PkgApt,
		ManagerID: "btop", Detection: core.Detection{Kind: core.DetectOSPackage, Name: "btop"},
		Params: []core.PackageParam{{Name: "token", Secret: true}}}); err != nil {
		t.Fatal(err)
	}
	f.dispatch(t)
	if r = f.run(t, job); r.State != core.RunFailed || !strings.Contains(r.Error.EN, "changed after this deployment was queued") || len(f.agent.sent) != sent {
		t.Errorf("run of a changed package: %+v, %d sent", r, len(f.agent.sent)-sent)
	}

	// Deleting the package while a deployment waits: 409 unless forced,
	// which cancels it.
	f.pkg, _ = f.svc.GetPackage(ctx, f.admin, f.pkg.ID)
	job = f.deploy(t, DeployInstall)
	var inUse *PackageInUseError
	if err := f.svc.DeletePackage(ctx, f.admin, f.pkg.ID, false); !errors.As(err, &inUse) || !errors.Is(err, core.ErrConflict) || inUse.Waiting != 1 {
		t.Fatalf("delete while a deployment waits: %v", err)
	}
	if err := f.svc.DeletePackage(ctx, f.admin, f.pkg.ID, true); err != nil {
		t.Fatal(err)
	}
	if r = f.run(t, job); r.State != core.RunCancelled || !strings.Contains(r.Error.EN, "package was deleted") || r.Error.DE == "" {
		t.Errorf("run of a deleted package: %+v", r)
	}
	if f.dispatch(t) || len(f.agent.sent) != sent {
		t.Error("a cancelled run was sent")
	}
}
