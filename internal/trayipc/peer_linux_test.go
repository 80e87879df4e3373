package trayipc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestHelperProcess is a tray of another user: run as a child with
// WACHT_TRAYIPC_HELPER=<socket>, it asks for "peer" and prints the agent's
// answer or the error code.
func TestHelperProcess(t *testing.T) {
	addr := os.Getenv("WACHT_TRAYIPC_HELPER")
	if addr == "" {
		t.Skip("helper process only")
	}
	c, err := Dial(context.Background(), addr)
	if err != nil {
		fmt.Println("dial:", err)
		os.Exit(2)
	}
	var p Peer
	err = c.Call(context.Background(), "peer", nil, &p)
	if e, ok := errors.AsType[*Error](err); ok {
		fmt.Println("error:", e.Code)
		os.Exit(0)
	}
	if err != nil {
		fmt.Println("call:", err)
		os.Exit(2)
	}
	b, _ := json.Marshal(p)
	fmt.Println(string(b))
	os.Exit(0)
}

// asUser runs TestHelperProcess as uid against addr; bin is a copy of the
// test binary the user may execute.
func asUser(t *testing.T, bin, addr string, uid uint32) string {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^TestHelperProcess$")
	cmd.Env = []string{"WACHT_TRAYIPC_HELPER=" + addr}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper as uid %d: %v\n%s", uid, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestPeerOtherUsers(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run processes as other users")
	}
	addr, log := serve(t, testHandler)
	bin := executableCopy(t)

	t.Run("nobody is refused", func(t *testing.T) {
		if out := asUser(t, bin, addr, 65534); out != "error: "+CodeRefused {
			t.Errorf("uid 65534: %q, want a refusal", out)
		}
		if !strings.Contains(log.String(), "tray connection refused") || !strings.Contains(log.String(), "uid=65534") {
			t.Errorf("log:\n%s", log)
		}
	})
	t.Run("a service account is refused", func(t *testing.T) {
		if out := asUser(t, bin, addr, 999); out != "error: "+CodeRefused {
			t.Errorf("uid 999: %q, want a refusal", out)
		}
	})
	t.Run("users are told apart", func(t *testing.T) {
		for _, uid := range []uint32{1001, 1002} {
			out := asUser(t, bin, addr, uid)
			var p Peer
			if err := json.Unmarshal([]byte(out), &p); err != nil {
				t.Fatalf("uid %d: %q", uid, out)
			}
			if want := fmt.Sprint(uid); p.UID != want || p.User == "" || p.PID <= 0 || p.PID == os.Getpid() {
				t.Errorf("uid %d: handler saw %+v", uid, p)
			}
		}
	})
}

// executableCopy copies the test binary to a place every user can read:
// go test builds it in a directory private to root.
func executableCopy(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "trayipc-bin")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	bin := filepath.Join(dir, "trayipc.test")
	out, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}
