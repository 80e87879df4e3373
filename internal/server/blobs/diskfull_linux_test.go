package blobs

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPutDiskFull fills a real 1 MiB tmpfs: the upload fails with
// ErrDiskFull and leaves nothing behind.
func TestPutDiskFull(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=1m,mode=0700"); err != nil {
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
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Put(bytes.NewReader(randomBytes(t, 2<<20))); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("Put = %v, want ErrDiskFull", err)
	}
	if n := len(tmpEntries(t, s)); n != 0 {
		t.Errorf("%d files left in tmp", n)
	}
	// The space is free again: a small upload fits.
	if _, _, err := s.Put(bytes.NewReader(randomBytes(t, 100<<10))); err != nil {
		t.Errorf("Put after a full disk: %v", err)
	}
}
