//go:build linux

package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/release"
)

// The agent self-update lane (issue 21, docs/agent-update.md): a real
// `wacht serve` with a release key, a real wacht-agent 1.0.0 running in the
// foreground from its own folder, and real rollouts taking it to 1.1.0, to a
// build that crashes at start (rolled back by the watchdog), to a build whose
// blob was tampered with on the server's disk (refused), and back to 1.0.0
// (refused without allow_downgrade, done with it). Run alone with
// `make update`.

// updateWatchdog is the watchdog of the rollouts whose new build is
// expected to connect: generous, so that a loaded machine does not roll
// back a good build. crashWatchdog is the crashing build's: short, as the
// test waits for it to expire.
const (
	updateWatchdog = 300
	crashWatchdog  = 20
)

// updateLane is one installation for the update lane.
type updateLane struct {
	*env
	db       string // PostgreSQL URL; "" for SQLite
	work     string // builds and their sources
	keyFile  string // the release private key
	agentBin string // folder of the agent's executable (only the agent runs from it)
	agentExe string
	builds   map[string]string // version → built file (outside agentBin)
	sums     map[string]string // version → sha256 of the built file
	clientID int64
	deviceID int64
	first    *proc // the agent process the test started
}

// TestAgentUpdateEndToEnd runs the lane on the embedded SQLite database.
func TestAgentUpdateEndToEnd(t *testing.T) {
	t.Parallel()
	updateLaneTest(t, "")
}

// TestAgentUpdateEndToEndPostgres runs it on PostgreSQL
// (WACHT_TEST_POSTGRES): the rollout loop then runs under the cluster lease.
func TestAgentUpdateEndToEndPostgres(t *testing.T) {
	t.Parallel()
	updateLaneTest(t, freshDatabase(t))
}

func updateLaneTest(t *testing.T, db string) {
	if _, err := run(t, nil, "wacht", "release", "--help"); err != nil && strings.Contains(err.Error(), "unknown command") {
		t.Skip("missing: `wacht release` (keygen/sign/publish, branch t-rollout) is not in this build")
	}
	l := &updateLane{builds: map[string]string{}, sums: map[string]string{}, db: db}
	l.work = t.TempDir()
	work := l.work

	// Builds: the real agent as 1.0.0 and 1.1.0, a build that exits 1 at
	// start as 1.2.0, and a small valid executable as 1.3.0 (it is refused
	// before it could ever run).
	began := time.Now()
	for _, v := range []string{"1.0.0", "1.1.0"} {
		l.build(t, work, v, "github.com/wacht-rmm/wacht/cmd/wacht-agent", "-X main.version="+v)
	}
	l.buildCrashers(t, "1.2.0", "1.3.0")
	t.Logf("built 4 agent builds in %v", time.Since(began).Round(time.Millisecond))
	l.startReleaseServer(t)

	// Agent 1.0.0 from its own folder: it replaces that executable.
	l.agentBin = t.TempDir()
	l.agentExe = filepath.Join(l.agentBin, "wacht-agent")
	copyFile(t, l.builds["1.0.0"], l.agentExe, 0o755)
	t.Cleanup(func() { l.killAgents(t) })
	mustRunPath(t, l.agentExe, "enroll", "--data", l.agentDir, "--token", l.enrollToken(t))
	l.first = startPath(t, l.agentExe, "run", "--data", l.agentDir, "--interval", "1m", "--checks", fastChecks)
	dev := l.waitVersion(t, "1.0.0", "agent 1.0.0 online", nil)
	l.deviceID, l.clientID = dev.ID, dev.ClientID

	// Sign every build with `wacht release sign`; publish 1.0.0 and 1.1.0
	// with `wacht release publish` beside the running server.
	l.signBuilds(t)
	if _, err := run(t, nil, "wacht", append(l.dbArgs("release", "publish", "--data", l.data), l.builds["1.0.0"], l.builds["1.1.0"])...); err != nil {
		if strings.Contains(err.Error(), "not implemented") {
			t.Skipf("missing: the release store (core.ReleaseStore, branch t-store): %v", err)
		}
		t.Fatal(err)
	}
	t.Logf("signed 4 builds and published 1.0.0 and 1.1.0 with the CLI")
	for _, route := range []string{"/api/v1/agent-files", "/api/v1/rollouts", "/api/v1/agent-versions"} {
		if code, body := l.call(t, "GET", route, nil, nil); code == http.StatusNotFound || code == http.StatusNotImplemented {
			t.Skipf("missing: GET %s answers HTTP %d %s (server side of releases and rollouts, branch t-rollout)", route, code, body)
		}
	}
	var files []core.AgentFile
	if code, body := l.call(t, "GET", "/api/v1/agent-files", nil, &files); code != http.StatusOK || len(files) != 2 {
		t.Fatalf("agent files after publishing two: HTTP %d, %s", code, body)
	}

	if _, err := run(t, nil, "wacht-agent", "update-watchdog", "--help"); err != nil && strings.Contains(err.Error(), "unknown command") {
		t.Skip("missing: the agent's self-update (`wacht-agent update-watchdog`, branch t-update) is not in this build")
	}
	if !t.Run("update", l.stepUpdate) {
		return
	}
	if !t.Run("crash_rolled_back", l.stepCrash) {
		return
	}
	if !t.Run("tampered", l.stepTampered) {
		return
	}
	t.Run("downgrade", l.stepDowngrade)
}

