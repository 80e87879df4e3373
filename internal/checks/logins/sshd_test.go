//go:build linux

package logins

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
	"github.com/wacht-rmm/wacht/internal/core"
)

// need finds a program from a Debian package, skipping the test when it is
// missing locally and failing it in CI.
func need(t *testing.T, prog, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		p, err = exec.LookPath("/usr/sbin/" + prog)
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing in CI: install Debian package %s", prog, pkg)
		}
		t.Skipf("%s not installed (Debian package %s)", prog, pkg)
	}
	return p
}

// startSSHD runs a real OpenSSH server on a free loopback port, logging to
// a file, and returns its address and log path.
func startSSHD(t *testing.T) (addr, logPath string) {
	t.Helper()
	sshd := need(t, "sshd", "openssh-server")
	keygen := need(t, "ssh-keygen", "openssh-client")
	dir := t.TempDir()
	key := filepath.Join(dir, "host_ed25519")
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	if os.Geteuid() == 0 {
		// sshd as root insists on its privilege separation directory.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := filepath.Join(dir, "sshd_config")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`HostKey %s
ListenAddress 127.0.0.1
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PermitRootLogin yes
PidFile none
MaxAuthTries 6
`, key)), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logPath = filepath.Join(dir, "sshd.log")
	var stderr bytes.Buffer
	cmd := exec.Command(sshd, "-D", "-e", "-f", conf, "-p", fmt.Sprint(port), "-E", logPath)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	waitLog(t, logPath, "Server listening on 127.0.0.1", &stderr)
	return fmt.Sprintf("127.0.0.1:%d", port), logPath
}

// waitLog polls the log until it contains s; sshd writes it asynchronously.
func waitLog(t *testing.T, path, s string, stderr *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(path)
		if bytes.Contains(b, []byte(s)) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, _ := os.ReadFile(path)
	t.Fatalf("sshd log never showed %q:\n%s\nstderr: %s", s, b, stderr)
}

// failLogin tries a password log-in that must be refused.
func failLogin(t *testing.T, addr, user, password string) {
	t.Helper()
	cfg := &ssh.ClientConfig{
		User:            user,
		Auth:            []ssh.AuthMethod{ssh.Password(password)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), // the test's own throwaway server
		Timeout:         10 * time.Second,
	}
	c, err := ssh.Dial("tcp", addr, cfg)
	if err == nil {
		c.Close()
		t.Fatalf("log-in as %s succeeded", user)
	}
	if !strings.Contains(err.Error(), "unable to authenticate") {
		t.Fatalf("log-in as %s: %v", user, err)
	}
}

func TestRealSSHD(t *testing.T) {
	addr, logPath := startSSHD(t)
	check.SetStateDir(t.TempDir())
	conf := fmt.Sprintf(`{"files":[%q],"warn":3,"fail":10}`, logPath)
	src := func(p params) ([]logsrc.Source, error) { return linuxSources(p, true, nil) }

	failLogin(t, addr, "nosuchuser", "secret")
	failLogin(t, addr, "root", "wrong-password")
	waitLog(t, logPath, "Failed password for root from 127.0.0.1", new(bytes.Buffer))
	res := run(t, conf, src, nil, time.Time{})
	if *res.Value != 2 || res.Status != core.StatusOK ||
		!strings.Contains(res.Message.EN, "Top accounts: nosuchuser (1), root (1). Top sources: 127.0.0.1 (2)") ||
		!strings.Contains(res.Message.DE, "Häufigste Quellen: 127.0.0.1 (2)") {
		b, _ := os.ReadFile(logPath)
		t.Fatalf("first batch: %v %v %s\nlog:\n%s", *res.Value, res.Status, res.Message.EN, b)
	}

	// Agent "restart": a new check instance with the same state directory
	// sees only the new failure, on top of those still in the window.
	failLogin(t, addr, "root", "again-wrong")
	waitLog(t, logPath, "Failed password for root", new(bytes.Buffer))
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, _ := os.ReadFile(logPath)
		if bytes.Count(b, []byte("Failed password for root")) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("second failure not logged:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	res = run(t, conf, src, nil, time.Time{})
	if *res.Value != 3 || res.Status != core.StatusWarning || !strings.Contains(res.Message.EN, "Top accounts: root (2), nosuchuser (1)") {
		t.Fatalf("second batch: %v %v %s", *res.Value, res.Status, res.Message.EN)
	}
	res = run(t, conf, src, nil, time.Time{})
	if *res.Value != 3 {
		t.Fatalf("re-run counted again: %v %s", *res.Value, res.Message.EN)
	}
}
