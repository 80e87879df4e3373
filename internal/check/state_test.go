package check

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestStateDir(t *testing.T) {
	SetStateDir("")
	if _, err := StateDir(); !errors.Is(err, ErrNoStateDir) {
		t.Fatalf("unset: err %v, want ErrNoStateDir", err)
	}
	want := filepath.Join(t.TempDir(), "a", "checks")
	SetStateDir(want)
	t.Cleanup(func() { SetStateDir("") })
	got, err := StateDir()
	if err != nil || got != want {
		t.Fatalf("StateDir = %q, %v; want %q", got, err, want)
	}
	if fi, err := os.Stat(got); err != nil || !fi.IsDir() {
		t.Fatalf("state dir not created: %v", err)
	}
}
