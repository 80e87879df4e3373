package tray

import (
	"bufio"
	"bytes"
	"context"
	"image/png"
	"os/exec"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestScreenshotXvfb takes a real screenshot of a virtual X display.
func TestScreenshotXvfb(t *testing.T) {
	for _, tool := range []string{"Xvfb", "import"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	xvfb := exec.Command("Xvfb", "-displayfd", "1", "-screen", "0", "800x600x24", "-nolisten", "tcp")
	out, err := xvfb.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := xvfb.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { xvfb.Process.Kill(); xvfb.Wait() })
	display, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("Xvfb gave no display: %v", err)
	}
	t.Setenv("WAYLAND_DISPLAY", "")
	t.Setenv("DISPLAY", ":"+strings.TrimSpace(display))
	b, err := Screenshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width != 800 || cfg.Height != 600 || len(b) > core.MaxSupportScreenshot {
		t.Errorf("screenshot %d×%d of %d bytes: %v", cfg.Width, cfg.Height, len(b), err)
	}

	t.Setenv("DISPLAY", "")
	if _, err := Screenshot(context.Background()); err == nil {
		t.Error("a screenshot without a display")
	}
}
