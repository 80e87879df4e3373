package agent

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// loggedOnUser finds the user of the active local logind session (the
// graphical one first) and the identity to start the script with.
func loggedOnUser(tool osTool) (*scriptUser, error) {
	out, err := tool("loginctl", "list-sessions", "--no-legend")
	if err != nil {
		return nil, noUser(fmt.Sprintf("loginctl list-sessions: %v", toolErr(err)))
	}
	ids := sessionIDs(out)
	if len(ids) == 0 {
		return nil, noUser("logind lists no session")
	}
	args := append([]string{"show-session"}, ids...)
	for _, p := range sessionProps {
		args = append(args, "-p", p)
	}
	if out, err = tool("loginctl", args...); err != nil {
		return nil, noUser(fmt.Sprintf("loginctl show-session: %v", toolErr(err)))
	}
	s, ok := pickSession(parseSessions(out))
	if !ok {
		return nil, noUser("logind lists no active local session")
	}
	if !validUID(s["User"]) {
		return nil, userUnknown(fmt.Errorf("logind names user ID %q", s["User"]))
	}
	u, err := user.LookupId(s["User"])
	if err != nil {
		return nil, userUnknown(err)
	}
	cred, err := credential(u)
	if err != nil {
		return nil, userUnknown(err)
	}
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	return &scriptUser{name: u.Username, home: u.HomeDir, env: sessionEnv(s, u.HomeDir, "/run/user/"+u.Uid, exists),
		sys: sysUser{cred: cred}}, nil
}

// credential is u's user, primary group and supplementary groups.
func credential(u *user.User) (*syscall.Credential, error) {
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("user ID %q: %w", u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("group ID %q: %w", u.Gid, err)
	}
	c := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("groups of %s: %w", u.Username, err)
	}
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			c.Groups = append(c.Groups, uint32(n))
		}
	}
	return c, nil
}

// sysUser is the Linux identity of a script run as the logged-on user.
type sysUser struct{ cred *syscall.Credential }

// apply starts cmd with the user's user and group IDs (prepareShell set
// SysProcAttr: the process group stays).
func (s sysUser) apply(cmd *exec.Cmd) { cmd.SysProcAttr.Credential = s.cred }

func (sysUser) close() {}
