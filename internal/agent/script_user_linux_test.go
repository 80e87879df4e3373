package agent

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// fakeLoginctl answers loginctl as logind would with the given sessions
// (Key=Value blocks, as show-session prints them).
func fakeLoginctl(sessions ...string) osTool {
	return func(name string, args ...string) ([]byte, error) {
		if name != "loginctl" {
			return nil, fmt.Errorf("unexpected tool %s", name)
		}
		if args[0] == "list-sessions" {
			var b strings.Builder
			for i := range sessions {
				fmt.Fprintf(&b, "%6d 0 x seat0 tty1\n", i+1)
			}
			return []byte(b.String()), nil
		}
		return []byte(strings.Join(sessions, "\n\n")), nil
	}
}

func setTool(l *live, tool osTool) {
	r := l.Agent.scripts()
	r.mu.Lock()
	r.tool = tool
	r.mu.Unlock()
}

// TestScriptAsLoggedOnUser runs a script as a real second user, whom
// logind (faked: this machine runs no logind) names as the user of the
// console: the script has that user's IDs and clean environment, can read
// its body and cannot change it.
func TestScriptAsLoggedOnUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("running as another user needs root")
	}
	if _, err := exec.LookPath("useradd"); err != nil {
		t.Skip("useradd is not installed")
	}
	name := fmt.Sprintf("wachtt%d", os.Getpid()%100000)
	if out, err := exec.Command("useradd", "-M", "-N", "-d", "/nonexistent", "-s", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("WACHT_AGENT_ONLY", "leak")
	l := startLive(t, liveOpts{})
	setTool(l, fakeLoginctl(
		"Id=1\nName=root\nUser=0\nType=tty\nClass=user\nActive=yes\nRemote=yes\nSeat=\nDisplay=",
		fmt.Sprintf("Id=2\nName=%s\nUser=%s\nType=x11\nClass=user\nActive=yes\nRemote=no\nSeat=seat0\nDisplay=:0", name, u.Uid)))
	res, err := runScript(t, l, protocol.ScriptArgs{RunID: "u1", Language: "sh", RunAs: protocol.RunAsUser,
		Params: map[string]string{"GRUSS": "Grüße"}, Secrets: map[string]string{"PW": "geheim-1"},
		Body: "id -u; id -g\necho \"$HOME|$USER|$DISPLAY|$WACHT_AGENT_ONLY|$GRUSS|$PW\"\n" +
			"cat \"$0\" >/dev/null && echo readable\n(echo x >> \"$0\") 2>/dev/null && echo writable || echo read-only\n" +
			"(touch \"$(dirname \"$0\")/other\") 2>/dev/null && echo folder-writable || echo folder-read-only\n"})
	want := fmt.Sprintf("%s\n%s\n/nonexistent|%s|:0||Grüße|%s\nreadable\nread-only\nfolder-read-only\n", u.Uid, u.Gid, name, protocol.ScriptMask)
	if err != nil || res.ExitCode != 0 || res.Stdout != want {
		t.Errorf("as the logged-on user: %+v, %v\nwant stdout %q", res, err, want)
	}
	if m, _ := filepath.Glob(filepath.Join(userTmp, "wacht-script-*")); len(m) != 0 {
		t.Errorf("left behind: %v", m)
	}
	// At its timeout the user's script is killed with its children, as
	// root's is.
	res, err = runScript(t, l, protocol.ScriptArgs{RunID: "u3", Language: "sh", RunAs: protocol.RunAsUser, TimeoutSeconds: 1,
		Body: "sleep 600 &\necho $!\nwhile :; do :; done\n"})
	pid, _ := strconv.Atoi(strings.TrimSpace(res.Stdout))
	if err != nil || !res.TimedOut || pid == 0 {
		t.Fatalf("endless loop as the user: %+v, %v", res, err)
	}
	waitLive(t, "the user's child gone", func() bool { return !alive(pid) })
	// As SYSTEM/root (the default) nothing changes.
	res, err = runScript(t, l, protocol.ScriptArgs{RunID: "u2", Language: "sh", Body: "id -u"})
	if err != nil || res.Stdout != "0\n" {
		t.Errorf("as root: %+v, %v", res, err)
	}
}

// TestScriptNoLoggedOnUser: without a local user session the run fails
// with CodeNoUser and does not run, as root or otherwise; it is not
// journaled, so the server's record of the refusal is the only one.
func TestScriptNoLoggedOnUser(t *testing.T) {
	l := startLive(t, liveOpts{})
	marker := filepath.Join(t.TempDir(), "ran")
	sa := protocol.ScriptArgs{RunID: "n1", Language: "sh", RunAs: protocol.RunAsUser, Body: "touch \"$MARKER\"",
		Params: map[string]string{"MARKER": marker}}
	for what, tool := range map[string]osTool{
		"only an ssh session and the greeter": fakeLoginctl(
			"Id=1\nName=root\nUser=0\nType=tty\nClass=user\nActive=yes\nRemote=yes\nSeat=",
			"Id=2\nName=gdm\nUser=120\nType=wayland\nClass=greeter\nActive=yes\nRemote=no\nSeat=seat0"),
		"no session": fakeLoginctl(),
		"no logind": func(string, ...string) ([]byte, error) {
			return nil, errors.New("Failed to connect to bus: Host is down")
		},
		"an unknown user ID": fakeLoginctl("Id=3\nName=ghost\nUser=4000000000\nType=x11\nClass=user\nActive=yes\nRemote=no\nSeat=seat0"),
	} {
		setTool(l, tool)
		_, err := runScript(t, l, sa)
		wantCode(t, what, err, protocol.CodeNoUser)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the script ran without a logged-on user")
	}
	if _, err := os.Stat(l.Agent.scripts().journalPath("n1")); err == nil {
		t.Error("a refused run was journaled")
	}
}
