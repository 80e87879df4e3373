package updates

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLinuxRebootState(t *testing.T) {
	bin := t.TempDir()
	tool := func(name string) string {
		p := filepath.Join(bin, name)
		os.WriteFile(p, nil, 0o755)
		return p
	}
	fake := func(exits map[string]int, outs map[string]string) pmRunner {
		return func(_ context.Context, c pmCmd) (pmOut, error) {
			name := filepath.Base(c.argv[0])
			if e, ok := exits[name]; ok {
				return pmOut{exit: e, stdout: outs[name]}, nil
			}
			return pmOut{}, errors.New("cannot start " + name)
		}
	}
	none := filepath.Join(bin, "none")
	for name, c := range map[string]struct {
		l                linuxReboot
		flag             bool
		pending          bool
		reasons, errWord string
	}{
		"nothing":       {l: linuxReboot{needsRestarting: none, dnf: none, zypper: none}},
		"flag":          {l: linuxReboot{needsRestarting: none, dnf: none, zypper: none}, flag: true, pending: true, reasons: "/var/run/reboot-required (linux-image-6.1.0-18-amd64)"},
		"needs 1":       {l: linuxReboot{needsRestarting: tool("needs-restarting"), dnf: none, zypper: none, run: fake(map[string]int{"needs-restarting": 1}, nil)}, pending: true, reasons: "needs-restarting"},
		"needs 0":       {l: linuxReboot{needsRestarting: tool("needs-restarting"), dnf: none, zypper: none, run: fake(map[string]int{"needs-restarting": 0}, nil)}},
		"dnf plugin":    {l: linuxReboot{needsRestarting: none, dnf: tool("dnf"), zypper: none, run: fake(map[string]int{"dnf": 1}, map[string]string{"dnf": "No such command: needs-restarting."})}, errWord: "No such command"},
		"zypper 102":    {l: linuxReboot{needsRestarting: none, dnf: none, zypper: tool("zypper"), run: fake(map[string]int{"zypper": 102}, nil)}, pending: true, reasons: "zypper needs-rebooting"},
		"zypper broken": {l: linuxReboot{needsRestarting: none, dnf: none, zypper: tool("zypper"), run: fake(nil, nil)}, errWord: "cannot start"},
	} {
		t.Run(name, func(t *testing.T) {
			c.l.runDir = t.TempDir()
			if c.flag {
				os.WriteFile(filepath.Join(c.l.runDir, "reboot-required"), nil, 0o644)
				os.WriteFile(filepath.Join(c.l.runDir, "reboot-required.pkgs"), []byte("linux-image-6.1.0-18-amd64\n"), 0o644)
			}
			st := c.l.state(t.Context())
			if st.Pending != c.pending || strings.Join(st.Reasons, ";") != c.reasons || (c.errWord == "") != (st.Error == "") || !strings.Contains(st.Error, c.errWord) {
				t.Fatalf("%+v", st)
			}
			if c.flag && st.Since.IsZero() {
				t.Fatal("no since")
			}
		})
	}
}

func TestLinuxRebootNewKernel(t *testing.T) {
	proc, boot := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(proc, "sys/kernel"), 0o755)
	os.WriteFile(filepath.Join(proc, "sys/kernel/osrelease"), []byte("6.1.0-17-amd64\n"), 0o644)
	booted := time.Now().Add(-time.Hour)
	os.WriteFile(filepath.Join(proc, "stat"), []byte("cpu  1 2 3\nbtime "+strconv.FormatInt(booted.Unix(), 10)+"\nprocesses 9\n"), 0o644)
	kernel := func(ver string, at time.Time) {
		p := filepath.Join(boot, "vmlinuz-"+ver)
		os.WriteFile(p, nil, 0o644)
		os.Chtimes(p, at, at)
	}
	kernel("6.1.0-16-amd64", booted.Add(-24*time.Hour)) // before the boot
	kernel("6.1.0-17-amd64", booted.Add(time.Minute))   // the running one, touched since
	l := linuxReboot{runDir: t.TempDir(), bootDir: boot, procDir: proc, needsRestarting: "/none", dnf: "/none", zypper: "/none"}
	if st := l.state(t.Context()); st.Pending || st.Error != "" {
		t.Fatalf("no new kernel: %+v", st)
	}
	kernel("6.1.0-18-amd64", booted.Add(30*time.Minute))
	st := l.state(t.Context())
	if !st.Pending || len(st.Reasons) != 1 || st.Reasons[0] != "kernel 6.1.0-18-amd64 installed since boot (running 6.1.0-17-amd64)" {
		t.Fatalf("%+v", st)
	}
}