// stepUpdate: 1.0.0 → 1.1.0 through a rollout with the agent's client as
// the pilot ring, auto-promoted.
func (l *updateLane) stepUpdate(t *testing.T) {
	began := time.Now()
	r := l.startRollout(t, map[string]any{"version": "1.1.0", "pilot_clients": []int64{l.clientID},
		"auto_promote": true, "max_failures": 1, "watchdog_seconds": updateWatchdog})
	if r.Stage != core.StagePilot || r.State != core.RolloutRunning {
		t.Errorf("new rollout: state %q stage %q, want running in the pilot ring", r.State, r.Stage)
	}
	l.waitVersion(t, "1.1.0", "the agent to reconnect as 1.1.0", nil)
	reconnected := time.Since(began)
	u := l.waitUpdate(t, r.ID, core.UpdateDone)
	view := l.waitRollout(t, r.ID, "the rollout to finish", func(v rolloutView) bool { return v.State == core.RolloutDone })
	t.Logf("update 1.0.0 → 1.1.0: reconnected as 1.1.0 after %v, rollout done after %v (stage %s, counts %v)",
		reconnected.Round(time.Millisecond), time.Since(began).Round(time.Millisecond), view.Stage, view.Counts)
	if u.FromVersion != "1.0.0" || u.ToVersion != "1.1.0" {
		t.Errorf("update row from %q to %q, want 1.0.0 → 1.1.0", u.FromVersion, u.ToVersion)
	}
	if view.Stage != core.StageAll {
		t.Errorf("finished rollout in stage %q, want auto-promoted to %q", view.Stage, core.StageAll)
	}
	if view.FinishedAt == nil {
		t.Error("finished rollout has no finished_at")
	}
	l.wantExe(t, "1.1.0")
	select {
	case <-l.first.done:
	default:
		t.Errorf("the agent process the test started (1.0.0) still runs after the update")
	}
	t.Logf("1.1.0 runs as process %d (agent.pid), started by the watchdog", l.runningAgent(t))
	if got := sumFile(t, l.agentExe+".prev"); got != l.sums["1.0.0"] {
		t.Errorf("%s.prev has sha256 %s, want the previous build 1.0.0 (%s)", l.agentExe, got, l.sums["1.0.0"])
	}
	if out := mustRunPath(t, l.agentExe, "version"); !strings.Contains(out, "1.1.0") {
		t.Errorf("the executable on disk says %q, want 1.1.0", out)
	}
	var versions []core.VersionCount
	l.call(t, "GET", "/api/v1/agent-versions", nil, &versions)
	if len(versions) != 1 || versions[0].Version != "1.1.0" || versions[0].Devices != 1 {
		t.Errorf("fleet versions %+v, want one device on 1.1.0", versions)
	}
}

