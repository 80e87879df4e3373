package updates

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Apt is the apt source of Debian and Ubuntu. Scan refreshes the package
// lists (apt-get update) and simulates a full upgrade without locking
// (apt-get -s dist-upgrade); an upgrade from a security pocket
// ("Debian-Security:12/stable-security", "Ubuntu:22.04/jammy-security")
// is core.ClassSecurity, any other core.ClassUpdate; apt rates nothing, so
// Severity stays "". Install upgrades the packages with apt-get install
// --only-upgrade to the versions scanned and asks dpkg-query afterwards
// what is installed: the exit code alone decides nothing.
type Apt struct {
	run pmRunner
	// Binaries and files, absolute; the zero value takes the real ones.
	AptGet, DpkgQuery, Dpkg string
	RebootPkgs              string // /var/run/reboot-required.pkgs
}

// NewApt returns the apt source with the real tools.
func NewApt() *Apt { return &Apt{run: pmExec} }

func (a *Apt) Name() string { return core.SourceApt }

func (a *Apt) paths() (aptGet, dpkgQuery, dpkg, pkgs string) {
	pick := func(v, def string) string {
		if v != "" {
			return v
		}
		return def
	}
	return pick(a.AptGet, "/usr/bin/apt-get"), pick(a.DpkgQuery, "/usr/bin/dpkg-query"), pick(a.Dpkg, "/usr/bin/dpkg"),
		pick(a.RebootPkgs, "/var/run/reboot-required.pkgs")
}

// aptEnv keeps apt, dpkg, debconf and needrestart from asking anything.
var aptEnv = []string{"DEBIAN_FRONTEND=noninteractive", "APT_LISTCHANGES_FRONTEND=none", "NEEDRESTART_MODE=l", "UCF_FORCE_CONFFOLD=1"}

// Scan refreshes the lists and lists the upgrades a dist-upgrade would make.
func (a *Apt) Scan(ctx context.Context) ([]core.Update, error) {
	aptGet, _, _, _ := a.paths()
	up, err := a.run(ctx, pmCmd{argv: []string{aptGet, "update", "-q"}, env: aptEnv})
	if err != nil {
		return nil, fmt.Errorf("apt-get update: %w", err)
	}
	if up.exit != 0 || aptFetchFailed(up.combined()) {
		return nil, aptError("apt-get update", up)
	}
	sim, err := a.run(ctx, pmCmd{argv: []string{aptGet, "-s", "-q", "-o", "Debug::NoLocking=1", "dist-upgrade"}, env: aptEnv})
	if err != nil {
		return nil, fmt.Errorf("apt-get -s dist-upgrade: %w", err)
	}
	if sim.exit != 0 {
		return nil, aptError("apt-get -s dist-upgrade", sim)
	}
	return ParseAptSimulation(sim.stdout)
}

// aptFetchFailed reports an apt-get update that exited 0 but could not
// read some index: the lists are stale and the scan would be a guess.
func aptFetchFailed(out string) bool {
	return strings.Contains(out, "Some index files failed to download") || firstLineWith(out, "W: Failed to fetch", "E: Failed to fetch") != ""
}

// aptInst matches a simulated upgrade: "Inst NAME [OLD] (NEW ORIGINS [ARCH])".
// A package that is new (no [OLD]) is a dependency pulled in, not an update.
var aptInst = regexp.MustCompile(`^Inst (\S+) \[([^\]]+)\] \((\S+) (.*?) ?\[([^\]]+)\]\)`)

