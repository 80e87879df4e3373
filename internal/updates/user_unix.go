//go:build linux || darwin

package updates

import (
	"fmt"
	"os/exec"
	"os/user"
	"strconv"
	"syscall"
)

// runAs makes cmd run with name's user and group IDs (the agent runs as
// root) and returns the environment that goes with that account.
func runAs(cmd *exec.Cmd, name string) ([]string, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("looking up the user %q: %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("the user %q has no numeric IDs (%s:%s)", name, u.Uid, u.Gid)
	}
	if uid == 0 {
		return nil, fmt.Errorf("the user %q is root", name)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	cmd.Dir = u.HomeDir
	return []string{"HOME=" + u.HomeDir, "USER=" + u.Username, "LOGNAME=" + u.Username}, nil
}
