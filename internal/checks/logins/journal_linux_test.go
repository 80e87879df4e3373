package logins

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
)

// TestRealJournalctl logs failures into a real journal file (through
// systemd-journal-remote) and reads them with the real journalctl and the
// check's auth/authpriv facility matches.
func TestRealJournalctl(t *testing.T) {
	jctl := need(t, "journalctl", "systemd")
	remote := ""
	for _, p := range []string{"/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"} {
		if _, err := exec.LookPath(p); err == nil {
			remote = p
		}
	}
	if remote == "" {
		remote = need(t, "systemd-journal-remote", "systemd-journal-remote")
	}
	file := filepath.Join(t.TempDir(), "system.journal")
	type ent struct {
		facility int
		ident    string
		pid      int
		msg      []byte
	}
	write := func(es ...ent) {
		var b bytes.Buffer
		now := time.Now()
		for i, e := range es {
			fmt.Fprintf(&b, "__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=0d9c8b7a6f5e4d3c2b1a09f8e7d6c5b4\nPRIORITY=6\nSYSLOG_FACILITY=%d\nSYSLOG_IDENTIFIER=%s\n_PID=%d\nMESSAGE\n",
				now.UnixMicro()+int64(i), now.UnixMicro()+int64(i), e.facility, e.ident, e.pid)
			binary.Write(&b, binary.LittleEndian, uint64(len(e.msg)))
			b.Write(e.msg)
			b.WriteString("\n\n")
		}
		cmd := exec.Command(remote, "-o", file, "-")
		cmd.Stdin = &b
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("systemd-journal-remote: %v: %s", err, out)
		}
	}
	check.SetStateDir(t.TempDir())
	src := func(p params) ([]logsrc.Source, error) {
		srcs, err := linuxSources(p, true, nil)
		if err != nil {
			return nil, err
		}
		j := srcs[0].Reader.(logsrc.Journal)
		j.Args = append([]string{"--file", file}, j.Args...)
		j.Run = func(ctx context.Context, _ string, args ...string) ([]byte, error) {
			return logsrc.Exec(30*time.Second)(ctx, jctl, args...)
		}
		srcs[0].Reader = j
		return srcs, nil
	}

	write(
		ent{4, "sshd-session", 51002, []byte("Invalid user ubnt from 203.0.113.57 port 33410")},
		ent{4, "sshd-session", 51002, []byte("Failed password for invalid user ubnt from 203.0.113.57 port 33410 ssh2")},
		ent{4, "sshd-session", 51010, []byte("Failed password for invalid user g\xe9rard from 203.0.113.57 port 33422 ssh2")}, // Latin-1: a byte array in JSON
		ent{3, "backupd", 700, []byte("Failed password for root from 192.0.2.1 port 1 ssh2")},                                 // daemon facility: not an auth log
	)
	res := run(t, `{"warn":2,"fail":5}`, src, nil, time.Time{})
	if *res.Value != 2 || !strings.Contains(res.Message.EN, "Top accounts: g\uFFFDrard (1), ubnt (1). Top sources: 203.0.113.57 (2)") {
		t.Fatalf("first batch: %v %s", *res.Value, res.Message.EN)
	}
	write(ent{10, "sudo", 51100, []byte("pam_unix(sudo:auth): authentication failure; logname=anna uid=1000 euid=0 tty=/dev/pts/0 ruser=anna rhost=  user=anna")},
		ent{10, "sudo", 51100, []byte("anna : 1 incorrect password attempt ; TTY=pts/0 ; PWD=/home/anna ; USER=root ; COMMAND=/usr/bin/id")})
	res = run(t, `{"warn":2,"fail":5}`, src, nil, time.Time{})
	if *res.Value != 3 || !strings.Contains(res.Message.EN, "anna (1)") {
		t.Fatalf("second batch: %v %s", *res.Value, res.Message.EN)
	}
}
