package updates

import (
	"context"
	"os"
	"os/user"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Sources returns softwareupdate and, where it is installed, Homebrew run
// as opt.ConsoleUser, or else as the owner of its installation.
func Sources(opt Options) []Source {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	osVersion := ""
	if out, err := pmExec(ctx, pmCmd{argv: []string{"/usr/bin/sw_vers", "-productVersion"}}); err == nil && out.exit == 0 {
		osVersion = strings.TrimSpace(out.stdout)
	}
	srcs := []Source{&SoftwareUpdate{run: pmExec, Bin: "/usr/sbin/softwareupdate", OSVersion: osVersion, AppleSilicon: runtime.GOARCH == "arm64"}}
	if brew := firstExisting("/opt/homebrew/bin/brew", "/usr/local/bin/brew"); brew != "" {
		who := opt.ConsoleUser
		if who == "" {
			who = owner(brew)
		}
		srcs = append(srcs, &Brew{run: pmExec, Bin: brew, User: who})
	}
	return srcs
}

// owner is the name of the user who owns path, "" for root or unknown.
func owner(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || st.Uid == 0 {
		return ""
	}
	u, err := user.LookupId(strconv.FormatUint(uint64(st.Uid), 10))
	if err != nil {
		return ""
	}
	return u.Username
}