// stepCrash: 1.2.0 exits 1 at start; the watchdog restores 1.1.0, which
// reports rolled_back, and the rollout pauses itself at MaxFailures 1.
func (l *updateLane) stepCrash(t *testing.T) {
	l.publishAPI(t, "1.2.0")
	began := time.Now()
	r := l.startRollout(t, map[string]any{"version": "1.2.0", "pilot_clients": []int64{l.clientID},
		"auto_promote": true, "max_failures": 1, "watchdog_seconds": crashWatchdog})
	u := l.waitUpdate(t, r.ID, core.UpdateRolledBack)
	rolledBack := time.Since(began)
	if u.Code == "" || u.Error.EN == "" || u.Error.DE == "" {
		t.Errorf("rolled_back update without a code and a reason in English and German: %+v", u)
	}
	l.waitVersion(t, "1.1.0", "the restored 1.1.0 to be online", nil)
	view := l.waitRollout(t, r.ID, "the rollout to pause itself", func(v rolloutView) bool { return v.State == core.RolloutPaused })
	t.Logf("crashing 1.2.0 (watchdog %d s): rolled back and reported after %v; code %s, reason %q / %q; pause reason %q",
		crashWatchdog, rolledBack.Round(time.Millisecond), u.Code, u.Error.EN, u.Error.DE, view.PauseReason.EN)
	if view.PauseReason.EN == "" || view.PauseReason.DE == "" {
		t.Errorf("paused rollout without a reason in English and German: %+v", view.PauseReason)
	}
	l.wantExe(t, "1.1.0")
	l.runningAgent(t)
	l.cancel(t, r.ID)
}

