package updates

import (
	"context"
	"os"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// RebootPending says whether this Linux machine waits for a restart:
// /var/run/reboot-required (Debian and Ubuntu packages write it, and
// .pkgs names who asked), needs-restarting -r of dnf and yum (exit 1:
// needed), zypper needs-rebooting (exit 102: needed). A check that failed
// while none found a pending restart sets Error: unknown, never "no".
func RebootPending(ctx context.Context) core.RebootState {
	return linuxReboot{run: pmExec, runDir: "/var/run"}.state(ctx)
}

// linuxReboot is RebootPending with its files and tools replaceable.
type linuxReboot struct {
	run    pmRunner
	runDir string // /var/run
	// binaries: zero values take the real paths
	needsRestarting, dnf, zypper string
}

func (l linuxReboot) state(ctx context.Context) core.RebootState {
	var st core.RebootState
	var errs []string
	flag := l.runDir + "/reboot-required"
	if fi, err := os.Stat(flag); err == nil {
		st.Pending, st.Since = true, fi.ModTime().UTC()
		reason := "/var/run/reboot-required"
		if pkgs := readRebootPkgs(flag + ".pkgs"); len(pkgs) > 0 {
			var names []string
			for p := range pkgs {
				names = append(names, p)
			}
			reason += " (" + strings.Join(sortedStrings(names), ", ") + ")"
		}
		st.Reasons = append(st.Reasons, reason)
	} else if !os.IsNotExist(err) {
		errs = append(errs, err.Error())
	}
	pick := func(v, def string) string {
		if v != "" {
			return v
		}
		return def
	}
	nr, dnf, zypper := pick(l.needsRestarting, "/usr/bin/needs-restarting"), pick(l.dnf, "/usr/bin/dnf"), pick(l.zypper, "/usr/bin/zypper")
	var argv []string
	switch {
	case fileExists(nr):
		argv = []string{nr, "-r"}
	case fileExists(dnf):
		argv = []string{dnf, "-q", "needs-restarting", "-r"}
	}
	if argv != nil {
		out, err := l.run(ctx, pmCmd{argv: argv})
		switch {
		case err != nil:
			errs = append(errs, err.Error())
		case out.exit == 1 && !strings.Contains(out.combined(), "No such command"):
			st.Pending = true
			st.Reasons = append(st.Reasons, "needs-restarting")
		case out.exit != 0:
			errs = append(errs, "needs-restarting -r: "+lastLinesOf(out.combined(), 2))
		}
	}
	if fileExists(zypper) {
		out, err := l.run(ctx, pmCmd{argv: []string{zypper, "--non-interactive", "needs-rebooting"}})
		switch {
		case err != nil:
			errs = append(errs, err.Error())
		case out.exit == 102:
			st.Pending = true
			st.Reasons = append(st.Reasons, "zypper needs-rebooting")
		case out.exit != 0:
			errs = append(errs, "zypper needs-rebooting: "+lastLinesOf(out.combined(), 2))
		}
	}
	if !st.Pending && len(errs) > 0 {
		st.Error = "could not tell whether a restart is pending: " + strings.Join(errs, "; ")
	}
	return st
}
