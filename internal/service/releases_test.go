package service

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/release"
	"github.com/wacht-rmm/wacht/internal/release/releasetest"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
	"github.com/wacht-rmm/wacht/internal/store"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

func signFile(t testing.TB, key ed25519.PrivateKey, kind, version, goos, arch, name string, body []byte) release.Signed {
	t.Helper()
	sum := sha256.Sum256(body)
	s, err := release.Sign(key, release.Manifest{Product: release.Product, Kind: kind, Version: version, OS: goos, Arch: arch,
		Name: name, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body))})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// updater is a fake agent fleet behind the Remote: each update action is
// answered by answer (nil: restarting) and kept.
type updater struct {
	fakeRemote
	mu      sync.Mutex
	sent    map[int64]protocol.AgentUpdateArgs
	order   []int64
	answer  func(device int64) error
	offline map[int64]bool
	locked  map[int64]bool
}

func (u *updater) Do(_ context.Context, id int64, typ string, args, reply any) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if typ != protocol.ActionAgentUpdate {
		return errors.New("not an update")
	}
	if u.offline[id] {
		return core.ErrOffline
	}
	u.sent[id] = args.(protocol.AgentUpdateArgs)
	u.order = append(u.order, id)
	if u.answer != nil {
		if err := u.answer(id); err != nil {
			return err
		}
	}
	b, _ := json.Marshal(protocol.AgentUpdateResult{State: protocol.UpdateRestarting})
	return json.Unmarshal(b, reply)
}

func (u *updater) Disabled(id int64) ([]string, bool) {
	if u.locked[id] {
		return []string{protocol.LockSelfUpdate}, true
	}
	return nil, true
}

func (u *updater) OpenStream(context.Context, int64, string, any) (*gateway.Stream, error) {
	return nil, core.ErrOffline
}

func (u *updater) sentTo() []int64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.order)
}

// releaseFixture is a service with a release key, a blob store, a fake
// fleet of agents and a clock, on SQLite or PostgreSQL, with clients
// "Pilot" and "Rest" and an administrator and a technician.
type releaseFixture struct {
	svc         *Service
	st          core.Store
	key         ed25519.PrivateKey
	blobs       *blobs.Store
	fleet       *updater
	at          time.Time
	admin, tech core.User
	pilot, rest core.Client
	sites       map[int64]core.Site
	n           int
}

func engines(t *testing.T, fn func(t *testing.T, open func(testing.TB) *store.DB)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, storetest.NewSQLite) })
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv(storetest.PostgresEnv) == "" {
			t.Skip(storetest.PostgresEnv + " is not set")
		}
		fn(t, storetest.NewPostgres)
	})
}