// stepTampered: a manifest that does not match the uploaded bytes is
// refused at publish; a blob overwritten on the server's disk after
// publishing is refused by the agent (hash_mismatch), which keeps running.
func (l *updateLane) stepTampered(t *testing.T) {
	// The 1.3.0 manifest over 1.0.0's bytes: signed, but not for them.
	s, err := release.ReadSigned(l.builds["1.3.0"] + release.SigSuffix)
	if err != nil {
		t.Fatal(err)
	}
	code, body := l.publish(t, s, l.builds["1.0.0"])
	if code < 400 || code >= 500 {
		t.Fatalf("publishing a manifest whose sha256 does not match the bytes: HTTP %d %s, want a 4xx refusal", code, body)
	}
	var compact bytes.Buffer
	json.Compact(&compact, body)
	t.Logf("mismatching manifest refused at publish: HTTP %d %s", code, compact.String())
	// The right bytes with a manifest signed by a key the server does not trust.
	otherFile := filepath.Join(t.TempDir(), "other.key")
	if _, err := release.GenerateKey(otherFile); err != nil {
		t.Fatal(err)
	}
	otherKey, err := release.LoadPrivateKey(otherFile)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := release.Sign(otherKey, s.Manifest)
	if err != nil {
		t.Fatal(err)
	}
	code, body = l.publish(t, forged, l.builds["1.3.0"])
	if code < 400 || code >= 500 {
		t.Fatalf("publishing a build signed by an untrusted key: HTTP %d %s, want a 4xx refusal", code, body)
	}
	var files []core.AgentFile
	l.call(t, "GET", "/api/v1/agent-files", nil, &files)
	for _, f := range files {
		if f.Version == "1.3.0" {
			t.Fatalf("the refused file is listed: %+v", f)
		}
	}

	t.Logf("build signed by an untrusted key refused at publish: HTTP %d", code)
	// An arm64 executable under a correctly signed linux/amd64 manifest.
	arm := filepath.Join(l.work, "arm64", "wacht-agent-linux-amd64")
	cmd := exec.Command("go", "build", "-trimpath", "-o", arm, ".")
	cmd.Dir = filepath.Join(l.work, "crash")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=arm64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building for arm64: %v\n%s", err, b)
	}
	m, err := release.Describe(arm)
	if err != nil {
		t.Fatal(err)
	}
	m.Kind, m.Version, m.OS, m.Arch = release.KindBinary, "1.3.0", "linux", "amd64"
	key, err := release.LoadPrivateKey(l.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := release.Sign(key, m)
	if err != nil {
		t.Fatal(err)
	}
	code, body = l.publish(t, wrong, arm)
	if code != http.StatusBadRequest || !strings.Contains(string(body), "amd64") {
		t.Fatalf("publishing an arm64 executable as linux/amd64: HTTP %d %s, want 400 naming the platform", code, body)
	}
	t.Logf("arm64 executable under a linux/amd64 manifest refused at publish: HTTP %d", code)
	pid := l.runningAgent(t)
	f := l.publishAPI(t, "1.3.0")
	blob := filepath.Join(l.data, "blobs", "sha256", f.SHA256[:2], f.SHA256)
	b, err := os.ReadFile(blob)
	if err != nil {
		t.Fatalf("the published blob: %v", err)
	}
	for i := len(b) / 2; i < len(b)/2+64 && i < len(b); i++ {
		b[i] ^= 0xff
	}
	os.Chmod(blob, 0o600)
	if err := os.WriteFile(blob, b, 0o600); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	r := l.startRollout(t, map[string]any{"version": "1.3.0", "pilot_clients": []int64{l.clientID},
		"auto_promote": true, "max_failures": 1, "watchdog_seconds": updateWatchdog})
	u := l.waitUpdate(t, r.ID, core.UpdateFailed)
	t.Logf("tampered blob: refused after %v with %q: %q", time.Since(began).Round(time.Millisecond), u.Code, u.Error.EN)
	if u.Code != protocol.CodeHashMismatch {
		t.Errorf("tampered blob refused with code %q (%s), want %s", u.Code, u.Error.EN, protocol.CodeHashMismatch)
	}
	l.waitRollout(t, r.ID, "the rollout to pause itself", func(v rolloutView) bool { return v.State == core.RolloutPaused })
	l.waitVersion(t, "1.1.0", "the agent to stay online as 1.1.0", nil)
	l.wantExe(t, "1.1.0")
	if now := l.runningAgent(t); now != pid {
		t.Errorf("the agent was restarted (process %d, before %d) though it refused the update", now, pid)
	}
	l.cancel(t, r.ID)
}

// stepDowngrade: a rollout to the older 1.0.0 without allow_downgrade
// leaves the device on 1.1.0; with it the device goes to 1.0.0.
func (l *updateLane) stepDowngrade(t *testing.T) {
	pid := l.runningAgent(t)
	r := l.startRollout(t, map[string]any{"version": "1.0.0", "pilot_clients": []int64{l.clientID},
		"auto_promote": true, "max_failures": 1, "watchdog_seconds": updateWatchdog})
	view := l.waitRollout(t, r.ID, "the device to be skipped or refused as a downgrade", func(v rolloutView) bool {
		if v.Counts["skipped"] > 0 {
			return true
		}
		for _, u := range v.Updates {
			if u.DeviceID == l.deviceID && u.State != core.UpdateSent {
				return true
			}
		}
		return v.State == core.RolloutDone
	})
	for _, u := range view.Updates {
		if u.DeviceID == l.deviceID && (u.State != core.UpdateFailed || u.Code != protocol.CodeDowngrade) {
			t.Errorf("downgrade without allow_downgrade: update row %+v, want none (skipped) or failed with code downgrade", u)
		}
	}
	t.Logf("downgrade without allow_downgrade: rollout %s, counts %v", view.State, view.Counts)
	l.waitVersion(t, "1.1.0", "the agent to stay on 1.1.0", nil)
	l.wantExe(t, "1.1.0")
	if now := l.runningAgent(t); now != pid {
		t.Errorf("the agent was restarted (process %d, before %d) by a downgrade it was not allowed", now, pid)
	}
	if view.State == core.RolloutRunning || view.State == core.RolloutPaused {
		l.cancel(t, r.ID)
	}

	began := time.Now()
	r = l.startRollout(t, map[string]any{"version": "1.0.0", "pilot_clients": []int64{l.clientID},
		"auto_promote": true, "allow_downgrade": true, "max_failures": 1, "watchdog_seconds": updateWatchdog})
	if !r.AllowDowngrade {
		t.Errorf("rollout %+v does not say allow_downgrade", r)
	}
	l.waitVersion(t, "1.0.0", "the agent to reconnect as 1.0.0", nil)
	u := l.waitUpdate(t, r.ID, core.UpdateDone)
	l.waitRollout(t, r.ID, "the downgrade rollout to finish", func(v rolloutView) bool { return v.State == core.RolloutDone })
	t.Logf("downgrade 1.1.0 → 1.0.0 with allow_downgrade: done after %v", time.Since(began).Round(time.Millisecond))
	if u.FromVersion != "1.1.0" || u.ToVersion != "1.0.0" {
		t.Errorf("update row from %q to %q, want 1.1.0 → 1.0.0", u.FromVersion, u.ToVersion)
	}
	l.wantExe(t, "1.0.0")
	if got := sumFile(t, l.agentExe+".prev"); got != l.sums["1.1.0"] {
		t.Errorf("%s.prev has sha256 %s, want the previous build 1.1.0", l.agentExe, got)
	}
	if now := l.runningAgent(t); now == pid {
		t.Errorf("the agent process %d still runs after the downgrade", pid)
	}
}

