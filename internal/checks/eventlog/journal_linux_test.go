package eventlog

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
	"github.com/wacht-rmm/wacht/internal/core"
)

// need finds a program from a Debian package, skipping the test when it is
// missing locally and failing it in CI.
func need(t *testing.T, pkg string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if found, err := exec.LookPath(p); err == nil {
			return found
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s missing in CI: install Debian package %s", paths[0], pkg)
	}
	t.Skipf("%s not installed (Debian package %s)", paths[0], pkg)
	return ""
}

type journalEntry struct {
	prio    int
	ident   string
	message []byte
}

// appendJournal writes entries in the journal export format through
// systemd-journal-remote into a journal file, as journald would log them.
// MESSAGE is written in the binary form, so control bytes stay raw.
func appendJournal(t *testing.T, remote, file string, es ...journalEntry) {
	t.Helper()
	var b bytes.Buffer
	now := time.Now()
	for i, e := range es {
		fmt.Fprintf(&b, "__REALTIME_TIMESTAMP=%d\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=4f1e2d3c4b5a69788796a5b4c3d2e1f0\n_HOSTNAME=srv-fs01\nPRIORITY=%d\nSYSLOG_IDENTIFIER=%s\nMESSAGE\n",
			now.UnixMicro()+int64(i), now.UnixMicro()+int64(i), e.prio, e.ident)
		binary.Write(&b, binary.LittleEndian, uint64(len(e.message)))
		b.Write(e.message)
		b.WriteString("\n\n")
	}
	cmd := exec.Command(remote, "-o", file, "-")
	cmd.Stdin = &b
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("systemd-journal-remote: %v: %s", err, out)
	}
}

// TestRealJournalctl runs the check against a real journal file read by the
// real journalctl, with a new check instance (an agent restart) per batch.
func TestRealJournalctl(t *testing.T) {
	jctl := need(t, "systemd", "journalctl")
	remote := need(t, "systemd-journal-remote", "/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote")
	check.SetStateDir(t.TempDir())
	file := filepath.Join(t.TempDir(), "system.journal")
	src := func(p params) ([]logsrc.Source, error) {
		srcs, err := linuxSources(p, true, logsrc.Exec(30*time.Second))
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

	appendJournal(t, remote, file,
		journalEntry{3, "systemd", []byte("Failed to start backup.service - Nightly backup to NAS.")},
		journalEntry{6, "CRON", []byte("pam_unix(cron:session): session opened for user root")},
		journalEntry{2, "kernel", []byte("\x1b[0;1;31mEXT4-fs error (device sdb1): reading directory lblock 0\x1b[0m")},
	)
	res := run(t, "", src)
	if *res.Value != 2 || res.Status != core.StatusFailure ||
		!strings.Contains(res.Message.EN, "systemd: Failed to start backup.service") ||
		!strings.Contains(res.Message.EN, "kernel: EXT4-fs error (device sdb1): reading directory lblock 0") {
		t.Fatalf("first batch: %v %v %q", *res.Value, res.Status, res.Message.EN)
	}
	if d := events(t, res); len(d.Events) != 2 || d.Events[1].Source != "kernel" || d.Events[1].Level != "critical" || d.Events[1].Log != "journal" ||
		d.Events[1].Text != "EXT4-fs error (device sdb1): reading directory lblock 0" {
		t.Errorf("data = %+v", d)
	}

	appendJournal(t, remote, file,
		journalEntry{6, "sshd", []byte("Accepted publickey for deploy")},
		journalEntry{3, "nginx", []byte("bind() to 0.0.0.0:443 failed (98: Address already in use)")},
	)
	res = run(t, "", src)
	if *res.Value != 1 || !strings.Contains(res.Message.EN, "nginx: bind() to 0.0.0.0:443 failed") {
		t.Fatalf("second batch: %v %q", *res.Value, res.Message.EN)
	}
	if res = run(t, "", src); *res.Value != 0 {
		t.Fatalf("nothing new: %v %q", *res.Value, res.Message.EN)
	}
}
