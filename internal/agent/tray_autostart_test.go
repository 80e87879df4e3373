package agent

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTrayBinaryNextToTheAgent(t *testing.T) {
	if got := TrayBinary("/usr/bin/wacht-agent", "linux"); got != "/usr/bin/wacht-tray" {
		t.Errorf("linux %q", got)
	}
	if got := TrayBinary(filepath.Join("Program Files", "Wacht", "wacht-agent.exe"), "windows"); got != filepath.Join("Program Files", "Wacht", "wacht-tray.exe") {
		t.Errorf("windows %q", got)
	}
	if got := trayRunCommand(`C:\Program Files\Wacht\wacht-tray.exe`); got != `"C:\Program Files\Wacht\wacht-tray.exe"` {
		t.Errorf("run value %s", got)
	}
}

// execOf undoes the desktop entry's string and quoting rules for Exec.
func execOf(t *testing.T, entry string) string {
	t.Helper()
	for _, l := range strings.Split(entry, "\n") {
		v, ok := strings.CutPrefix(l, "Exec=")
		if !ok {
			continue
		}
		v = strings.ReplaceAll(v, `\\`, `\`) // string rules
		if !strings.HasPrefix(v, `"`) || !strings.HasSuffix(v, `"`) {
			t.Fatalf("Exec not quoted: %s", v)
		}
		v = v[1 : len(v)-1]
		var out strings.Builder
		for i := 0; i < len(v); i++ {
			switch {
			case v[i] == '\\' && i+1 < len(v):
				i++
				out.WriteByte(v[i])
			case v[i] == '"' || v[i] == '`' || v[i] == '$':
				t.Fatalf("unescaped %q in %s", v[i], v)
			case v[i] == '%' && i+1 < len(v) && v[i+1] == '%':
				i++
				out.WriteByte('%')
			default:
				out.WriteByte(v[i])
			}
		}
		return out.String()
	}
	t.Fatal("no Exec line")
	return ""
}

func TestTrayDesktopEntry(t *testing.T) {
	for _, p := range []string{"/usr/bin/wacht-tray", `/opt/my "odd" $dir/100%\bin/wacht-tray`, "/opt/Wächter `x`/wacht-tray"} {
		e := string(trayDesktopEntry(p))
		if !strings.HasPrefix(e, "[Desktop Entry]\n") || !strings.Contains(e, "\nType=Application\n") {
			t.Errorf("entry %s", e)
		}
		if got := execOf(t, e); got != p {
			t.Errorf("Exec runs %q, want %q", got, p)
		}
	}
}

func TestTrayLaunchAgent(t *testing.T) {
	p := "/Applications/Wacht & Co/<wacht-tray>"
	var plist struct {
		Dict struct {
			Inner []string `xml:",any"`
		} `xml:"dict"`
	}
	b := trayLaunchAgent(p)
	if err := xml.Unmarshal(b, &plist); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	for _, want := range []string{"<key>Label</key>\n\t<string>de.wacht.tray</string>", "<key>RunAtLoad</key>\n\t<true/>",
		"<key>LimitLoadToSessionType</key>\n\t<string>Aqua</string>", "<key>SuccessfulExit</key>\n\t\t<false/>",
		"<string>/Applications/Wacht &amp; Co/&lt;wacht-tray&gt;</string>"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("plist lacks %q:\n%s", want, b)
		}
	}
}

func TestTrayAutostartWrittenAndRemoved(t *testing.T) {
	root := t.TempDir()
	for goos, file := range map[string]string{"linux": trayDesktopFile, "darwin": trayLaunchAgentFile, "freebsd": trayDesktopFile} {
		if err := writeTrayAutostart(root, goos, "/usr/bin/wacht-tray"); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(root, file)
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != 0o644 {
			t.Fatalf("%s: %v %v", goos, fi, err)
		}
		if d, _ := os.Stat(filepath.Dir(path)); d.Mode().Perm() != 0o755 {
			t.Errorf("%s: folder mode %v", goos, d.Mode())
		}
		b, _ := os.ReadFile(path)
		if !strings.Contains(string(b), "/usr/bin/wacht-tray") {
			t.Errorf("%s: %s", goos, b)
		}
		if err := deleteTrayAutostart(root, goos); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("%s: not removed: %v", goos, err)
		}
		if err := deleteTrayAutostart(root, goos); err != nil {
			t.Errorf("%s: removing twice: %v", goos, err)
		}
	}
	if err := writeTrayAutostart(root, "windows", `C:\x\wacht-tray.exe`); err != nil {
		t.Errorf("windows writes no file: %v", err)
	}
}