// buildCrashers builds, as each of versions, a program that exits 1 at
// start (into l.work, source in l.work/crash).
func (l *updateLane) buildCrashers(t *testing.T, versions ...string) {
	t.Helper()
	l.buildStandIn(t, "crash", "crashes at start (test build)\")\n\tos.Exit(1)", versions...)
}

// buildHangers builds, as each of versions, a program that runs but never
// connects to a server (source in l.work/hang).
func (l *updateLane) buildHangers(t *testing.T, versions ...string) {
	t.Helper()
	l.buildStandIn(t, "hang", "runs without connecting (test build)\")\n\tfor {\n\t\ttime.Sleep(time.Hour)\n\t}", versions...)
}

// buildStandIn builds a stand-in for the agent from l.work/name whose main
// prints "wacht-agent <version> " and then the rest of body (the message's
// closing quote and parenthesis, then statements).
func (l *updateLane) buildStandIn(t *testing.T, name, body string, versions ...string) {
	t.Helper()
	src := filepath.Join(l.work, name)
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	prog := "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"time\"\n)\n\nvar version = \"none\"\n\nvar _ = time.Hour\n\n" +
		"func main() {\n\tfmt.Fprintln(os.Stderr, \"wacht-agent\", version, \"" + body + "\n}\n"
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module "+name+"\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v := range versions {
		l.buildIn(t, src, l.work, v, ".", "-X main.version="+v)
	}
}

