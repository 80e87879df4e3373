package agent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Scripts run as the logged-on user (ScriptArgs.RunAs "user"): the agent
// finds the user of the console or graphical session the OS's own way
// (logind on Linux, the owner of /dev/console on macOS, the active
// console session's token on Windows) and starts the interpreter with
// that user's identity and a clean environment of that user. Without a
// logged-on user the run fails with protocol.CodeNoUser; it never runs as
// SYSTEM or root instead.

// scriptUser is the account a script runs as when it runs as the
// logged-on user.
type scriptUser struct {
	name   string
	home   string   // the working directory, when it exists
	env    []string // the user's clean environment, without the parameters
	prefix []string // programs the interpreter runs under (macOS: launchctl asuser … sudo …)
	sys    sysUser  // the OS's identity: credentials or a token
}

// noUser is the refusal of a run as the logged-on user when there is
// none; why says what the agent looked at.
func noUser(why string) error {
	return Errorf(protocol.CodeNoUser,
		"The script is to run as the logged-on user, but no user is logged on (%s); it was not run.",
		"Das Skript soll als angemeldeter Benutzer laufen, aber es ist kein Benutzer angemeldet (%s); es wurde nicht ausgeführt.", why)
}

// userUnknown refuses a run whose user the agent found but cannot act as.
func userUnknown(err error) error {
	return Errorf(protocol.CodeNoUser,
		"The script is to run as the logged-on user, but the agent cannot get that user's identity: %v; it was not run.",
		"Das Skript soll als angemeldeter Benutzer laufen, aber der Agent kann dessen Identität nicht ermitteln: %v; es wurde nicht ausgeführt.", err)
}

// osTool runs one of the OS's programs that name the logged-on user
// (loginctl, stat) and returns its standard output; tests replace it.
type osTool func(name string, args ...string) ([]byte, error)

func runTool(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).Output()
}

// toolErr adds the first line of a failed tool's error output to its
// error.
func toolErr(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		line, _, _ := strings.Cut(strings.TrimSpace(string(ee.Stderr)), "\n")
		return fmt.Errorf("%w: %s", err, line)
	}
	return err
}

// loginSession is one logind session as `loginctl show-session` shows it.
type loginSession map[string]string

// sessionIDs are the first column of `loginctl list-sessions --no-legend`
// (the later columns differ between systemd versions).
func sessionIDs(out []byte) []string {
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) > 0 && f[0] != "SESSION" && !strings.HasSuffix(sc.Text(), "listed.") {
			ids = append(ids, f[0])
		}
	}
	return ids
}

// parseSessions reads `loginctl show-session ID… -p …`: one block of
// Key=Value lines per session, blocks separated by an empty line.
func parseSessions(out []byte) []loginSession {
	var list []loginSession
	cur := loginSession{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			if len(cur) > 0 {
				list = append(list, cur)
			}
			cur = loginSession{}
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			cur[k] = v
		}
	}
	if len(cur) > 0 {
		list = append(list, cur)
	}
	return list
}

// sessionProps are the properties pickSession and the environment need.
var sessionProps = []string{"Id", "Name", "User", "Type", "Class", "Active", "Remote", "Seat", "Display"}

// pickSession chooses the logged-on user's session: an active, local
// session of class user, preferring one on a seat with a graphical
// display, then a text console on a seat, then any other local one.
// Remote sessions (ssh) are not the logged-on user of the machine.
func pickSession(list []loginSession) (loginSession, bool) {
	best, bestScore := loginSession(nil), 0
	for _, s := range list {
		if s["Class"] != "user" || s["Active"] != "yes" || s["Remote"] == "yes" || s["User"] == "" || s["Name"] == "" {
			continue
		}
		score := 1
		if s["Seat"] != "" {
			score = 2
			if s["Type"] == "x11" || s["Type"] == "wayland" {
				score = 3
			}
		}
		if score > bestScore {
			best, bestScore = s, score
		}
	}
	return best, best != nil
}

// sessionEnv is the clean environment of a logind session's user: what a
// login gives, plus what reaches the session's display and bus when they
// exist (runtimeDir is /run/user/UID).
func sessionEnv(s loginSession, home, runtimeDir string, exists func(string) bool) []string {
	env := []string{"HOME=" + home, "USER=" + s["Name"], "LOGNAME=" + s["Name"], "PATH=/usr/local/bin:/usr/bin:/bin"}
	if lang := os.Getenv("LANG"); lang != "" {
		env = append(env, "LANG="+lang)
	}
	if exists(runtimeDir) {
		env = append(env, "XDG_RUNTIME_DIR="+runtimeDir)
		if exists(runtimeDir + "/bus") {
			env = append(env, "DBUS_SESSION_BUS_ADDRESS=unix:path="+runtimeDir+"/bus")
		}
		if s["Type"] == "wayland" && exists(runtimeDir+"/wayland-0") {
			env = append(env, "WAYLAND_DISPLAY=wayland-0")
		}
	}
	if d := s["Display"]; d != "" {
		env = append(env, "DISPLAY="+d)
	}
	return env
}

// consoleUser reads `stat -f %Su /dev/console` (macOS): the user who owns
// the console, or "" when the login window has it (root) or setup runs.
func consoleUser(out []byte) string {
	u := strings.TrimSpace(string(out))
	if u == "root" || u == "_mbsetupuser" || u == "loginwindow" || strings.ContainsAny(u, " \t\n/") {
		return ""
	}
	return u
}

// validUID is a numeric user ID other than -1.
func validUID(s string) bool {
	n, err := strconv.ParseUint(s, 10, 32)
	return err == nil && n != 1<<32-1
}
