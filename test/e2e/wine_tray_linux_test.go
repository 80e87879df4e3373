package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/tray"
)

// TestWindowsTrayUnderWine runs the Windows tray app under Wine against
// the Windows agent under Wine (its named pipe) and a real server:
// `wacht-tray.exe --status` prints the client's branding and the status
// line, and the tray started normally in Wine's desktop shows its icon in
// the notification area of Wine's taskbar without crashing. `make wine`
// runs it with the agent's lane.
func TestWindowsTrayUnderWine(t *testing.T) {
	if testing.Short() {
		t.Skip("the Windows lane takes a minute or two")
	}
	began := time.Now()
	w := newWinePrefix(t)
	d := newDisplay(t, displayTools)
	trayExe := filepath.Join(filepath.Dir(w.exe), "wacht-tray.exe")
	// As make dist builds it: a GUI program, no console window.
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-H=windowsgui", "-o", trayExe, "github.com/wacht-rmm/wacht/cmd/wacht-tray")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the Windows tray: %v\n%s", err, out)
	}

	e := newEnv(t)
	tok := e.token() // creates the client
	client := e.clientID("Müller GmbH")
	e.sendJSON("PUT", fmt.Sprintf("/api/v1/clients/%d/branding", client), fmt.Sprintf(`{"show":true,"product_name":%q,"phone":%q}`, trayProduct, trayPhone), nil)
	e.putIcon(client, brandIcon(t))
	if _, err := w.run(time.Minute, "agent", "enroll", "--data", `C:\wachtdata`, "--token", tok); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	agentRun := w.command(ctx, "agent", "run", "--data", `C:\wachtdata`, "--interval", "5s",
		"--checks", `{"cpu":{"window":"1s"},"memory":{"window":"0s"},"disk":null}`)
	var runLog logBuf
	agentRun.Stdout, agentRun.Stderr = &runLog, &runLog
	if err := agentRun.Start(); err != nil {
		t.Fatal(err)
	}
	runDone := make(chan struct{})
	go func() { agentRun.Wait(); close(runDone) }()
	defer func() {
		agentRun.Process.Kill()
		<-runDone
		fmt.Fprintf(&w.stderr, "--- agent run\n%s", runLog.String())
	}()

	// 1. --status: the agent answers over its named pipe with the branding
	// the policy brought.
	var snap tray.Snapshot
	var out string
	waitFor(t, "wacht-tray.exe --status with the branding", 2*time.Minute, func() bool {
		var err error
		out, err = w.run(time.Minute, trayExe, "--status", "--lang", "de")
		snap = tray.Snapshot{}
		if json.Unmarshal([]byte(out), &snap) != nil && err == nil {
			t.Fatalf("--status printed no JSON:\n%s", out)
		}
		return snap.Reachable && snap.Status != nil && snap.Status.Branding.ProductName == trayProduct
	})
	t.Logf("wacht-tray.exe --status under Wine: menu %+v", snap.Menu.Items)
	if it, ok := snap.Menu.Item(tray.KeyStatus); !ok || it.Title == unreachableDE || it.Title == "" {
		t.Errorf("status line %+v", it)
	}
	if it, ok := snap.Menu.Item(tray.KeyPhone); !ok || it.Title != "Telefon: "+trayPhone {
		t.Errorf("phone line %+v", it)
	}
	if snap.Status.Branding.IconSHA256 == "" || !strings.HasPrefix(snap.Menu.Tooltip, trayProduct) {
		t.Errorf("branding %+v, tooltip %q", snap.Status.Branding, snap.Menu.Tooltip)
	}

	// 2. Started as at log-on, in Wine's desktop with a taskbar: the icon
	// appears in its notification area (bottom right) and the tray keeps
	// running.
	winPath := "Z:" + strings.ReplaceAll(trayExe, "/", `\`)
	run := w.command(ctx, "explorer", "/desktop=shell,1024x640", winPath)
	run.Env = append(run.Env[:len(run.Env):len(run.Env)], "DISPLAY="+d.display)
	var trayLog logBuf
	run.Stdout, run.Stderr = &trayLog, &trayLog
	run.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	trayDone := make(chan struct{})
	go func() { run.Wait(); close(trayDone) }()
	defer func() {
		syscall.Kill(-run.Process.Pid, syscall.SIGKILL)
		<-trayDone
		if t.Failed() {
			t.Logf("wacht-tray.exe output:\n%s", trayLog.String())
		}
	}()
	// Wine 8 draws the icon (a PNG inside an ICO) with red and blue
	// swapped; either way it is the client's icon, not Wine's or ours.
	swapped := [3]uint8{brandColour[2], brandColour[1], brandColour[0]}
	area := image.Rect(1024-200, 640-40, 1024, 640)
	var shot image.Image
	waitFor(t, "the tray icon in Wine's notification area", 2*time.Minute, func() bool {
		shot = d.screenshot("wine-tray.png")
		return countColour(shot, brandColour, area)+countColour(shot, swapped, area) >= 64
	})
	t.Logf("Wine's notification area shows the branding icon: %d pixels in its colours, %d with red and blue swapped",
		countColour(shot, brandColour, area), countColour(shot, swapped, area))
	if m := goPanic.FindString(trayLog.String() + w.stderr.String()); m != "" {
		t.Errorf("a Go panic under Wine (%q):\n%s", m, trayLog.String())
	}
	// The tray still runs (Wine's tasklist lists nothing: look for its
	// process, whose command line names the test's own copy).
	if !running(trayExe) {
		t.Errorf("wacht-tray.exe is not running any more")
	}
	t.Logf("Windows tray lane took %v", time.Since(began).Round(time.Second))
}

// running reports whether a process runs exe: Wine names a Windows
// program's process by its Windows path (Z:\…) in argv[0]. (explorer, which
// started it, has the path only as an argument.)
func running(exe string) bool {
	win := strings.ToLower("Z:" + strings.ReplaceAll(exe, "/", `\`))
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		argv0, _, _ := strings.Cut(string(b), "\x00")
		if a := strings.ToLower(argv0); a == win || a == strings.ToLower(exe) {
			return true
		}
	}
	return false
}
