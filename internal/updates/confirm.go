package updates

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"unicode"

	"github.com/wacht-rmm/wacht/internal/core"
)

// confirmer installs updates the way every package manager here is asked
// to: all in one run; if that run failed, each update not yet done on its
// own, so that one broken update does not hold back the others; then it
// asks the machine (not the exit code) what is installed.
type confirmer struct {
	tool string // "dnf", "zypper"… for Result.Code
	// upgrade runs the tool for us.
	upgrade func(ctx context.Context, us []core.Update) (pmOut, error)
	// state reads what is installed now: Key → a description the done
	// function judges ("" nothing).
	state func(ctx context.Context, us []core.Update) (map[string]string, error)
	done  func(u core.Update, state string) bool
	// stop returns ErrBusy, ErrDiskFull… when the output says the run
	// stopped before it changed anything; nil otherwise.
	stop    func(o pmOut) error
	message func(o pmOut) core.Text
	okExit  func(exit int) bool
	reboot  func(u core.Update, o pmOut) bool
}

func (c confirmer) install(ctx context.Context, us []core.Update, progress func(Result)) ([]Result, error) {
	if len(us) == 0 {
		return nil, nil
	}
	before, err := c.state(ctx, us)
	if err != nil {
		return nil, err
	}
	batch, err := c.upgrade(ctx, us)
	if err != nil {
		return nil, err
	}
	runs := map[string]pmOut{}
	for _, u := range us {
		runs[u.Key] = batch
	}
	after, err := c.state(ctx, us)
	if err != nil {
		return nil, err
	}
	if stop := c.stop(batch); stop != nil && sameState(us, before, after) {
		return nil, stop
	}
	if !c.okExit(batch.exit) && len(us) > 1 {
		for _, u := range us {
			if c.done(u, after[u.Key]) {
				continue
			}
			one, err := c.upgrade(ctx, []core.Update{u})
			if err != nil {
				return nil, err
			}
			runs[u.Key] = one
		}
		if after, err = c.state(ctx, us); err != nil {
			return nil, err
		}
	}
	var results []Result
	for _, u := range us {
		out := runs[u.Key]
		r := Result{Key: u.Key, Code: fmt.Sprintf("%s exit %d", c.tool, out.exit), Output: outputTail(out.combined())}
		got := after[u.Key]
		switch {
		case c.done(u, got):
			r.OK = true
			r.Message = bitext("%s is installed (%s).", "%s ist installiert (%s).", u.Title, got)
			if c.reboot != nil {
				r.RebootNeeded = c.reboot(u, out)
			}
		case c.okExit(out.exit):
			if got == "" {
				got = "nothing"
			}
			r.Message = bitext("%s exited with %d, but the machine reports %s for %s, not %s.",
				"%s endete mit %d, aber das Gerät meldet %s für %s, nicht %s.", c.tool, out.exit, got, u.ID, u.Version)
		default:
			r.Message = c.message(out)
		}
		results = append(results, r)
		if progress != nil {
			progress(r)
		}
	}
	return results, nil
}

func sameState(us []core.Update, before, after map[string]string) bool {
	for _, u := range us {
		if before[u.Key] != after[u.Key] {
			return false
		}
	}
	return true
}

