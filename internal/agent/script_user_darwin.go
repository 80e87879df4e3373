package agent

import (
	"fmt"
	"os/exec"
	"os/user"
)

// loggedOnUser finds the user who owns the console (the one logged on at
// the login window) and runs the script in that user's launchd session
// with that user's identity: launchctl asuser, then sudo -u.
func loggedOnUser(tool osTool) (*scriptUser, error) {
	out, err := tool("stat", "-f", "%Su", "/dev/console")
	if err != nil {
		return nil, noUser(fmt.Sprintf("stat /dev/console: %v", toolErr(err)))
	}
	name := consoleUser(out)
	if name == "" {
		return nil, noUser("the login window owns the console")
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, userUnknown(err)
	}
	if !validUID(u.Uid) {
		return nil, userUnknown(fmt.Errorf("user ID %q", u.Uid))
	}
	env := []string{"HOME=" + u.HomeDir, "USER=" + u.Username, "LOGNAME=" + u.Username, "PATH=/usr/bin:/bin:/usr/sbin:/sbin:/usr/local/bin"}
	// sudo -E keeps the parameters, which travel in the environment; -H
	// sets HOME to the user's.
	return &scriptUser{name: u.Username, home: u.HomeDir, env: env,
		prefix: []string{"launchctl", "asuser", u.Uid, "sudo", "-E", "-H", "-u", u.Username, "--"}}, nil
}

// sysUser: on macOS sudo changes the identity.
type sysUser struct{}

func (sysUser) apply(*exec.Cmd) {}

func (sysUser) close() {}
