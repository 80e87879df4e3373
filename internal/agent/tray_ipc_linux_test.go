package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/trayipc"
)

// trayAgent runs an agent that serves the trays on a socket in a folder
// other users can reach, and returns the socket's path.
func trayAgent(t *testing.T, fsup *fakeSupport) (*testAgent, string) {
	t.Helper()
	base, err := os.MkdirTemp("", "wacht-tray-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	addr := filepath.Join(base, "run", "tray.sock")
	dir := t.TempDir()
	pub, key, _ := ed25519.GenerateKey(rand.Reader)
	srv := newFakeServer(t, pub)
	srv.support.Store(fsup)
	if err := SaveKey(dir, key); err != nil {
		t.Fatal(err)
	}
	cfg := Config{ServerURL: srv.srv.URL, Fingerprint: protocol.Fingerprint(srv.srv.Certificate().Raw), DeviceID: srv.deviceID,
		ActionKey: srv.signer.Public(), TrayAddress: addr}
	if err := SaveConfig(dir, cfg); err != nil {
		t.Fatal(err)
	}
	ta := runAgentIn(t, dir, srv, []NamedCheck{{"fake", &fakeCheck{n: 1}}}, func(o *Options) { o.Tray = true })
	return ta, addr
}

// dialTray connects to the agent at addr, waiting for it to listen.
func dialTray(t *testing.T, addr string) *trayipc.Client {
	t.Helper()
	var c *trayipc.Client
	waitFor(t, "the tray socket", func() bool {
		var err error
		c, err = trayipc.Dial(context.Background(), addr)
		return err == nil
	})
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTrayOverTheSocket(t *testing.T) {
	fsup := &fakeSupport{}
	ta, addr := trayAgent(t, fsup)
	c := dialTray(t, addr)
	ctx := context.Background()

	var st trayipc.Status
	if err := c.Call(ctx, trayipc.OpStatus, nil, &st); err != nil {
		t.Fatal(err)
	}
	if st.Version != trayipc.Version || st.Branding.ProductName != core.DefaultProductName {
		t.Errorf("status %+v", st)
	}
	var te *trayipc.Error
	if err := c.Call(ctx, trayipc.OpIcon, nil, nil); !errors.As(err, &te) || te.Code != trayipc.CodeNotFound {
		t.Errorf("icon: %v", err)
	}
	var rep trayipc.SupportReply
	if err := c.Call(ctx, trayipc.OpSupport, trayipc.SupportArgs{Message: "Der Drucker druckt nicht.", Lang: "de", Screenshot: png}, &rep); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the request delivered", func() bool { return len(fsup.received()) == 1 })
	if r := fsup.received()[0]; r.Ref != rep.Ref || r.OSUser != "root" || string(r.Screenshot) != string(png) {
		t.Errorf("delivered %+v", r)
	}
	var reqs trayipc.Requests
	waitFor(t, "the request listed as sent", func() bool {
		if err := c.Call(ctx, trayipc.OpRequests, nil, &reqs); err != nil {
			t.Fatal(err)
		}
		return len(reqs.Requests) == 1 && reqs.Requests[0].Sent && reqs.Requests[0].State == core.SupportNew
	})

	// The agent stops: the socket goes away with it.
	ta.stop(t)
	if _, err := os.Stat(addr); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
}

// The agent tells users apart by the kernel's peer credentials: a tray
// of another user sees only its own requests, and what it sends carries
// its own account, whatever it claims.
func TestTrayUsersIsolatedOverTheSocket(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a tray as another user")
	}
	fsup := &fakeSupport{}
	_, addr := trayAgent(t, fsup)
	c := dialTray(t, addr)
	ctx := context.Background()
	var mine trayipc.SupportReply
	if err := c.Call(ctx, trayipc.OpSupport, trayipc.SupportArgs{Message: "root's request", Lang: "en"}, &mine); err != nil {
		t.Fatal(err)
	}

	out := runTrayAs(t, 1001, addr)
	var theirs struct {
		Ref      string
		Requests trayipc.Requests
	}
	if err := json.Unmarshal(out, &theirs); err != nil {
		t.Fatalf("helper said %q: %v", out, err)
	}
	if len(theirs.Requests.Requests) != 1 || theirs.Requests.Requests[0].Ref != theirs.Ref {
		t.Errorf("uid 1001 sees %+v", theirs.Requests)
	}
	var reqs trayipc.Requests
	if err := c.Call(ctx, trayipc.OpRequests, nil, &reqs); err != nil {
		t.Fatal(err)
	}
	if len(reqs.Requests) != 1 || reqs.Requests[0].Ref != mine.Ref {
		t.Errorf("root sees %+v", reqs)
	}
	waitFor(t, "both delivered", func() bool { return len(fsup.received()) == 2 })
	want := "uid 1001"
	if u, err := user.LookupId("1001"); err == nil {
		want = u.Username
	}
	for _, r := range fsup.received() {
		if r.Ref == theirs.Ref && r.OSUser != want {
			t.Errorf("uid 1001's request sent as %q, want %q", r.OSUser, want)
		}
	}
}

// runTrayAs runs TestTrayHelperProcess as uid, from a copy of the test
// binary the user may execute, and returns what it printed.
func runTrayAs(t *testing.T, uid uint32, addr string) []byte {
	t.Helper()
	bin := filepath.Join(filepath.Dir(filepath.Dir(addr)), "agent.test")
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	cmd := exec.Command(bin, "-test.run=^TestTrayHelperProcess$")
	cmd.Env = []string{"WACHT_TRAY_HELPER=" + addr}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper as uid %d: %v: %s", uid, err, out)
	}
	// The test framework prints PASS after the helper's line.
	for i, b := range out {
		if b == '\n' {
			return out[:i]
		}
	}
	return out
}

// TestTrayHelperProcess is a tray of another user (runTrayAs): it sends a
// request claiming to be root and prints its ref and its list as JSON.
func TestTrayHelperProcess(t *testing.T) {
	addr := os.Getenv("WACHT_TRAY_HELPER")
	if addr == "" {
		t.Skip("helper process only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := trayipc.Dial(ctx, addr)
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	var rep trayipc.SupportReply
	args := trayipc.SupportArgs{Message: "uid " + strconv.Itoa(os.Getuid()) + " needs help", Lang: "en",
		Contact: core.SupportContact{Name: "root"}}
	var reqs trayipc.Requests
	if err := c.Call(ctx, trayipc.OpSupport, args, &rep); err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	if err := c.Call(ctx, trayipc.OpRequests, nil, &reqs); err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	b, _ := json.Marshal(map[string]any{"Ref": rep.Ref, "Requests": reqs})
	fmt.Println(string(b))
	os.Exit(0)
}