// ParseAptSimulation reads the "Inst" lines of apt-get -s dist-upgrade.
func ParseAptSimulation(out string) ([]core.Update, error) {
	var us []core.Update
	seen := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		m := aptInst.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		name, old, ver, origins := m[1], m[2], m[3], m[4]
		key := core.UpdateKey(core.SourceApt, name, ver)
		if seen[key] {
			continue
		}
		seen[key] = true
		class := core.ClassUpdate
		if aptSecurity(origins) {
			class = core.ClassSecurity
		}
		us = append(us, core.Update{Key: key, Source: core.SourceApt, ID: name, Version: ver, Installed: old,
			Title: name, Classification: class})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading apt-get's output: %w", err)
	}
	// Never "no updates" from output Wacht could not read: apt's summary
	// says how many upgrades it plans ("113 upgraded, …"; apt 3: "Upgrading: 113").
	m := aptSummary.FindStringSubmatch(out)
	if m == nil {
		return nil, toolErr(nil, "apt-get's simulated upgrade printed no summary Wacht can read: %s",
			"Das simulierte Upgrade von apt-get enthielt keine für Wacht lesbare Zusammenfassung: %s", lastLinesOf(out, 3))
	}
	n, _ := strconv.Atoi(m[1] + m[2])
	if n > len(us) {
		return nil, toolErr(nil, "apt-get plans %d upgrades, but Wacht could read only %d of them.",
			"apt-get plant %d Upgrades, aber Wacht konnte nur %d davon lesen.", n, len(us))
	}
	return us, nil
}

var aptSummary = regexp.MustCompile(`(?m)^(?:(\d+) upgraded, |\s*Upgrading: (\d+),)`)

// aptSecurity reports whether one of the origins ("Debian:12.5/stable,
// Debian-Security:12/stable-security") is a security pocket.
func aptSecurity(origins string) bool {
	for o := range strings.SplitSeq(origins, ",") {
		o = strings.ToLower(strings.TrimSpace(o))
		label, suite, _ := strings.Cut(o, "/")
		if strings.HasSuffix(suite, "-security") || strings.HasSuffix(label, "-security") || strings.Contains(label, "-security:") {
			return true
		}
	}
	return false
}

// Install upgrades us in one apt-get run and, if that run failed, each
// package not yet at its version on its own, so that one broken package
// does not hold back the others. dpkg-query then says what is installed.
func (a *Apt) Install(ctx context.Context, us []core.Update, progress func(Result)) ([]Result, error) {
	if len(us) == 0 {
		return nil, nil
	}
	before, err := a.installed(ctx, us)
	if err != nil {
		return nil, err
	}
	batch, err := a.upgrade(ctx, us)
	if err != nil {
		return nil, err
	}
	runs := map[string]pmOut{}
	for _, u := range us {
		runs[u.Key] = batch
	}
	after, err := a.installed(ctx, us)
	if err != nil {
		return nil, err
	}
	if stop := aptStop(batch); stop != nil && unchanged(us, before, after) {
		return nil, stop // lock held, disk full: nothing was touched
	}
	if batch.exit != 0 && len(us) > 1 {
		for _, u := range us {
			if a.atVersion(ctx, after[u.ID], u.Version) {
				continue
			}
			one, err := a.upgrade(ctx, []core.Update{u})
			if err != nil {
				return nil, err
			}
			runs[u.Key] = one
		}
		if after, err = a.installed(ctx, us); err != nil {
			return nil, err
		}
	}
	_, _, _, pkgsFile := a.paths()
	rebootPkgs := readRebootPkgs(pkgsFile)
	var results []Result
	for _, u := range us {
		out := runs[u.Key]
		r := Result{Key: u.Key, Code: fmt.Sprintf("apt-get exit %d", out.exit), Output: outputTail(out.combined())}
		got := after[u.ID]
		switch {
		case a.atVersion(ctx, got, u.Version):
			r.OK = true
			r.Message = bitext("%s %s is installed.", "%s %s ist installiert.", u.ID, got.version)
			r.RebootNeeded = rebootPkgs[u.ID] || rebootPkgs[strings.SplitN(u.ID, ":", 2)[0]]
		case out.exit == 0:
			// apt said yes, dpkg says no: never trust the exit code alone.
			r.Message = bitext("apt-get exited with 0, but dpkg reports %s as %s, not %s.",
				"apt-get endete mit 0, aber dpkg meldet %s als %s, nicht %s.", u.ID, got.describe(), u.Version)
		default:
			r.Message = aptMessage(out)
		}
		results = append(results, r)
		if progress != nil {
			progress(r)
		}
	}
	return results, nil
}