// startReleaseServer creates a release key (l.keyFile) with `wacht release
// keygen` and starts a real server (l.env) that trusts its public half
// (<data>/release.pub) from the start, so agents pin it at enrollment.
func (l *updateLane) startReleaseServer(t *testing.T) {
	t.Helper()
	l.keyFile = filepath.Join(l.work, "release.key")
	mustRun(t, nil, "wacht", "release", "keygen", "--out", l.keyFile)
	data := t.TempDir()
	pub, err := os.ReadFile(l.keyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := release.ParsePublicKey(pub); err != nil {
		t.Fatalf("keygen wrote %s.pub: %v", l.keyFile, err)
	}
	if err := os.WriteFile(filepath.Join(data, "release.pub"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	l.env = newEnvIn(t, data, l.db)
}

// signBuilds signs every build with `wacht release sign` and checks the
// manifest it wrote.
func (l *updateLane) signBuilds(t *testing.T) {
	t.Helper()
	for v, f := range l.builds {
		mustRun(t, nil, "wacht", "release", "sign", "--key", l.keyFile, "--version", v, f)
		s, err := release.ReadSigned(f + release.SigSuffix)
		if err != nil {
			t.Fatalf("reading the manifest `release sign` wrote: %v", err)
		}
		m := s.Manifest
		if m.Kind != release.KindBinary || m.OS != "linux" || m.Arch != "amd64" || m.Version != v || m.SHA256 != l.sums[v] {
			t.Fatalf("release sign %s: manifest %+v, want a linux/amd64 binary %s with sha256 %s", f, m, v, l.sums[v])
		}
	}
}

// newEnvIn is newEnv on a data folder prepared by the caller and, if db
// is set, that PostgreSQL database.
func newEnvIn(t *testing.T, data, db string) *env {
	t.Helper()
	e := &env{t: t, data: data, agentDir: t.TempDir()}
	dbArgs := func(args ...string) []string {
		if db != "" {
			args = append(args, "--db", db)
		}
		return args
	}
	e.server = start(t, "wacht", dbArgs("serve", "--data", e.data, "--listen", "127.0.0.1:0")...)
	waitFor(t, "the server to listen", 30*time.Second, func() bool {
		select {
		case <-e.server.done:
			t.Fatalf("server exited:\n%s", e.server.output())
		default:
		}
		if m := listenRE.FindStringSubmatch(e.server.output()); m != nil {
			e.addr = m[1]
		}
		return e.addr != ""
	})
	pw := []string{"WACHT_PASSWORD=" + adminPassword}
	mustRun(t, pw, "wacht", dbArgs("user", "add", "--data", e.data, "--email", "admin@example.com", "--role", "admin")...)
	e.apiToken = strings.TrimSpace(mustRun(t, nil, "wacht", dbArgs("apitoken", "create", "--data", e.data, "--user", "admin@example.com")...))
	e.http = newEnvHTTP(t)
	return e
}

// dbArgs appends --db to a wacht command's arguments on PostgreSQL.
func (l *updateLane) dbArgs(args ...string) []string {
	if l.db != "" {
		args = append(args, "--db", l.db)
	}
	return args
}

// enrollToken creates an enrollment token for a new client's site.
func (l *updateLane) enrollToken(t *testing.T) string {
	t.Helper()
	tok := strings.TrimSpace(mustRun(t, nil, "wacht", l.dbArgs("token", "create", "--create", "--data", l.data,
		"--client", "Müller GmbH", "--site", "Hannover", "--url", "https://"+l.addr)...))
	if !strings.HasPrefix(tok, "wacht1_") || strings.Contains(tok, "\n") {
		t.Fatalf("token create printed %q, want one token line", tok)
	}
	return tok
}

// build builds pkg of this module with ldflags into work as one version.
func (l *updateLane) build(t *testing.T, work, version, pkg, ldflags string) {
	t.Helper()
	l.buildIn(t, "", work, version, pkg, ldflags)
}

func (l *updateLane) buildIn(t *testing.T, dir, work, version, pkg, ldflags string) {
	t.Helper()
	out := filepath.Join(work, version, "wacht-agent-linux-amd64")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", ldflags, "-o", out, pkg)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s %s: %v\n%s", pkg, version, err, b)
	}
	l.builds[version] = out
	l.sums[version] = sumFile(t, out)
}

// startPath is start for an executable outside binDir.
func startPath(t *testing.T, path string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(path, args...), done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p, p
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s %v output:\n%s", path, args, p.output())
		}
	})
	return p
}