func newReleaseFixture(t *testing.T, open func(testing.TB) *store.DB) *releaseFixture {
	t.Helper()
	ctx := context.Background()
	pub, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := blobs.Open(t.TempDir(), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	box, err := seal.NewBox(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	st := open(t)
	f := &releaseFixture{st: st, key: key, blobs: bs, at: time.Now().UTC().Truncate(time.Second), sites: map[int64]core.Site{},
		fleet: &updater{sent: map[int64]protocol.AgentUpdateArgs{}, offline: map[int64]bool{}, locked: map[int64]bool{}}}
	f.svc = New(Deps{Store: st, Commander: f.fleet, Secrets: box, Blobs: bs, ReleaseKeys: []ed25519.PublicKey{pub}, PasswordCost: authtest.Cost})
	f.svc.Now = func() time.Time { return f.at }
	var site core.Site
	if f.pilot, site, err = st.EnsureClientSite(ctx, "Pilot GmbH", "HQ"); err != nil {
		t.Fatal(err)
	}
	f.sites[f.pilot.ID] = site
	if f.rest, site, err = st.EnsureClientSite(ctx, "Rest AG", "HQ"); err != nil {
		t.Fatal(err)
	}
	f.sites[f.rest.ID] = site
	if f.admin, err = f.svc.CreateUser(ctx, CLI, NewUser{Email: "admin@example.com", Password: "long enough", Role: core.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	if f.tech, err = f.svc.CreateUser(ctx, CLI, NewUser{Email: "tech@example.com", Password: "long enough", Role: core.RoleTechnician}); err != nil {
		t.Fatal(err)
	}
	return f
}

// device enrolls a device of client c running version, heard from now.
func (f *releaseFixture) device(t *testing.T, c core.Client, goos, arch, version string) core.Device {
	t.Helper()
	ctx := context.Background()
	f.n++
	secret := fmt.Appendf(nil, "secret-%d", f.n)
	tok := core.EnrollmentToken{SecretHash: secret, SiteID: f.sites[c.ID].ID}
	if err := f.st.CreateEnrollmentToken(ctx, &tok); err != nil {
		t.Fatal(err)
	}
	d := core.Device{Hostname: fmt.Sprintf("pc-%02d", f.n), OS: goos, Arch: arch, MachineID: fmt.Sprintf("mid-%d", f.n),
		PublicKey: fmt.Appendf(nil, "key-%d", f.n), AgentVersion: version}
	if err := f.st.Enroll(ctx, secret, &d, f.at); err != nil {
		t.Fatal(err)
	}
	f.touch(t, d.ID, version)
	d, err := f.st.GetDevice(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *releaseFixture) touch(t *testing.T, id int64, version string) {
	t.Helper()
	if err := f.st.TouchDevice(context.Background(), id, f.at, version); err != nil {
		t.Fatal(err)
	}
}

// publishBinary publishes a linux binary of version for arch.
func (f *releaseFixture) publishBinary(t *testing.T, version, arch string) core.AgentFile {
	t.Helper()
	m := map[string]uint16{"amd64": 62, "arm64": 183}[arch]
	body := releasetest.ELF(elf.Machine(m), "build "+version)
	s := signFile(t, f.key, release.KindBinary, version, "linux", arch, "wacht-agent-linux-"+arch, body)
	af, err := f.svc.PublishAgentFile(context.Background(), f.admin, s, bytes.NewReader(body))
	if err != nil {
		t.Fatalf("publishing %s %s: %v", version, arch, err)
	}
	return af
}

func fieldOf(err error) string {
	var ve *policy.ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) == 0 {
		return ""
	}
	return ve.Fields[0].Field
}

func TestPublishAgentFile(t *testing.T) {
	engines(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		f := newReleaseFixture(t, open)
		ctx := context.Background()
		body := releasetest.ELF(elf.EM_X86_64, "v1")
		good := signFile(t, f.key, release.KindBinary, "0.10.0", "linux", "amd64", "wacht-agent-linux-amd64", body)

		if _, err := f.svc.PublishAgentFile(ctx, f.tech, good, bytes.NewReader(body)); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("technician publishing: %v, want forbidden", err)
		}
		_, other, _ := ed25519.GenerateKey(rand.Reader)
		foreign := signFile(t, other, release.KindBinary, "0.10.0", "linux", "amd64", "wacht-agent-linux-amd64", body)
		if _, err := f.svc.PublishAgentFile(ctx, f.admin, foreign, bytes.NewReader(body)); fieldOf(err) != "manifest" {
			t.Errorf("signed with an untrusted key: %v", err)
		}
		forged := good
		forged.Manifest.Version = "0.11.0"
		if _, err := f.svc.PublishAgentFile(ctx, f.admin, forged, bytes.NewReader(body)); fieldOf(err) != "manifest" {
			t.Errorf("manifest changed after signing: %v", err)
		}
		tampered := slices.Clone(body)
		tampered[len(tampered)-1] ^= 1
		if _, err := f.svc.PublishAgentFile(ctx, f.admin, good, bytes.NewReader(tampered)); fieldOf(err) != "file" {
			t.Errorf("tampered body: %v", err)
		}
		if _, err := f.svc.PublishAgentFile(ctx, f.admin, good, bytes.NewReader(body[:40])); fieldOf(err) != "file" || !strings.Contains(err.Error(), "40 bytes") {
			t.Errorf("truncated body: %v", err)
		}
		wrong := signFile(t, f.key, release.KindBinary, "0.10.0", "linux", "arm64", "wacht-agent-linux-arm64", body)
		if _, err := f.svc.PublishAgentFile(ctx, f.admin, wrong, bytes.NewReader(body)); fieldOf(err) != "file" || !strings.Contains(err.Error(), "linux/amd64") {
			t.Errorf("amd64 executable as arm64: %v", err)
		}
		notExe := []byte("#!/bin/sh\necho hi\n")
		script := signFile(t, f.key, release.KindBinary, "0.10.0", "linux", "amd64", "wacht-agent-linux-amd64", notExe)
		if _, err := f.svc.PublishAgentFile(ctx, f.admin, script, bytes.NewReader(notExe)); fieldOf(err) != "file" {
			t.Errorf("a script as binary: %v", err)
		}
		if fs, err := f.svc.ListAgentFiles(ctx, f.admin); err != nil || len(fs) != 0 {
			t.Fatalf("files after refusals: %v %v", fs, err)
		}

		af, err := f.svc.PublishAgentFile(ctx, f.admin, good, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if af.ID == 0 || af.SHA256 != good.Manifest.SHA256 || af.Size != int64(len(body)) || af.KeyID != good.KeyID || af.UploadedBy != "user:admin@example.com" {
			t.Errorf("published: %+v", af)
		}
		var back release.Signed
		if err := json.Unmarshal(af.Signed, &back); err != nil || back.Verify(f.svc.ReleaseKeys()) != nil {
			t.Errorf("stored manifest does not verify: %v", err)
		}
		if inUse, err := f.st.AgentFileBlobInUse(ctx, af.SHA256); err != nil || !inUse {
			t.Errorf("blob in use: %t %v", inUse, err)
		}
		if _, err := f.svc.PublishAgentFile(ctx, f.admin, good, bytes.NewReader(body)); !errors.Is(err, ErrAgentFileExists) || !errors.Is(err, core.ErrConflict) {
			t.Errorf("duplicate: %v", err)
		}
		if _, ok := Reason(ErrAgentFileExists); !ok {
			t.Error("duplicate: no reason in both languages")
		}

		// Version order, not upload or string order.
		f.publishBinary(t, "0.9.0", "amd64")
		f.publishBinary(t, "0.10.1", "arm64")
		latest, err := f.svc.LatestAgentFile(ctx, release.KindBinary, "linux", "amd64")
		if err != nil || latest.Version != "0.10.0" {
			t.Errorf("latest amd64: %s %v", latest.Version, err)
		}
		if _, err := f.svc.LatestAgentFile(ctx, release.KindMSI, "windows", "amd64"); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("latest MSI: %v", err)
		}
		// Anyone signed in lists; nobody not.
		fs, err := f.svc.ListAgentFiles(ctx, f.tech)
		if err != nil || len(fs) != 3 || fs[0].Version != "0.10.1" || fs[2].Version != "0.9.0" {
			t.Errorf("list: %+v %v", fs, err)
		}
		if _, err := f.svc.ListAgentFiles(ctx, core.User{}); err == nil {
			t.Error("anonymous listing allowed")
		}
		if err := f.svc.DeleteAgentFile(ctx, f.tech, af.ID); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("technician deleting: %v", err)
		}
		if err := f.svc.DeleteAgentFile(ctx, f.admin, af.ID); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteAgentFile(ctx, f.admin, af.ID); !errors.Is(err, core.ErrNotFound) {
			t.Errorf("deleting twice: %v", err)
		}
		audit, err := f.st.ListAudit(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, e := range audit {
			if strings.HasPrefix(e.Action, "agent-file.") {
				acts = append(acts, e.Action)
			}
		}
		if len(acts) != 4 {
			t.Errorf("audited %v, want 3 publications and a deletion", acts)
		}
	})
}

func TestStartRolloutValidation(t *testing.T) {
	engines(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		f := newReleaseFixture(t, open)
		ctx := context.Background()
		f.publishBinary(t, "0.10.0", "amd64")
		for _, c := range []struct {
			nr    NewRollout
			field string
		}{
			{NewRollout{}, "version"},
			{NewRollout{Version: "0.11.0"}, "version"},
			{NewRollout{Version: "0.10.0", PilotPercent: 101}, "pilot_percent"},
			{NewRollout{Version: "0.10.0", PilotPercent: -1}, "pilot_percent"},
			{NewRollout{Version: "0.10.0", PilotClients: []int64{f.pilot.ID, 9999}}, "pilot_clients"},
			{NewRollout{Version: "0.10.0", WatchdogSeconds: 5}, "watchdog_seconds"},
			{NewRollout{Version: "0.10.0", Concurrency: -1}, "concurrency"},
			{NewRollout{Version: "0.10.0", MaxFailures: -3}, "max_failures"},
		} {
			_, err := f.svc.StartRollout(ctx, f.admin, c.nr)
			var ve *policy.ValidationError
			if !errors.As(err, &ve) || ve.Fields[0].Field != c.field || ve.Fields[0].Message.DE == "" {
				t.Errorf("%+v: %v, want an error of %s in both languages", c.nr, err, c.field)
			}
		}
		if _, err := f.svc.StartRollout(ctx, f.tech, NewRollout{Version: "0.10.0"}); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("technician: %v", err)
		}
		r, err := f.svc.StartRollout(ctx, f.admin, NewRollout{Version: "0.10.0", PilotClients: []int64{f.pilot.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if r.State != core.RolloutRunning || r.Stage != core.StagePilot || r.MaxFailures != 1 || r.Concurrency != DefaultConcurrency ||
			r.WatchdogSeconds != int(protocol.DefaultWatchdog.Seconds()) || r.CreatedBy != "user:admin@example.com" {
			t.Errorf("defaults: %+v", r)
		}
		if _, err := f.svc.StartRollout(ctx, f.admin, NewRollout{Version: "0.10.0"}); !errors.Is(err, ErrRolloutActive) {
			t.Errorf("second rollout: %v", err)
		}
		// Transitions.
		for _, c := range []struct {
			action string
			ok     bool
			state  string
		}{
			{RolloutResume, false, ""},
			{RolloutPause, true, core.RolloutPaused},
			{RolloutPause, false, ""},
			{RolloutResume, true, core.RolloutRunning},
			{RolloutPromote, true, core.RolloutRunning},
			{RolloutPromote, false, ""},
			{"explode", false, ""},
			{RolloutCancel, true, core.RolloutCancelled},
			{RolloutCancel, false, ""},
			{RolloutResume, false, ""},
		} {
			got, err := f.svc.RolloutAction(ctx, f.admin, r.ID, c.action)
			switch {
			case c.ok && err != nil:
				t.Errorf("%s: %v", c.action, err)
			case c.ok && got.State != c.state:
				t.Errorf("%s: state %s, want %s", c.action, got.State, c.state)
			case !c.ok && err == nil:
				t.Errorf("%s: allowed in state %s", c.action, got.State)
			case !c.ok && c.action != "explode" && !errors.Is(err, core.ErrConflict):
				t.Errorf("%s: %v, want a conflict", c.action, err)
			}
		}
		got, err := f.svc.GetRollout(ctx, f.admin, r.ID)
		if err != nil || got.Stage != core.StageAll || got.FinishedAt == nil {
			t.Errorf("after promote and cancel: %+v %v", got.Rollout, err)
		}
		if _, err := f.svc.RolloutAction(ctx, f.tech, r.ID, RolloutPause); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("technician pausing: %v", err)
		}
		// Only a pilot ring: straight to everyone.
		r2, err := f.svc.StartRollout(ctx, f.admin, NewRollout{Version: "0.10.0"})
		if err != nil || r2.Stage != core.StageAll {
			t.Errorf("rollout without a pilot ring: %+v %v", r2, err)
		}
	})
}

func TestPilotByPercentageIsStable(t *testing.T) {
	r := core.Rollout{PilotPercent: 10}
	n := 0
	for id := int64(1); id <= 2000; id++ {
		in := InPilot(r, core.Device{ID: id})
		if in != InPilot(r, core.Device{ID: id}) {
			t.Fatal("not stable")
		}
		if in {
			n++
			// A bigger ring keeps the smaller one's devices.
			if !InPilot(core.Rollout{PilotPercent: 30}, core.Device{ID: id}) {
				t.Fatalf("device %d in the 10%% ring but not in the 30%% one", id)
			}
		}
	}
	if n < 120 || n > 280 {
		t.Errorf("10%% of 2000 devices: %d", n)
	}
	for id := int64(1); id <= 200; id++ {
		if InPilot(core.Rollout{}, core.Device{ID: id}) || !InPilot(core.Rollout{PilotPercent: 100}, core.Device{ID: id}) {
			t.Fatalf("0%% or 100%% wrong for device %d", id)
		}
	}
}

// step runs one tick of the rollout loop.
func (f *releaseFixture) step(t *testing.T) {
	t.Helper()
	if err := f.svc.RolloutStep(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (f *releaseFixture) rollout(t *testing.T, id int64) RolloutView {
	t.Helper()
	v, err := f.svc.GetRollout(context.Background(), f.admin, id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRolloutRings(t *testing.T) {
	engines(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		f := newReleaseFixture(t, open)
		ctx := context.Background()
		f.publishBinary(t, "0.10.0", "amd64")
		var pilots, rest []core.Device
		for range 4 {
			pilots = append(pilots, f.device(t, f.pilot, "linux", "amd64", "0.9.0"))
		}
		for range 5 {
			rest = append(rest, f.device(t, f.rest, "linux", "amd64", "0.9.0"))
		}
		newer := f.device(t, f.rest, "linux", "amd64", "0.11.0")
		noBuild := f.device(t, f.rest, "windows", "amd64", "0.9.0")
		current := f.device(t, f.rest, "linux", "amd64", "0.10.0")
		locked := f.device(t, f.pilot, "linux", "amd64", "0.9.0")
		f.fleet.locked[locked.ID] = true
		offline := rest[4]

		r, err := f.svc.StartRollout(ctx, f.admin, NewRollout{Version: "0.10.0", PilotClients: []int64{f.pilot.ID}, AutoPromote: true,
			Concurrency: 3, WatchdogSeconds: 60, MaxFailures: 2})
		if err != nil {
			t.Fatal(err)
		}
		// The agents come back with the version they were sent; the
		// offline one has not been heard from for ten minutes.
		reconnect := func() {
			for _, id := range f.fleet.sentTo() {
				f.touch(t, id, "0.10.0")
			}
			for _, d := range append(append([]core.Device{}, pilots...), rest...) {
				if d.ID == offline.ID {
					continue
				}
				if _, sent := f.fleet.sent[d.ID]; !sent {
					f.touch(t, d.ID, "0.9.0")
				}
			}
		}
		f.at = f.at.Add(10 * time.Minute)
		reconnect()
		f.step(t)
		first := f.fleet.sentTo()
		if len(first) != 3 {
			t.Fatalf("first tick sent %v, want 3 (the concurrency)", first)
		}
		for _, id := range first {
			if !slices.ContainsFunc(pilots, func(d core.Device) bool { return d.ID == id }) {
				t.Errorf("device %d of the rest updated in the pilot ring", id)
			}
			a := f.fleet.sent[id]
			if a.RolloutID != r.ID || a.Build.Manifest.Version != "0.10.0" || a.Build.Verify(f.svc.ReleaseKeys()) != nil || a.Ticket == "" || a.WatchdogSeconds != 60 {
				t.Errorf("update args: %+v", a)
			}
		}
		f.step(t) // nothing heard yet: no more at once
		if n := len(f.fleet.sentTo()); n != 3 {
			t.Errorf("sent %d while 3 are in flight", n)
		}
		v := f.rollout(t, r.ID)
		if v.Counts[core.UpdateSent] != 3 || v.Counts[CountPending] != 1 || v.Counts[CountSkipped] != 3 || v.Counts[CountCurrent] != 1 {
			t.Errorf("counts while the pilot runs: %v", v.Counts)
		}
		f.at = f.at.Add(30 * time.Second)
		reconnect()
		f.step(t) // three updated, the fourth pilot sent
		if got := f.fleet.sentTo(); len(got) != 4 || !slices.ContainsFunc(pilots, func(d core.Device) bool { return d.ID == got[3] }) {
			t.Fatalf("after the first three: %v", got)
		}
		f.at = f.at.Add(30 * time.Second)
		reconnect()
		f.step(t) // pilot done without failures: promoted
		v = f.rollout(t, r.ID)
		if v.Stage != core.StageAll || v.State != core.RolloutRunning {
			t.Fatalf("after the pilot ring: %s %s %v", v.State, v.Stage, v.Counts)
		}
		if _, sent := f.fleet.sent[locked.ID]; sent {
			t.Error("sent to a device with self-update locked")
		}
		for i := 0; i < 6; i++ {
			f.at = f.at.Add(30 * time.Second)
			reconnect()
			f.step(t)
		}
		for _, d := range rest[:4] {
			if _, sent := f.fleet.sent[d.ID]; !sent {
				t.Errorf("device %d of the rest not updated", d.ID)
			}
		}
		for _, d := range []core.Device{newer, noBuild, current, offline} {
			if _, sent := f.fleet.sent[d.ID]; sent {
				t.Errorf("sent to %s (%s %s %s)", d.Hostname, d.OS, d.AgentVersion, d.LastSeen)
			}
		}
		v = f.rollout(t, r.ID)
		if v.State != core.RolloutRunning || v.Counts[CountPending] != 1 || v.Counts[CountSkipped] != 3 { // offline; locked skipped
			t.Fatalf("with a device offline: %s %v", v.State, v.Counts)
		}
		// The offline device comes back while the rollout runs.
		f.touch(t, offline.ID, "0.9.0")
		f.fleet.locked[locked.ID] = false
		f.touch(t, locked.ID, "0.9.0")
		f.step(t)
		if _, sent := f.fleet.sent[offline.ID]; !sent {
			t.Fatal("the device back online was not updated")
		}
		f.at = f.at.Add(30 * time.Second)
		reconnect()
		f.step(t)
		f.step(t)
		v = f.rollout(t, r.ID)
		if v.State != core.RolloutDone || v.FinishedAt == nil || v.Counts[core.UpdateDone] != 10 {
			t.Errorf("at the end: %s %v", v.State, v.Counts)
		}
		for _, u := range v.Updates {
			if u.State != core.UpdateDone || u.FromVersion != "0.9.0" || u.ToVersion != "0.10.0" || u.Hostname == "" || u.FinishedAt == nil {
				t.Errorf("update %+v", u)
			}
		}
		vs, err := f.svc.AgentVersions(ctx, f.admin)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, c := range vs {
			counts[c.Version+" "+c.OS] += c.Devices
		}
		if counts["0.10.0 linux"] != 11 || counts["0.11.0 linux"] != 1 || counts["0.9.0 windows"] != 1 {
			t.Errorf("versions: %+v", vs)
		}
		if _, err := f.svc.AgentVersions(ctx, f.tech); !errors.Is(err, core.ErrForbidden) {
			t.Errorf("technician reading versions: %v", err)
		}
	})
}

func TestRolloutPausesAtMaxFailures(t *testing.T) {
	engines(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		f := newReleaseFixture(t, open)
		ctx := context.Background()
		f.publishBinary(t, "0.10.0", "amd64")
		var ds []core.Device
		for range 6 {
			ds = append(ds, f.device(t, f.rest, "linux", "amd64", "0.9.0"))
		}
		f.fleet.answer = func(id int64) error {
			if id == ds[0].ID {
				return core.ErrOffline // retried, not counted
			}
			return &protocol.ActionError{Code: protocol.CodeBadSignature, Message: core.Text{EN: "bad signature", DE: "falsche Signatur"}}
		}
		r, err := f.svc.StartRollout(ctx, f.admin, NewRollout{Version: "0.10.0", PilotPercent: 100, Concurrency: 3, MaxFailures: 2, WatchdogSeconds: 60})
		if err != nil {
			t.Fatal(err)
		}
		f.step(t)
		v := f.rollout(t, r.ID)
		if v.Counts[core.UpdateFailed] != 3 || v.State != core.RolloutRunning {
			t.Fatalf("after the first tick: %s %v", v.State, v.Counts)
		}
		f.step(t)
		v = f.rollout(t, r.ID)
		if v.State != core.RolloutPaused || v.PauseReason.EN == "" || v.PauseReason.DE == "" {
			t.Fatalf("not paused at two failures: %s %+v", v.State, v.PauseReason)
		}
		for _, u := range v.Updates {
			if u.DeviceID != ds[0].ID && (u.Code != protocol.CodeBadSignature || u.Error.DE != "falsche Signatur") {
				t.Errorf("failure recorded as %+v", u)
			}
		}
		sent := len(f.fleet.sentTo())
		f.step(t)
		if len(f.fleet.sentTo()) != sent {
			t.Error("a paused rollout sent updates")
		}
		// Resumed, it allows one more failure.
		if r, err = f.svc.RolloutAction(ctx, f.admin, r.ID, RolloutResume); err != nil || r.MaxFailures != 3 {
			t.Fatalf("resume: %+v %v", r, err)
		}
		f.fleet.answer = nil
		f.step(t)
		v = f.rollout(t, r.ID)
		if v.State != core.RolloutRunning {
			t.Errorf("after resume: %s %v", v.State, v.Counts)
		}
		// The offline device was sent again.
		if n := slices.Index(f.fleet.sentTo(), ds[0].ID); n < 0 {
			t.Error("the device that was offline was not retried")
		}
	})
}

func TestRolloutWatchdogAndAgentReports(t *testing.T) {
	engines(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		f := newReleaseFixture(t, open)
		ctx := context.Background()
		f.publishBinary(t, "0.10.0", "amd64")
		a := f.device(t, f.rest, "linux", "amd64", "0.9.0")
		b := f.device(t, f.rest, "linux", "amd64", "0.9.0")
		c := f.device(t, f.rest, "linux", "amd64", "0.9.0")
		r, err := f.svc.StartRollout(ctx, f.admin, NewRollout{Version: "0.10.0", MaxFailures: 5, WatchdogSeconds: 60})
		if err != nil {
			t.Fatal(err)
		}
		f.step(t)
		if len(f.fleet.sentTo()) != 3 {
			t.Fatalf("sent %v", f.fleet.sentTo())
		}
		// a: the watchdog rolled it back; its agent says so, twice.
		rep := protocol.UpdateReport{RolloutID: r.ID, From: "0.10.0", To: "0.9.0", State: core.UpdateRolledBack, Code: "no_connect",
			Message: core.Text{EN: "the new build did not connect", DE: "der neue Build hat sich nicht verbunden"}, At: f.at}
		for range 2 {
			if err := f.svc.RecordUpdate(ctx, a.ID, rep); err != nil {
				t.Fatal(err)
			}
		}
		// b: updated and says so; c: never heard of again.
		f.at = f.at.Add(20 * time.Second)
		f.touch(t, b.ID, "0.10.0")
		if err := f.svc.RecordUpdate(ctx, b.ID, protocol.UpdateReport{RolloutID: r.ID, From: "0.9.0", To: "0.10.0", State: core.UpdateDone, At: f.at}); err != nil {
			t.Fatal(err)
		}
		// A report of an unknown rollout or state changes nothing.
		if err := f.svc.RecordUpdate(ctx, c.ID, protocol.UpdateReport{RolloutID: r.ID + 99, State: core.UpdateDone}); err != nil {
			t.Errorf("report of another rollout: %v", err)
		}
		if err := f.svc.RecordUpdate(ctx, c.ID, protocol.UpdateReport{RolloutID: r.ID, State: "exploded"}); err == nil {
			t.Error("unknown state accepted")
		}
		f.step(t)
		v := f.rollout(t, r.ID)
		if v.Counts[core.UpdateRolledBack] != 1 || v.Counts[core.UpdateDone] != 1 || v.Counts[core.UpdateSent] != 1 {
			t.Fatalf("counts: %v", v.Counts)
		}
		f.at = f.at.Add(60*time.Second + RolloutMargin)
		f.step(t)
		v = f.rollout(t, r.ID)
		byDev := map[int64]core.AgentUpdate{}
		for _, u := range v.Updates {
			byDev[u.DeviceID] = u
		}
		if u := byDev[c.ID]; u.State != core.UpdateFailed || u.Code != CodeUpdateTimeout || u.Error.DE == "" {
			t.Errorf("silent device: %+v", u)
		}
		if u := byDev[a.ID]; u.Code != "no_connect" || u.Error.DE == "" {
			t.Errorf("rolled back: %+v", u)
		}
		f.step(t)
		if v = f.rollout(t, r.ID); v.State != core.RolloutDone {
			t.Errorf("every device settled: %s %v", v.State, v.Counts)
		}
		audit, err := f.st.ListAudit(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range audit {
			if e.Action == "agent.update" {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d agent.update audit entries, want 2 (a repeated report is not recorded again)", n)
		}
	})
}
