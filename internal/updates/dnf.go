package updates

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Dnf is the dnf source of Fedora, RHEL and their rebuilds (dnf 4 and 5;
// yum on older releases speaks the same). Scan refreshes the metadata and
// lists the upgrades (check-update: exit 100 means updates, 0 none); the
// security advisories (updateinfo list --security) mark packages
// core.ClassSecurity with the advisory's severity, the highest where
// several name one package; the rest are core.ClassUpdate. Install runs
// dnf upgrade -y to the scanned versions and asks rpm afterwards.
type Dnf struct {
	run      pmRunner
	Bin, Rpm string
}

// NewDnf returns the dnf source that runs bin (/usr/bin/dnf or /usr/bin/yum).
func NewDnf(bin string) *Dnf { return &Dnf{run: pmExec, Bin: bin, Rpm: "/usr/bin/rpm"} }

func (d *Dnf) Name() string { return core.SourceDnf }

func (d *Dnf) tool() string { return filepath.Base(d.Bin) }

// Scan lists the missing updates.
func (d *Dnf) Scan(ctx context.Context) ([]core.Update, error) {
	argv := []string{d.Bin, "check-update", "--refresh"}
	if d.tool() == "yum" {
		// yum 3 (RHEL 7) has no --refresh; it refreshes expired metadata itself.
		argv = argv[:2]
	}
	cu, err := d.run(ctx, pmCmd{argv: argv})
	if err != nil {
		return nil, fmt.Errorf("%s check-update: %w", d.tool(), err)
	}
	switch cu.exit {
	case 0:
		return []core.Update{}, nil
	case 100:
	default:
		return nil, d.failure(d.tool()+" check-update", cu)
	}
	pkgs := ParseDnfCheckUpdate(cu.stdout)
	if len(pkgs) == 0 {
		return nil, toolErr(nil, "%s check-update said updates are available (exit 100), but none could be read from its output: %s",
			"%s check-update meldet verfügbare Updates (Exit 100), aber aus seiner Ausgabe ließ sich keines lesen: %s", d.tool(), lastLinesOf(cu.stdout, 3))
	}
	ui, err := d.run(ctx, pmCmd{argv: []string{d.Bin, "-q", "updateinfo", "list", "--security"}})
	if err != nil {
		return nil, fmt.Errorf("%s updateinfo: %w", d.tool(), err)
	}
	if ui.exit != 0 {
		return nil, d.failure(d.tool()+" updateinfo list --security", ui)
	}
	// The CVEs behind the advisories: supplementary, so a tool too old
	// for --with-cve only leaves them out (the classification stands).
	var cves []DnfAdvisory
	if cv, err := d.run(ctx, pmCmd{argv: []string{d.Bin, "-q", "updateinfo", "list", "--security", "--with-cve"}}); err == nil && cv.exit == 0 {
		cves = ParseDnfUpdateinfo(cv.stdout)
	}
	names := make([]string, 0, len(pkgs))
	for _, p := range pkgs {
		names = append(names, p.Name)
	}
	inst, err := rpmInstalled(ctx, d.run, d.Rpm, names)
	if err != nil {
		return nil, err
	}
	return dnfUpdates(pkgs, ParseDnfUpdateinfo(ui.stdout), cves, inst), nil
}

// DnfPackage is one line of check-update: name, arch, [epoch:]version-release, repository.
type DnfPackage struct{ Name, Arch, EVR, Repo string }

// ParseDnfCheckUpdate reads dnf's (4 or 5) and yum's check-update list up
// to the obsoletes section. A long name wraps: the version and repository
// follow on the next line.
func ParseDnfCheckUpdate(out string) []DnfPackage {
	var pkgs []DnfPackage
	pending := ""
	for line := range strings.SplitSeq(out, "\n") {
		if strings.HasPrefix(strings.ToLower(strings.TrimSpace(line)), "obsoleting packages") {
			break
		}
		f := strings.Fields(line)
		if pending != "" {
			if len(f) == 2 {
				f = []string{pending, f[0], f[1]}
			}
			pending = ""
		}
		switch {
		case len(f) == 1 && strings.Contains(f[0], ".") && !strings.HasSuffix(f[0], ":") && !strings.HasSuffix(f[0], "."):
			pending = f[0]
			continue
		case len(f) != 3 || strings.HasPrefix(line, " ") && !strings.Contains(f[0], "."):
			continue
		}
		i := strings.LastIndex(f[0], ".")
		if i <= 0 || !strings.ContainsAny(f[1], "0123456789") || !strings.Contains(f[1], "-") {
			continue
		}
		pkgs = append(pkgs, DnfPackage{Name: f[0][:i], Arch: f[0][i+1:], EVR: f[1], Repo: f[2]})
	}
	return pkgs
}

// DnfAdvisory is one line of updateinfo list: the advisory, its severity
// (core.Severity…, "" unrated) and the package it fixes (NEVRA).
type DnfAdvisory struct{ ID, Severity, NEVRA string }

// ParseDnfUpdateinfo reads updateinfo list --security: dnf 4's
// "ID Important/Sec. NEVRA" and dnf 5's "ID security Important NEVRA DATE
// TIME" under a header.
func ParseDnfUpdateinfo(out string) []DnfAdvisory {
	var as []DnfAdvisory
	for line := range strings.SplitSeq(out, "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 3 && strings.HasSuffix(f[1], "/Sec."):
			as = append(as, DnfAdvisory{ID: f[0], Severity: core.ParseSeverity(strings.TrimSuffix(f[1], "/Sec.")), NEVRA: f[2]})
		case len(f) >= 4 && f[1] == "security":
			as = append(as, DnfAdvisory{ID: f[0], Severity: core.ParseSeverity(f[2]), NEVRA: f[3]})
		case len(f) == 3 && f[1] == "security": // dnf 4, unrated
			as = append(as, DnfAdvisory{ID: f[0], NEVRA: f[2]})
		}
	}
	return as
}

