package agent

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestDownloadDiskFull downloads 1 MiB into a real 512 KiB tmpfs: the
// agent reports disk_full at once and frees what it wrote.
func TestDownloadDiskFull(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=512k,mode=0700"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mounting a tmpfs: %v", err)
		}
		t.Skip("mounting a tmpfs needs root:", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", dir, err)
		}
	})
	bs, ref := newBlobServer(t, randomData(t, 1<<20))
	d := bs.downloader(t)
	d.Dir = dir
	_, err := d.Fetch(t.Context(), ref)
	wantCode(t, "Fetch", err, protocol.CodeDiskFull)
	if n := len(bs.requests()); n != 1 {
		t.Errorf("%d requests: a full disk is not retried", n)
	}
	if es, _ := os.ReadDir(dir); len(es) != 0 {
		t.Errorf("files left: %v", es)
	}
}
