//go:build unix

package trayipc

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestListenModes(t *testing.T) {
	l := listen(t)
	for path, want := range map[string]os.FileMode{l.Addr(): 0o666, filepath.Dir(l.Addr()): 0o755} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode().Perm(), want)
		}
	}
}

func TestListenDirectory(t *testing.T) {
	t.Run("too open is narrowed", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "run")
		if err := os.Mkdir(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o777) // beyond the umask
		l, err := Listen(filepath.Join(dir, "tray.sock"))
		if err != nil {
			t.Fatal(err)
		}
		l.Close()
		if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o755 {
			t.Errorf("mode %v, want 0755", fi.Mode().Perm())
		}
	})
	t.Run("symlink", func(t *testing.T) {
		base := t.TempDir()
		if err := os.Symlink(t.TempDir(), filepath.Join(base, "run")); err != nil {
			t.Fatal(err)
		}
		if _, err := Listen(filepath.Join(base, "run", "tray.sock")); err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("Listen in a symlinked directory = %v", err)
		}
	})
	t.Run("someone else's", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to give a directory away")
		}
		dir := filepath.Join(t.TempDir(), "run")
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, 1001, 1001); err != nil {
			t.Fatal(err)
		}
		if _, err := Listen(filepath.Join(dir, "tray.sock")); err == nil || !strings.Contains(err.Error(), "not owned") {
			t.Errorf("Listen in another user's directory = %v", err)
		}
	})
}

func TestListenExisting(t *testing.T) {
	t.Run("stale socket", func(t *testing.T) {
		addr := filepath.Join(t.TempDir(), "run", "tray.sock")
		l, err := Listen(addr)
		if err != nil {
			t.Fatal(err)
		}
		// An agent that died: the socket file stays, nobody listens.
		l.ln.(*net.UnixListener).SetUnlinkOnClose(false)
		l.Close()
		if _, err := os.Stat(addr); err != nil {
			t.Fatal(err)
		}
		l, err = Listen(addr)
		if err != nil {
			t.Fatalf("Listen over a stale socket: %v", err)
		}
		l.Close()
	})
	t.Run("live socket", func(t *testing.T) {
		l := listen(t)
		if _, err := Listen(l.Addr()); err == nil || !strings.Contains(err.Error(), "another agent") {
			t.Errorf("second Listen = %v", err)
		}
		if _, err := os.Stat(l.Addr()); err != nil {
			t.Errorf("the live socket was removed: %v", err)
		}
	})
	t.Run("not a socket", func(t *testing.T) {
		addr := filepath.Join(t.TempDir(), "run", "tray.sock")
		os.Mkdir(filepath.Dir(addr), 0o755)
		if err := os.WriteFile(addr, []byte("keep me"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Listen(addr); err == nil || !strings.Contains(err.Error(), "not a socket") {
			t.Errorf("Listen over a file = %v", err)
		}
		if b, _ := os.ReadFile(addr); string(b) != "keep me" {
			t.Error("the file was touched")
		}
	})
}
