package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// wineTrayIPC runs the trayipc package's Windows test under Wine: the
// agent's pipe listener with its ACL, three clients held open at once, and
// the peer read by impersonating each client (Wine does not enforce
// FILE_FLAG_FIRST_PIPE_INSTANCE; the test says so and skips that part).
func wineTrayIPC(t *testing.T, w *winePrefix) {
	t.Helper()
	exe := filepath.Join(filepath.Dir(w.exe), "trayipc.test.exe")
	build := exec.Command("go", "test", "-c", "-trimpath", "-o", exe, "github.com/wacht-rmm/wacht/internal/trayipc")
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH=amd64")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the tray IPC's Windows tests: %v\n%s", err, out)
	}
	out, err := w.run(2*time.Minute, exe, "-test.run", "^TestPipe$", "-test.v", "-test.timeout", "90s")
	if err != nil || !strings.Contains(out, "--- PASS: TestPipe") {
		t.Errorf("tray IPC under Wine: %v\n%s", err, out)
	}
}