// upgrade runs apt-get install --only-upgrade for us at their versions.
func (a *Apt) upgrade(ctx context.Context, us []core.Update) (pmOut, error) {
	aptGet, _, _, _ := a.paths()
	argv := []string{aptGet, "install", "--only-upgrade", "-y", "-q",
		"-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"}
	for _, u := range us {
		if u.Version != "" {
			argv = append(argv, u.ID+"="+u.Version)
		} else {
			argv = append(argv, u.ID)
		}
	}
	out, err := a.run(ctx, pmCmd{argv: argv, env: aptEnv})
	if err != nil {
		return out, fmt.Errorf("apt-get install: %w", err)
	}
	return out, nil
}

// dpkgState is one package as dpkg-query reports it.
type dpkgState struct {
	version, status string
	found           bool
}

func (s dpkgState) describe() string {
	if !s.found {
		return "not installed"
	}
	return fmt.Sprintf("%s (%s)", s.version, strings.TrimSpace(s.status))
}

// installed asks dpkg-query for the packages of us, by ID.
func (a *Apt) installed(ctx context.Context, us []core.Update) (map[string]dpkgState, error) {
	_, dpkgQuery, _, _ := a.paths()
	argv := []string{dpkgQuery, "-W", "-f=${binary:Package}\t${Package}\t${Version}\t${db:Status-Abbrev}\n", "--"}
	for _, u := range us {
		argv = append(argv, u.ID)
	}
	out, err := a.run(ctx, pmCmd{argv: argv})
	if err != nil {
		return nil, fmt.Errorf("dpkg-query: %w", err)
	}
	// Exit 1: some package is not known to dpkg, which the map says.
	if out.exit > 1 {
		return nil, toolErr(nil, "dpkg-query failed (exit %d): %s", "dpkg-query ist fehlgeschlagen (Exit %d): %s", out.exit, lastLinesOf(out.stderr, 2))
	}
	return parseDpkgQuery(out.stdout, us), nil
}

// parseDpkgQuery maps each update's ID to its state: an ID with an
// architecture ("libc6:i386") matches ${binary:Package}, a bare one the
// package of that name that dpkg lists first.
func parseDpkgQuery(out string, us []core.Update) map[string]dpkgState {
	m := map[string]dpkgState{}
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			continue
		}
		st := dpkgState{version: f[2], status: f[3], found: strings.HasPrefix(f[3], "ii")}
		for _, id := range []string{f[0], f[1]} {
			if _, ok := m[id]; !ok {
				m[id] = st
			}
		}
	}
	res := map[string]dpkgState{}
	for _, u := range us {
		res[u.ID] = m[u.ID]
	}
	return res
}

// atVersion reports whether s is installed at want or later (dpkg
// --compare-versions).
func (a *Apt) atVersion(ctx context.Context, s dpkgState, want string) bool {
	if !s.found {
		return false
	}
	if want == "" || s.version == want {
		return true
	}
	_, _, dpkg, _ := a.paths()
	out, err := a.run(ctx, pmCmd{argv: []string{dpkg, "--compare-versions", s.version, "ge", want}})
	return err == nil && out.exit == 0
}

// unchanged reports whether no package of us changed version.
func unchanged(us []core.Update, before, after map[string]dpkgState) bool {
	for _, u := range us {
		if before[u.ID] != after[u.ID] {
			return false
		}
	}
	return true
}

// readRebootPkgs reads /var/run/reboot-required.pkgs (one package a line).
func readRebootPkgs(path string) map[string]bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	m := map[string]bool{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			m[line] = true
		}
	}
	return m
}

// aptLocked are apt's and dpkg's words for a lock someone else holds.
var aptLocked = []string{"Could not get lock", "Unable to acquire the dpkg frontend lock", "Unable to lock the administration directory",
	"is another process using it?", "Unable to lock directory"}

// aptDiskFull are their words for a full disk.
var aptDiskFull = []string{"No space left on device", "You don't have enough free space"}