// nevraName is the name of "name-[epoch:]version-release.arch".
func nevraName(nevra string) string {
	if i := strings.LastIndex(nevra, "."); i > 0 {
		nevra = nevra[:i]
	}
	for range 2 {
		i := strings.LastIndex(nevra, "-")
		if i <= 0 {
			return ""
		}
		nevra = nevra[:i]
	}
	return nevra
}

// advisoryURL links the advisories whose home is known.
func advisoryURL(id string) string {
	switch {
	case strings.HasPrefix(id, "FEDORA-"):
		return "https://bodhi.fedoraproject.org/updates/" + id
	case strings.HasPrefix(id, "RHSA-"), strings.HasPrefix(id, "RHBA-"), strings.HasPrefix(id, "RHEA-"):
		return "https://access.redhat.com/errata/" + id
	}
	return ""
}

// dnfUpdates builds the updates: one per name and version (the arches of
// a multilib package install together), security from the advisories.
func dnfUpdates(pkgs []DnfPackage, adv, cves []DnfAdvisory, installed map[string][]string) []core.Update {
	type sec struct {
		severity string
		ids      []string
		cves     []string
	}
	secs := map[string]*sec{}
	for _, a := range adv {
		n := nevraName(a.NEVRA)
		if n == "" {
			continue
		}
		s := secs[n]
		if s == nil {
			s = &sec{}
			secs[n] = s
		}
		if core.SeverityRank(a.Severity) > core.SeverityRank(s.severity) {
			s.severity = a.Severity
		}
		if !slices.Contains(s.ids, a.ID) {
			s.ids = append(s.ids, a.ID)
		}
	}
	for _, c := range cves {
		if s := secs[nevraName(c.NEVRA)]; s != nil && strings.HasPrefix(c.ID, "CVE-") && !slices.Contains(s.cves, c.ID) {
			s.cves = append(s.cves, c.ID)
		}
	}
	var us []core.Update
	seen := map[string]bool{}
	for _, p := range pkgs {
		key := core.UpdateKey(core.SourceDnf, p.Name, p.EVR)
		if seen[key] {
			continue
		}
		seen[key] = true
		u := core.Update{Key: key, Source: core.SourceDnf, ID: p.Name, Version: p.EVR, Title: p.Name, Classification: core.ClassUpdate}
		if v := installed[p.Name]; len(v) > 0 {
			u.Installed = v[len(v)-1]
		}
		if s := secs[p.Name]; s != nil {
			u.Classification, u.Severity = core.ClassSecurity, s.severity
			u.Title = p.Name + " (" + strings.Join(s.ids, ", ") + ")"
			u.URL = advisoryURL(s.ids[0])
			u.CVEs = s.cves
		}
		us = append(us, u)
	}
	return us
}

