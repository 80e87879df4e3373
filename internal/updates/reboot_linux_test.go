package updates

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