// aptStop returns ErrBusy or ErrDiskFull when apt's output says so, nil
// otherwise.
func aptStop(o pmOut) error {
	if o.exit == 0 {
		return nil
	}
	all := o.combined()
	if line := matchLine(all, aptLocked); line != "" {
		return toolErr(ErrBusy, "Another program holds apt's or dpkg's lock (%s); nothing was installed.",
			"Ein anderes Programm hält die Sperre von apt oder dpkg (%s); nichts wurde installiert.", line)
	}
	if line := matchLine(all, aptDiskFull); line != "" {
		return toolErr(ErrDiskFull, "Not enough free disk space for apt (%s).", "Nicht genug freier Speicherplatz für apt (%s).", line)
	}
	return nil
}

// aptError is the error of a failed apt-get run that is not an install:
// ErrBusy, ErrDiskFull, or the translated reason.
func aptError(what string, o pmOut) error {
	if err := aptStop(o); err != nil {
		return err
	}
	m := aptMessage(o)
	return &ToolError{Text: core.Text{EN: what + ": " + m.EN, DE: what + ": " + m.DE}}
}

// aptMessage translates apt-get's failure: its exit code and the first
// error line it printed, in English and German.
func aptMessage(o pmOut) core.Text {
	all := o.combined()
	detail := firstLineWith(all, "E: ")
	if detail == "" {
		detail = lastLinesOf(o.stderr, 2)
	}
	if detail == "" {
		detail = lastLinesOf(o.stdout, 2)
	}
	known := []struct {
		words  []string
		en, de string
	}{
		{aptLocked, "another program holds apt's or dpkg's lock", "ein anderes Programm hält die Sperre von apt oder dpkg"},
		{aptDiskFull, "not enough free disk space", "nicht genug freier Speicherplatz"},
		{[]string{"dpkg was interrupted"}, "an earlier installation was interrupted; run 'dpkg --configure -a'",
			"eine frühere Installation wurde unterbrochen; 'dpkg --configure -a' ausführen"},
		{[]string{"Unable to locate package", "was not found", "has no installation candidate"},
			"the package or this version is no longer offered by the repositories; scan again",
			"das Paket oder diese Version wird von den Paketquellen nicht mehr angeboten; erneut suchen"},
		{[]string{"Unmet dependencies", "held broken packages", "Unable to correct problems"},
			"the package's dependencies cannot be met", "die Abhängigkeiten des Pakets lassen sich nicht erfüllen"},
		{[]string{"Failed to fetch", "Temporary failure resolving", "Could not resolve", "Could not connect", "Connection failed", "Some index files failed to download"},
			"a repository could not be reached or read", "eine Paketquelle war nicht erreichbar oder nicht lesbar"},
		{[]string{"NO_PUBKEY", "is not signed", "The following signatures were invalid", "EXPKEYSIG"},
			"a repository's signature could not be verified", "die Signatur einer Paketquelle ließ sich nicht prüfen"},
		{[]string{"Sub-process /usr/bin/dpkg returned an error code", "dpkg returned an error code"},
			"dpkg failed to install or configure a package", "dpkg konnte ein Paket nicht installieren oder einrichten"},
	}
	for _, k := range known {
		if line := matchLine(all, k.words); line != "" {
			return core.Text{EN: fmt.Sprintf("apt-get exit %d: %s (%s)", o.exit, k.en, line),
				DE: fmt.Sprintf("apt-get Exit %d: %s (%s)", o.exit, k.de, line)}
		}
	}
	if detail == "" {
		return bitext("apt-get failed with exit code %d.", "apt-get ist mit Exitcode %d fehlgeschlagen.", o.exit)
	}
	return bitext("apt-get failed with exit code %d: %s", "apt-get ist mit Exitcode %d fehlgeschlagen: %s", o.exit, detail)
}

// matchLine returns the first line of s containing one of words.
func matchLine(s string, words []string) string {
	for line := range strings.SplitSeq(s, "\n") {
		if slices.ContainsFunc(words, func(w string) bool { return strings.Contains(line, w) }) {
			line = strings.TrimSpace(line)
			if len(line) > 300 {
				line = line[:300] + "…"
			}
			return line
		}
	}
	return ""
}
