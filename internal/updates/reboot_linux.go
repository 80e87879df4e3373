package updates

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// RebootPending says whether this Linux machine waits for a restart:
// /var/run/reboot-required (Debian and Ubuntu packages write it, and
// .pkgs names who asked), a kernel in /boot installed since the boot that
// is not the running one (plain Debian's kernels write no flag),
// needs-restarting -r of dnf and yum (exit 1: needed), zypper
// needs-rebooting (exit 102: needed). A check that failed while none found
// a pending restart sets Error: unknown, never "no".
func RebootPending(ctx context.Context) core.RebootState {
	return linuxReboot{run: pmExec, runDir: "/var/run", bootDir: "/boot", procDir: "/proc"}.state(ctx)
}

// linuxReboot is RebootPending with its files and tools replaceable.
type linuxReboot struct {
	run     pmRunner
	runDir  string // /var/run
	bootDir string // /boot; "" skips the kernel check
	procDir string // /proc
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
	if reason := l.newKernel(); reason != "" {
		st.Pending = true
		st.Reasons = append(st.Reasons, reason)
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

// newKernel names a kernel image in /boot written since the machine booted
// that is not the running kernel: "kernel 6.1.0-18-amd64 installed since
// boot (running 6.1.0-17-amd64)", "" if none or unknown.
func (l linuxReboot) newKernel() string {
	if l.bootDir == "" {
		return ""
	}
	running, err := os.ReadFile(l.procDir + "/sys/kernel/osrelease")
	if err != nil {
		return ""
	}
	stat, err := os.ReadFile(l.procDir + "/stat")
	if err != nil {
		return ""
	}
	var boot time.Time
	for line := range strings.SplitSeq(string(stat), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			if sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				boot = time.Unix(sec, 0)
			}
		}
	}
	ents, err := os.ReadDir(l.bootDir)
	if boot.IsZero() || err != nil {
		return ""
	}
	cur := strings.TrimSpace(string(running))
	var newest string
	var newestAt time.Time
	for _, e := range ents {
		ver, ok := strings.CutPrefix(e.Name(), "vmlinuz-")
		if !ok || ver == cur {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().After(boot) || fi.ModTime().Before(newestAt) {
			continue
		}
		newest, newestAt = ver, fi.ModTime()
	}
	if newest == "" {
		return ""
	}
	return "kernel " + newest + " installed since boot (running " + cur + ")"
}