// agentPIDs returns the processes running an executable from the agent's
// folder: the agent the test started, those the watchdog restarted, and
// the watchdog itself (<exe>.prev update-watchdog).
func (l *updateLane) agentPIDs() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.HasPrefix(exe, l.agentBin+string(filepath.Separator)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// killAgents ends every process started from the agent's folder, and the
// one agent.pid names, until none is left (a watchdog may start one more
// while it is being ended).
func (l *updateLane) killAgents(t *testing.T) {
	if t.Failed() {
		l.dumpAgentFiles(t)
	}
	for i := 0; i < 50; i++ {
		pids := l.agentPIDs()
		if b, err := os.ReadFile(filepath.Join(l.agentDir, "agent.pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 && isAgentProcess(pid) {
				pids = append(pids, pid)
			}
		}
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("agent processes still running after cleanup: %v", l.agentPIDs())
}

// isAgentProcess reports whether pid runs a wacht-agent executable (so a
// stale agent.pid never ends a stranger's process).
func isAgentProcess(pid int) bool {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return err == nil && strings.Contains(filepath.Base(exe), "wacht-agent")
}

// dumpAgentFiles logs the agent's update state and log files.
func (l *updateLane) dumpAgentFiles(t *testing.T) {
	ents, _ := os.ReadDir(l.agentDir)
	for _, e := range ents {
		n := e.Name()
		// Not agent.json: it holds the device's private key.
		if strings.HasPrefix(n, "update") || n == "state.json" || strings.HasSuffix(n, ".log") || n == "agent.pid" {
			b, _ := os.ReadFile(filepath.Join(l.agentDir, n))
			if len(b) > 20000 {
				b = b[len(b)-20000:]
			}
			t.Logf("agent file %s:\n%s", n, b)
		}
	}
	ents, _ = os.ReadDir(l.agentBin)
	for _, e := range ents {
		t.Logf("agent folder: %s", e.Name())
	}
}

// runningAgent returns the PID of the agent that runs now: the one
// <data>/agent.pid names once the watchdog restarted it, else the process
// the test started. It fails unless that process runs `run` from the
// agent's executable as it is on disk now (not a replaced, deleted file).
func (l *updateLane) runningAgent(t *testing.T) int {
	t.Helper()
	pid := l.first.cmd.Process.Pid
	if b, err := os.ReadFile(filepath.Join(l.agentDir, "agent.pid")); err == nil {
		if pid, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil {
			t.Fatalf("agent.pid holds %q", b)
		}
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		t.Fatalf("the agent process %d does not run: %v", pid, err)
	}
	cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if exe != l.agentExe || !bytes.Contains(cmd, []byte("\x00run\x00")) {
		t.Fatalf("process %d runs %q %q, want %s run", pid, exe, bytes.ReplaceAll(cmd, []byte{0}, []byte{' '}), l.agentExe)
	}
	return pid
}

// wantExe fails unless the agent's executable on disk is version's build.
func (l *updateLane) wantExe(t *testing.T, version string) {
	t.Helper()
	if got := sumFile(t, l.agentExe); got != l.sums[version] {
		want := "?"
		for v, s := range l.sums {
			if s == got {
				want = v
			}
		}
		t.Errorf("the agent's executable has sha256 %s (build %s), want %s's %s", got, want, version, l.sums[version])
	}
}

// waitVersion waits until the device is online reporting version and cond
// (if not nil) holds.
func (l *updateLane) waitVersion(t *testing.T, version, what string, cond func(core.Device) bool) core.Device {
	t.Helper()
	var dev core.Device
	waitFor(t, what, 3*time.Minute, func() bool {
		var devs []struct {
			core.Device
			Online bool `json:"online"`
		}
		if code, _ := l.call(t, "GET", "/api/v1/devices", nil, &devs); code != http.StatusOK || len(devs) != 1 {
			return false
		}
		dev = devs[0].Device
		return devs[0].Online && dev.AgentVersion == version && (cond == nil || cond(dev))
	})
	return dev
}

type rolloutView struct {
	core.Rollout
	Updates []core.AgentUpdate `json:"updates"`
	Counts  map[string]int     `json:"counts"`
}

func (l *updateLane) startRollout(t *testing.T, nr map[string]any) core.Rollout {
	t.Helper()
	var r core.Rollout
	code, body := l.call(t, "POST", "/api/v1/rollouts", nr, &r)
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("starting rollout %v: HTTP %d %s", nr, code, body)
	}
	if r.ID == 0 || r.Version != nr["version"] {
		t.Fatalf("started rollout %s, want one of version %v", body, nr["version"])
	}
	return r
}

func (l *updateLane) getRollout(t *testing.T, id int64) rolloutView {
	t.Helper()
	var v rolloutView
	if code, body := l.call(t, "GET", fmt.Sprintf("/api/v1/rollouts/%d", id), nil, &v); code != http.StatusOK {
		t.Fatalf("rollout %d: HTTP %d %s", id, code, body)
	}
	return v
}

// waitRollout polls a rollout until cond holds.
func (l *updateLane) waitRollout(t *testing.T, id int64, what string, cond func(rolloutView) bool) rolloutView {
	t.Helper()
	var v rolloutView
	waitFor(t, what, 3*time.Minute, func() bool {
		v = l.getRollout(t, id)
		return cond(v)
	})
	return v
}

// waitUpdate waits until the device's update row of rollout id is in
// state, failing early once it is final in another state.
func (l *updateLane) waitUpdate(t *testing.T, id int64, state string) core.AgentUpdate {
	t.Helper()
	var got core.AgentUpdate
	waitFor(t, "the device's update to be "+state, 5*time.Minute, func() bool {
		v := l.getRollout(t, id)
		for _, u := range v.Updates {
			if u.DeviceID != l.deviceID {
				continue
			}
			got = u
			if u.State != state && u.State != core.UpdateSent {
				t.Fatalf("update of rollout %d is %s (%s: %s / %s), want %s", id, u.State, u.Code, u.Error.EN, u.Error.DE, state)
			}
			return u.State == state
		}
		return false
	})
	if got.FinishedAt == nil {
		t.Errorf("update in state %s has no finished_at", state)
	}
	return got
}

func (l *updateLane) cancel(t *testing.T, id int64) {
	t.Helper()
	var r core.Rollout
	if code, body := l.call(t, "POST", fmt.Sprintf("/api/v1/rollouts/%d/cancel", id), nil, &r); code != http.StatusOK {
		t.Fatalf("cancelling rollout %d: HTTP %d %s", id, code, body)
	}
	if r.State != core.RolloutCancelled {
		t.Errorf("cancelled rollout is %q", r.State)
	}
}

// publishAPI publishes a signed build through the API and returns its file.
func (l *updateLane) publishAPI(t *testing.T, version string) core.AgentFile {
	t.Helper()
	s, err := release.ReadSigned(l.builds[version] + release.SigSuffix)
	if err != nil {
		t.Fatal(err)
	}
	code, body := l.publish(t, s, l.builds[version])
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("publishing %s: HTTP %d %s", version, code, body)
	}
	var f core.AgentFile
	if err := json.Unmarshal(body, &f); err != nil || f.Version != version || f.SHA256 != l.sums[version] {
		t.Fatalf("published %s: %s (%v)", version, body, err)
	}
	return f
}