// rpmVerCmp compares two RPM version or release strings the way rpm's
// rpmvercmp does: alternating digit and letter segments, digits greater
// than letters, "~" before anything (pre-releases), "^" after the
// version's end (snapshots).
func rpmVerCmp(a, b string) int {
	if a == b {
		return 0
	}
	alnum := func(r byte) bool { return r < 128 && (unicode.IsDigit(rune(r)) || unicode.IsLetter(rune(r))) }
	for len(a) > 0 || len(b) > 0 {
		for len(a) > 0 && !alnum(a[0]) && a[0] != '~' && a[0] != '^' {
			a = a[1:]
		}
		for len(b) > 0 && !alnum(b[0]) && b[0] != '~' && b[0] != '^' {
			b = b[1:]
		}
		if strings.HasPrefix(a, "~") || strings.HasPrefix(b, "~") {
			if !strings.HasPrefix(a, "~") {
				return 1
			}
			if !strings.HasPrefix(b, "~") {
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		if strings.HasPrefix(a, "^") || strings.HasPrefix(b, "^") {
			switch {
			case a == "":
				return -1
			case b == "":
				return 1
			case !strings.HasPrefix(a, "^"):
				return 1
			case !strings.HasPrefix(b, "^"):
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		if a == "" || b == "" {
			break
		}
		isNum := a[0] >= '0' && a[0] <= '9'
		seg := func(s string) (string, string) {
			i := 0
			for i < len(s) && alnum(s[i]) && (s[i] >= '0' && s[i] <= '9') == isNum {
				i++
			}
			return s[:i], s[i:]
		}
		var sa, sb string
		sa, a = seg(a)
		sb, b = seg(b)
		if sb == "" {
			if isNum {
				return 1
			}
			return -1
		}
		if isNum {
			sa, sb = strings.TrimLeft(sa, "0"), strings.TrimLeft(sb, "0")
			if len(sa) != len(sb) {
				if len(sa) > len(sb) {
					return 1
				}
				return -1
			}
		}
		if c := strings.Compare(sa, sb); c != 0 {
			return c
		}
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

// evrCmp compares "[epoch:]version[-release]" strings.
func evrCmp(a, b string) int {
	split := func(s string) (int, string, string) {
		e := 0
		if ep, rest, ok := strings.Cut(s, ":"); ok {
			e, _ = strconv.Atoi(ep)
			s = rest
		}
		i := strings.LastIndex(s, "-")
		if i < 0 {
			return e, s, ""
		}
		return e, s[:i], s[i+1:]
	}
	ea, va, ra := split(a)
	eb, vb, rb := split(b)
	if ea != eb {
		if ea > eb {
			return 1
		}
		return -1
	}
	if c := rpmVerCmp(va, vb); c != 0 {
		return c
	}
	if ra == "" || rb == "" {
		return 0
	}
	return rpmVerCmp(ra, rb)
}

// rpmFormat prints one installed package a line: name, arch,
// [epoch:]version-release.
const rpmFormat = `%{NAME}\t%{ARCH}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\n`

// rpmInstalled asks rpm for the installed versions of names: name → the
// EVRs installed (several for kernels and multilib).
func rpmInstalled(ctx context.Context, run pmRunner, rpm string, names []string) (map[string][]string, error) {
	argv := append([]string{rpm, "-q", "--qf", rpmFormat, "--"}, names...)
	out, err := run(ctx, pmCmd{argv: argv})
	if err != nil {
		return nil, fmt.Errorf("rpm -q: %w", err)
	}
	// rpm exits with the number of packages not installed; those lines
	// say "package X is not installed".
	m := map[string][]string{}
	for line := range strings.SplitSeq(out.stdout, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			continue
		}
		m[f[0]] = append(m[f[0]], f[2])
	}
	if out.exit != 0 && len(m) == 0 && !strings.Contains(out.combined(), "is not installed") {
		return nil, toolErr(nil, "rpm -q failed (exit %d): %s", "rpm -q ist fehlgeschlagen (Exit %d): %s", out.exit, lastLinesOf(out.combined(), 2))
	}
	return m, nil
}

// rpmState describes the installed EVRs of name for a confirmer.
func rpmState(m map[string][]string, name string) string { return strings.Join(m[name], ", ") }

// rpmDone reports whether one of the installed EVRs (state) is at least
// want.
func rpmDone(state, want string) bool {
	if state == "" {
		return false
	}
	for v := range strings.SplitSeq(state, ", ") {
		if want == "" || evrCmp(v, want) >= 0 {
			return true
		}
	}
	return false
}