// Install upgrades us with dnf upgrade -y NAME-EVR… and asks rpm.
func (d *Dnf) Install(ctx context.Context, us []core.Update, progress func(Result)) ([]Result, error) {
	c := confirmer{
		tool: d.tool(),
		upgrade: func(ctx context.Context, us []core.Update) (pmOut, error) {
			argv := []string{d.Bin, "upgrade", "-y"}
			for _, u := range us {
				argv = append(argv, u.ID+"-"+u.Version)
			}
			out, err := d.run(ctx, pmCmd{argv: argv})
			if err != nil {
				return out, fmt.Errorf("%s upgrade: %w", d.tool(), err)
			}
			return out, nil
		},
		state: func(ctx context.Context, us []core.Update) (map[string]string, error) {
			var names []string
			for _, u := range us {
				names = append(names, u.ID)
			}
			m, err := rpmInstalled(ctx, d.run, d.Rpm, names)
			if err != nil {
				return nil, err
			}
			st := map[string]string{}
			for _, u := range us {
				st[u.Key] = rpmState(m, u.ID)
			}
			return st, nil
		},
		done:    func(u core.Update, state string) bool { return rpmDone(state, u.Version) },
		stop:    dnfStop,
		message: func(o pmOut) core.Text { return dnfMessage(d.tool(), o) },
		okExit:  func(exit int) bool { return exit == 0 },
	}
	return c.install(ctx, us, progress)
}

var (
	dnfLocked = []string{"transaction lock", "Waiting for process with pid", "Another app is currently holding the yum lock",
		"Existing lock", "Failed to obtain", "Could not obtain the lock"}
	dnfDiskFull = []string{"Disk Requirements:", "more space needed on the", "No space left on device", "Not enough free space"}
)

func dnfStop(o pmOut) error {
	if o.exit == 0 {
		return nil
	}
	all := o.combined()
	if line := matchLine(all, dnfLocked); line != "" || o.exit == 200 {
		return toolErr(ErrBusy, "Another program holds the package manager's lock (%s); nothing was installed.",
			"Ein anderes Programm hält die Sperre der Paketverwaltung (%s); nichts wurde installiert.", line)
	}
	if line := matchLine(all, dnfDiskFull); line != "" {
		return toolErr(ErrDiskFull, "Not enough free disk space (%s).", "Nicht genug freier Speicherplatz (%s).", line)
	}
	return nil
}

func (d *Dnf) failure(what string, o pmOut) error {
	if err := dnfStop(o); err != nil {
		return err
	}
	m := dnfMessage(d.tool(), o)
	return &ToolError{Text: core.Text{EN: what + ": " + m.EN, DE: what + ": " + m.DE}}
}

// dnfMessage translates a failed dnf run: exit 1 handled error, 3
// unhandled, 200 lock; the first "Error:" line says which.
func dnfMessage(tool string, o pmOut) core.Text {
	all := o.combined()
	known := []struct {
		words  []string
		en, de string
	}{
		{dnfLocked, "another program holds the package manager's lock", "ein anderes Programm hält die Sperre der Paketverwaltung"},
		{dnfDiskFull, "not enough free disk space", "nicht genug freier Speicherplatz"},
		{[]string{"No match for argument", "Unable to find a match", "No package", "available for"},
			"the package or this version is no longer offered by the repositories; scan again",
			"das Paket oder diese Version wird von den Paketquellen nicht mehr angeboten; erneut suchen"},
		{[]string{"Failed to download metadata", "Cannot download repomd.xml", "Curl error", "Cannot download", "Failed to download", "Could not resolve host"},
			"a repository could not be reached or read", "eine Paketquelle war nicht erreichbar oder nicht lesbar"},
		{[]string{"GPG check FAILED", "public key for", "Public key for"},
			"a package's signature could not be verified", "die Signatur eines Pakets ließ sich nicht prüfen"},
		{[]string{"Problem:", "conflicting requests", "nothing provides", "conflicts with"},
			"the package's dependencies cannot be met", "die Abhängigkeiten des Pakets lassen sich nicht erfüllen"},
		{[]string{"Transaction test error", "Transaction check error", "file conflicts", "scriptlet failed", "Transaction failed"},
			"rpm could not complete the transaction", "rpm konnte die Transaktion nicht abschließen"},
	}
	for _, k := range known {
		if line := matchLine(all, k.words); line != "" {
			return core.Text{EN: fmt.Sprintf("%s exit %d: %s (%s)", tool, o.exit, k.en, line), DE: fmt.Sprintf("%s Exit %d: %s (%s)", tool, o.exit, k.de, line)}
		}
	}
	detail := firstLineWith(all, "Error:", "error:")
	if detail == "" {
		detail = lastLinesOf(all, 2)
	}
	return bitext("%s failed with exit code %d: %s", "%s ist mit Exitcode %d fehlgeschlagen: %s", tool, o.exit, detail)
}