// publish posts a manifest and a file's bytes to /api/v1/agent-files.
func (l *updateLane) publish(t *testing.T, s release.Signed, file string) (int, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mj, _ := json.Marshal(s)
	mw.WriteField("manifest", string(mj))
	fw, _ := mw.CreateFormFile("file", s.Manifest.Name)
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(b)
	mw.Close()
	req, _ := http.NewRequest("POST", "https://"+l.addr+"/api/v1/agent-files", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return l.do(t, req, nil)
}

// call sends body as JSON and decodes a 2xx reply into out.
func (l *updateLane) call(t testing.TB, method, path string, body, out any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "https://"+l.addr+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return l.do(t, req, out)
}

func (l *updateLane) do(t testing.TB, req *http.Request, out any) (int, []byte) {
	t.Helper()
	req.Header.Set("Authorization", "Bearer "+l.apiToken)
	resp, err := l.http.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", req.Method, req.URL.Path, b, err)
		}
	}
	return resp.StatusCode, b
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

func sumFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s: %v", path, err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// mustRunPath runs an executable outside binDir to completion and returns
// its stdout.
func mustRunPath(t *testing.T, path string, args ...string) string {
	t.Helper()
	cmd := exec.Command(path, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v: %s", path, args, err, errb.String())
	}
	return out.String()
}
