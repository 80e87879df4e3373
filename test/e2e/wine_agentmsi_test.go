package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/installer"
	"github.com/wacht-rmm/wacht/internal/release"
)

// TestAgentMSIUnderWine installs the agent's own MSI (internal/installer,
// built with wixl from the real Windows agent) under Wine with a real
// token of a real server on loopback: enrollment by the MSI's custom
// action, files, service, tray autostart, an in-place upgrade to a second
// build, a refused downgrade, uninstall with and without PURGE=1, an
// expired token failing the install, a missing token refused, and the
// ARM64 agent chosen when the machine says ARM64. docs/installers.md
// describes the MSI; docs/windows.md what Wine cannot show.
func TestAgentMSIUnderWine(t *testing.T) {
	if testing.Short() {
		t.Skip("the Windows lane takes a minute or two")
	}
	for _, tool := range []string{"wixl", "msibuild"} {
		if _, err := exec.LookPath(tool); err != nil {
			if wineRequired() {
				t.Fatalf("%s is not installed (apt-get install wixl msitools), and CI or WACHT_REQUIRE_WINE=1 requires the MSI lane", tool)
			}
			t.Skipf("%s is not installed (apt-get install wixl msitools)", tool)
		}
	}
	began := time.Now()
	w := newWinePrefix(t)
	e := newEnv(t)

	// Two builds of the real agent, and stand-ins for the ARM64 agent
	// and the tray (their bytes are only copied, never run, on x64).
	dir := t.TempDir()
	v1, v2 := "v1.0.0", "v1.1.0"
	dist1, dist2 := filepath.Join(dir, "dist1"), filepath.Join(dir, "dist2")
	for _, d := range []struct{ dist, version string }{{dist1, v1}, {dist2, v2}} {
		if err := os.MkdirAll(d.dist, 0o755); err != nil {
			t.Fatal(err)
		}
		crossBuild(t, "github.com/wacht-rmm/wacht/cmd/wacht-agent", "amd64", filepath.Join(d.dist, "wacht-agent-windows-amd64.exe"), "-X main.version="+d.version)
	}
	standIn := filepath.Join(dir, "standin")
	if err := os.MkdirAll(standIn, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(standIn, "main.go"), []byte("package main\n\nfunc main() { println(\"stand-in\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"amd64", "arm64"} {
		out := filepath.Join(dir, "standin-"+arch+".exe")
		crossBuild(t, filepath.Join(standIn, "main.go"), arch, out, "")
		for _, d := range []string{dist1, dist2} {
			copyTo(t, out, filepath.Join(d, "wacht-tray-windows-"+arch+".exe"))
			if arch == "arm64" {
				copyTo(t, out, filepath.Join(d, "wacht-agent-windows-arm64.exe"))
			}
		}
	}
	msi1 := buildAgentMSI(t, dist1, v1)
	msi2 := buildAgentMSI(t, dist2, v2)

	winPath := func(p string) string { return "Z:" + strings.ReplaceAll(p, "/", `\`) }
	msiexec := func(args ...string) (string, error) {
		return w.run(5*time.Minute, append([]string{"msiexec"}, args...)...)
	}
	regQuery := func(key string) (string, error) { return w.run(time.Minute, "reg", "query", key) }
	progDir := filepath.Join(w.dir, "drive_c", "Program Files", "Wacht")
	dataDir := filepath.Join(w.dir, "drive_c", "ProgramData", "Wacht")
	const (
		svcKey  = `HKLM\System\CurrentControlSet\Services\wacht-agent`
		runKey  = `HKLM\Software\Microsoft\Windows\CurrentVersion\Run`
		uninKey = `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\`
	)
	devices := func() []apiDevice {
		var devs []apiDevice
		e.api("GET", "/api/v1/devices", &devs)
		return devs
	}
	agentVersion := func() string {
		out, err := w.run(time.Minute, filepath.Join(progDir, "wacht-agent.exe"), "version")
		if err != nil {
			t.Fatalf("installed agent: %v", err)
		}
		return out
	}

	// 0. No token on a machine never enrolled: the launch condition
	// refuses before anything is installed.
	if out, err := msiexec("/i", winPath(msi1), "/qn"); err == nil {
		t.Errorf("install without TOKEN on a fresh machine succeeded:\n%s", out)
	}
	if _, err := os.Stat(progDir); err == nil {
		t.Errorf("install without TOKEN left %s", progDir)
	}

	// 1. Install with a real token. NOSTART=1: Wine's service manager
	// starts the process but never sees it report running (below), which
	// would fail StartServices.
	t.Logf("prefix, server and two MSIs ready after %v", time.Since(began).Round(time.Second))
	began = time.Now()
	tok := e.token()
	log1 := filepath.Join(dir, "install1.log")
	if out, err := msiexec("/i", winPath(msi1), "/qn", "/l*v", winPath(log1), "TOKEN="+tok, "NOSTART=1"); err != nil {
		t.Fatalf("msiexec /i %s: %v\n%s\n%s", filepath.Base(msi1), err, out, readTail(log1))
	}
	t.Logf("install with enrollment took %v", time.Since(began).Round(100*time.Millisecond))
	if v := agentVersion(); !strings.Contains(v, v1) || !strings.Contains(v, "windows/amd64") {
		t.Errorf("installed agent says %q, want %s windows/amd64", v, v1)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "agent.json")); err != nil {
		t.Errorf("no agent.json after the install's enrollment: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(dataDir, "enroll.log")); !strings.Contains(string(b), "Enrolled as new device") {
		t.Errorf("enroll.log after the install:\n%s", b)
	}
	devs := devices()
	if len(devs) != 1 {
		t.Fatalf("devices on the server after the install: %+v, want one", devs)
	}
	svc, err := regQuery(svcKey)
	if err != nil {
		t.Fatalf("service not registered: %v", err)
	}
	for _, want := range []string{`C:\Program Files\Wacht\wacht-agent.exe run --data "C:\ProgramData\Wacht"`, "0x2", "LocalSystem"} {
		if !strings.Contains(svc, want) {
			t.Errorf("service registration lacks %q:\n%s", want, svc)
		}
	}
	if run, err := regQuery(runKey); err != nil || !strings.Contains(run, `Wacht Tray`) || !strings.Contains(run, `"C:\Program Files\Wacht\wacht-tray.exe"`) {
		t.Errorf("tray autostart: %v\n%s", err, run)
	}
	if _, err := regQuery(uninKey + installer.ProductCode(v1)); err != nil {
		t.Errorf("no uninstall entry for %s: %v", v1, err)
	}
	if b, err := os.ReadFile(log1); err == nil && strings.Contains(string(b), "enroll --token") {
		t.Errorf("the MSI log shows the enrollment command line with the token")
	}

	// 1b. Wine's service manager runs the service's command line: the
	// agent connects to the server, but Wine's SCM never sees the Go
	// service report "running" (sc start times out; docs/windows.md).
	step := time.Now()
	// sc start waits for a "running" that never comes under Wine; a
	// minute is plenty for services.exe to have started the process.
	if out, err := w.run(time.Minute, "sc", "start", "wacht-agent"); err == nil {
		t.Logf("sc start wacht-agent under Wine succeeded:\n%s", out)
	} else {
		t.Logf("sc start wacht-agent under Wine: %v", err)
	}
	waitFor(t, "the agent started from the service entry online", 2*time.Minute, func() bool {
		d := devices()
		return len(d) == 1 && d[0].Online
	})
	t.Logf("service start and the agent online took %v", time.Since(step).Round(100*time.Millisecond))
	// End it (and every Windows process of the prefix) before the upgrade.
	kill := exec.Command(filepath.Join(filepath.Dir(w.loader), "wineserver"), "-k")
	kill.Env = w.env
	_ = kill.Run()
	cfgBefore, _ := os.ReadFile(filepath.Join(dataDir, "agent.json"))

	// 2. Upgrade in place to the second build, without a token (the
	// machine is enrolled): one product, the new binary, the same device.
	step = time.Now()
	if out, err := msiexec("/i", winPath(msi2), "/qn", "NOSTART=1"); err != nil {
		t.Fatalf("upgrade to %s: %v\n%s", v2, err, out)
	}
	t.Logf("upgrade took %v", time.Since(step).Round(100*time.Millisecond))
	if v := agentVersion(); !strings.Contains(v, v2) {
		t.Errorf("after the upgrade the agent says %q, want %s", v, v2)
	}
	if _, err := regQuery(uninKey + installer.ProductCode(v1)); err == nil {
		t.Errorf("the upgrade left %s installed beside %s", v1, v2)
	}
	if _, err := regQuery(uninKey + installer.ProductCode(v2)); err != nil {
		t.Errorf("no uninstall entry for %s: %v", v2, err)
	}
	if _, err := regQuery(svcKey); err != nil {
		t.Errorf("service gone after the upgrade: %v", err)
	}
	if cfg, _ := os.ReadFile(filepath.Join(dataDir, "agent.json")); string(cfg) != string(cfgBefore) {
		t.Errorf("the upgrade changed agent.json:\n%s\nwas:\n%s", cfg, cfgBefore)
	}
	if d := devices(); len(d) != 1 {
		t.Errorf("devices after the upgrade: %+v, want still one", d)
	}

	// 3. A downgrade is refused and leaves the newer build.
	if out, err := msiexec("/i", winPath(msi1), "/qn", "NOSTART=1"); err == nil {
		t.Errorf("downgrade to %s succeeded:\n%s", v1, out)
	}
	if v := agentVersion(); !strings.Contains(v, v2) {
		t.Errorf("after the refused downgrade the agent says %q, want %s", v, v2)
	}

	// 4. Uninstall: program files, service and autostart go, the data
	// folder stays.
	step = time.Now()
	if out, err := msiexec("/x", winPath(msi2), "/qn"); err != nil {
		t.Fatalf("msiexec /x: %v\n%s", err, out)
	}
	t.Logf("uninstall took %v", time.Since(step).Round(100*time.Millisecond))
	if _, err := os.Stat(filepath.Join(progDir, "wacht-agent.exe")); err == nil {
		t.Errorf("uninstall left wacht-agent.exe")
	}
	if out, err := regQuery(svcKey); err == nil {
		t.Errorf("uninstall left the service:\n%s", out)
	}
	if run, _ := regQuery(runKey); strings.Contains(run, "Wacht Tray") {
		t.Errorf("uninstall left the tray autostart:\n%s", run)
	}
	if _, err := os.Stat(filepath.Join(dataDir, "agent.json")); err != nil {
		t.Errorf("uninstall without PURGE removed the data folder: %v", err)
	}

	// 5. Reinstall on the enrolled machine (no token needed), then
	// uninstall with PURGE=1: the data folder goes too.
	if out, err := msiexec("/i", winPath(msi2), "/qn", "NOSTART=1"); err != nil {
		t.Fatalf("reinstall: %v\n%s", err, out)
	}
	log5 := filepath.Join(dir, "purge.log")
	if out, err := msiexec("/x", winPath(msi2), "/qn", "/l*v", winPath(log5), "PURGE=1"); err != nil {
		t.Fatalf("msiexec /x PURGE=1: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(log5); !strings.Contains(string(b), "Action start") || !strings.Contains(string(b), "PurgeData") {
		t.Errorf("PURGE=1 did not run PurgeData:\n%s", readTail(log5))
	}
	if _, err := os.Stat(filepath.Join(progDir, "wacht-agent.exe")); err == nil {
		t.Errorf("uninstall with PURGE=1 left wacht-agent.exe")
	}
	if _, err := os.Stat(filepath.Join(dataDir, "agent.json")); err == nil {
		// Go's os.RemoveAll fails under Wine 8 ("Invalid function",
		// docs/windows.md), so wacht-agent uninstall --purge cannot
		// delete the folder here; the MSI went on as it should.
		t.Logf("PURGE=1 ran PurgeData, but under Wine the data folder stays (os.RemoveAll); removing it from outside")
		kill := exec.Command(filepath.Join(filepath.Dir(w.loader), "wineserver"), "-k")
		kill.Env = w.env
		_ = kill.Run()
		if err := os.RemoveAll(dataDir); err != nil {
			t.Fatal(err)
		}
	}

	// 6. A token that expired between download and install fails the
	// install; nothing stays installed.
	expired := e.token("--expires", "1s")
	time.Sleep(2 * time.Second)
	log6 := filepath.Join(dir, "install6.log")
	if out, err := msiexec("/i", winPath(msi2), "/qn", "/l*v", winPath(log6), "TOKEN="+expired, "NOSTART=1"); err == nil {
		t.Errorf("install with an expired token succeeded:\n%s", out)
	}
	if b, _ := os.ReadFile(log6); !strings.Contains(string(b), "EnrollAgent") {
		t.Errorf("the failed install's log does not name the enrollment action:\n%s", readTail(log6))
	}
	if b, _ := os.ReadFile(filepath.Join(dataDir, "enroll.log")); !strings.Contains(string(b), "wacht-agent enroll: enrollment refused: the token has expired") {
		t.Errorf("enroll.log does not give the agent's reason:\n%s", b)
	}
	if _, err := os.Stat(filepath.Join(progDir, "wacht-agent.exe")); err == nil {
		t.Errorf("the failed install left wacht-agent.exe")
	}
	if out, err := regQuery(svcKey); err == nil {
		t.Errorf("the failed install left the service:\n%s", out)
	}
	if d := devices(); len(d) != 1 {
		t.Errorf("devices after the expired token: %+v, want still one", d)
	}

	// 7. On a machine whose system environment in the registry says
	// ARM64 the ARM64 agent is installed (enrolled beforehand, so no
	// custom action runs the ARM64 stand-in; Wine cannot run it). Wine's
	// wineboot rewrites the value whenever the prefix starts, and every
	// process's environment keeps saying AMD64, so the value is set and
	// used within one cmd.exe: only the registry witness says ARM64.
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, "agent.json"), cfgBefore, 0o600); err != nil {
		t.Fatal(err)
	}
	envKey := `HKLM\System\CurrentControlSet\Control\Session Manager\Environment`
	log7 := filepath.Join(dir, "arm64.log")
	if out, err := w.run(5*time.Minute, "cmd", "/c", "reg", "add", envKey, "/v", "PROCESSOR_ARCHITECTURE", "/t", "REG_SZ", "/d", "ARM64", "/f",
		"&&", "msiexec", "/i", winPath(msi2), "/qn", "/l*v", winPath(log7), "NOSTART=1"); err != nil {
		t.Fatalf("install on ARM64: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(log7); !strings.Contains(string(b), "NATIVEARCH = ARM64") {
		t.Errorf("the MSI did not read ARM64 from the registry:\n%s", readTail(log7))
	}
	for _, f := range []string{"wacht-agent.exe", "wacht-tray.exe"} {
		if _, arch := exePlatform(t, filepath.Join(progDir, f)); arch != "arm64" {
			t.Errorf("on ARM64 the MSI installed a %s %s", arch, f)
		}
	}
	if out, err := msiexec("/x", winPath(msi2), "/qn", "PURGE=1"); err != nil {
		t.Errorf("uninstall on ARM64: %v\n%s", err, out)
	}
	t.Logf("install to the last uninstall took %v", time.Since(began).Round(time.Second))
}

// crossBuild builds pkg for windows/arch.
func crossBuild(t *testing.T, pkg, arch, out, ldflags string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w "+ldflags, "-o", out, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s for windows/%s: %v\n%s", pkg, arch, err, b)
	}
}

func copyTo(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}

func buildAgentMSI(t *testing.T, dist, version string) string {
	t.Helper()
	built, err := installer.Windows(installer.Options{Dist: dist, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	if len(built) != 1 || built[0].Kind != release.KindMSI || filepath.Base(built[0].Path) != installer.MSIName(version) {
		b, _ := json.Marshal(built)
		t.Fatalf("installer.Windows built %s", b)
	}
	return built[0].Path
}

func exePlatform(t *testing.T, path string) (string, string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return "", ""
	}
	defer f.Close()
	goos, arch, err := release.Platform(f)
	if err != nil {
		t.Error(err)
	}
	return goos, arch
}

// readTail is the end of an MSI log (UTF-16 from Wine's msi is read as
// it comes; the tail is for a human reading a failure).
func readTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	if len(b) > 6000 {
		b = b[len(b)-6000:]
	}
	return string(b)
}
