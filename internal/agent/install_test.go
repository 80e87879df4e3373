package agent

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestManagerCommand pins each package manager's non-interactive
// install and remove command, and refuses a manager of another OS.
func TestManagerCommand(t *testing.T) {
	for _, c := range []struct {
		goos, kind, id  string
		install, remove string
		env             string
	}{
		{"linux", core.PkgApt, "htop",
			"apt-get install -y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold htop", "apt-get remove -y -q htop", "DEBIAN_FRONTEND=noninteractive"},
		{"linux", core.PkgDnf, "htop", "dnf install -y -q htop", "dnf remove -y -q htop", ""},
		{"linux", core.PkgZypper, "htop", "zypper --non-interactive install --auto-agree-with-licenses htop", "zypper --non-interactive remove htop", ""},
		{"windows", core.PkgWinget, "7zip.7zip",
			"winget install --accept-package-agreements --id 7zip.7zip --exact --source winget --silent --accept-source-agreements --disable-interactivity",
			"winget uninstall --id 7zip.7zip --exact --source winget --silent --accept-source-agreements --disable-interactivity", ""},
		{"windows", core.PkgChoco, "vlc", "choco install vlc -y --no-progress", "choco uninstall vlc -y --no-progress", ""},
		{"darwin", core.PkgBrew, "rustdesk", "brew install rustdesk", "brew uninstall rustdesk", "HOMEBREW_NO_AUTO_UPDATE=1 NONINTERACTIVE=1"},
	} {
		for _, uninstall := range []bool{false, true} {
			argv, env, err := managerCommand(c.goos, c.kind, c.id, uninstall)
			want := c.install
			if uninstall {
				want = c.remove
			}
			var envs []string
			for k, v := range env {
				envs = append(envs, k+"="+v)
			}
			if err != nil || strings.Join(argv, " ") != want || len(envs) != len(strings.Fields(c.env)) {
				t.Errorf("%s uninstall=%v: %q %v %v, want %q %s", c.kind, uninstall, argv, env, err, want, c.env)
			}
		}
		other := map[string]string{"linux": "windows", "windows": "darwin", "darwin": "linux"}[c.goos]
		_, _, err := managerCommand(other, c.kind, c.id, false)
		wantCode(t, c.kind+" on "+other, err, protocol.CodeUnsupported)
	}
}

// TestUploadCommand fills the placeholders as single arguments (never
// through a shell) and runs an .msi with msiexec on Windows only.
func TestUploadCommand(t *testing.T) {
	pa := protocol.PackageArgs{Command: []string{"{{file}}", "--server={{host}}", "KEY={{key}}; rm -rf /"},
		Params: map[string]string{"host": "relay example"}, Secrets: map[string]string{"key": "$(id)"}}
	argv, err := uploadCommand("linux", pa, "/data/tmp/pkg-1/setup run", false)
	if err != nil || len(argv) != 3 || argv[0] != "/data/tmp/pkg-1/setup run" || argv[1] != "--server=relay example" || argv[2] != "KEY=$(id); rm -rf /" {
		t.Fatalf("argv %q, %v", argv, err)
	}
	pa.Command = nil
	for uninstall, want := range map[bool]string{false: `msiexec /i C:\W\a.msi /qn /norestart`, true: `msiexec /x C:\W\a.msi /qn /norestart`} {
		if argv, err := uploadCommand("windows", pa, `C:\W\a.msi`, uninstall); err != nil || strings.Join(argv, " ") != want {
			t.Errorf("msi uninstall=%v: %q, %v", uninstall, argv, err)
		}
	}
	_, err = uploadCommand("linux", pa, "/x/a.msi", false)
	wantCode(t, "msi on linux", err, protocol.CodeUnsupported)
}

// TestTail keeps an installer's last words, cut at a character's start.
func TestTail(t *testing.T) {
	if got := tail("kurz"); got != "kurz" {
		t.Errorf("short output changed: %q", got)
	}
	long := strings.Repeat("ä", protocol.MaxPackageOutput) + "Fehler 1603"
	got := tail(long)
	if !strings.HasPrefix(got, "[… output cut by Wacht]\n") || !strings.HasSuffix(got, "Fehler 1603") ||
		len(got) > protocol.MaxPackageOutput+40 || !utf8.ValidString(got) {
		t.Errorf("tail: %d bytes, valid %v, ends %q", len(got), utf8.ValidString(got), got[len(got)-20:])
	}
}
