package growth

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestRealTmpfs measures growth on a real file system: a tmpfs the test
// mounts itself (root only), written to between two runs 24 h apart on the
// check's clock.
func TestRealTmpfs(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("wacht-growth", dir, "tmpfs", 0, "size=64m"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mounting tmpfs: %v", err)
		}
		t.Skipf("cannot mount tmpfs (needs root): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	stateDir(t)
	clk := &clock{time.Now()}
	c, err := newCheck(json.RawMessage(`{"volumes":["`+dir+`"],"warn_percent":0,"fail_percent":0,"warn_gb":0.01,"fail_gb":1}`), osVolumes{}, clk.now)
	if err != nil {
		t.Fatal(err)
	}
	runOnce(t, c)
	if err := os.WriteFile(filepath.Join(dir, "data"), make([]byte, 20<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	clk.t = clk.t.Add(24 * time.Hour)
	got := runOnce(t, c)
	r := got[0]
	if r.Status != core.StatusWarning || r.Value == nil || *r.Value < 19.0/1024 || *r.Value > 21.0/1024 ||
		!strings.Contains(r.Message.EN, "grew by 20.0 MB") || !strings.Contains(r.Message.EN, "in the last 24 h") {
		t.Fatalf("tmpfs growth: %+v value %v", r, *r.Value)
	}
}
