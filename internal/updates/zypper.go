package updates

import (
	"context"
	"encoding/xml"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Zypper is the zypper source of SUSE Linux Enterprise and openSUSE. Scan
// refreshes the repositories and reports two kinds of update: the needed
// patches (list-patches; SUSE's advisories: category security is
// core.ClassSecurity with the patch's severity and CVEs, feature
// core.ClassFeature, the rest core.ClassUpdate; ID "patch:NAME") and the
// package upgrades (list-updates; core.ClassUpdate, ID the package name).
// A package a needed patch fixes appears under both until the patch is
// installed: list-patches does not say which packages a patch carries.
// Install installs patches with install -t patch and packages with
// update, then asks list-patches and rpm what is installed.
type Zypper struct {
	run      pmRunner
	Bin, Rpm string
}

// NewZypper returns the zypper source with the real tools.
func NewZypper() *Zypper { return &Zypper{run: pmExec, Bin: "/usr/bin/zypper", Rpm: "/usr/bin/rpm"} }

func (z *Zypper) Name() string { return core.SourceZypper }

// zypperPatch is the ID prefix of a patch.
const zypperPatch = "patch:"

// zypper's exit codes (zypper(8), EXIT CODES).
const (
	zypperLocked         = 7
	zypperRebootNeeded   = 102
	zypperRestartNeeded  = 103 // zypper updated itself: run it again
	zypperReposSkipped   = 106
	zypperScriptFailed   = 107 // installed, but an rpm scriptlet failed
	zypperNothingMatched = 104
)

func (z *Zypper) zypper(ctx context.Context, args ...string) (pmOut, error) {
	out, err := z.run(ctx, pmCmd{argv: append([]string{z.Bin, "--non-interactive"}, args...)})
	if err != nil {
		return out, fmt.Errorf("zypper %s: %w", args[0], err)
	}
	return out, nil
}

// Scan lists the needed patches and the package upgrades.
func (z *Zypper) Scan(ctx context.Context) ([]core.Update, error) {
	ref, err := z.zypper(ctx, "refresh")
	if err != nil {
		return nil, err
	}
	if ref.exit != 0 {
		return nil, z.failure("zypper refresh", ref)
	}
	lp, err := z.zypper(ctx, "--xmlout", "list-patches")
	if err != nil {
		return nil, err
	}
	if lp.exit != 0 && lp.exit != 100 && lp.exit != 101 {
		return nil, z.failure("zypper list-patches", lp)
	}
	patches, err := ParseZypperXML(lp.stdout)
	if err != nil {
		return nil, err
	}
	lu, err := z.zypper(ctx, "--xmlout", "list-updates")
	if err != nil {
		return nil, err
	}
	if lu.exit != 0 {
		return nil, z.failure("zypper list-updates", lu)
	}
	pkgs, err := ParseZypperXML(lu.stdout)
	if err != nil {
		return nil, err
	}
	return append(patches, pkgs...), nil
}

type zypperStream struct {
	Messages []struct {
		Type string `xml:"type,attr"`
		Text string `xml:",chardata"`
	} `xml:"message"`
	Updates []zypperUpdate `xml:"update-status>update-list>update"`
}

type zypperUpdate struct {
	Kind       string `xml:"kind,attr"`
	Name       string `xml:"name,attr"`
	Edition    string `xml:"edition,attr"`
	EditionOld string `xml:"edition-old,attr"`
	Arch       string `xml:"arch,attr"`
	Status     string `xml:"status,attr"`
	Category   string `xml:"category,attr"`
	Severity   string `xml:"severity,attr"`
	Restart    string `xml:"restart,attr"`
	Summary    string `xml:"summary"`
	IssueDate  struct {
		TimeT string `xml:"time_t,attr"`
	} `xml:"issue-date"`
	Issues []struct {
		Type string `xml:"type,attr"`
		ID   string `xml:"id,attr"`
		Href string `xml:"href"`
	} `xml:"issue-list>issue"`
}

// ParseZypperXML reads zypper --xmlout list-updates or list-patches: the
// needed patches and the package upgrades. An error message in the stream
// fails the parse: a list with an error in it is no list.
func ParseZypperXML(out string) ([]core.Update, error) {
	var s zypperStream
	if err := xml.Unmarshal([]byte(out), &s); err != nil {
		return nil, toolErr(nil, "zypper's XML could not be read: %v", "Das XML von zypper ließ sich nicht lesen: %v", err)
	}
	for _, m := range s.Messages {
		if m.Type == "error" {
			return nil, toolErr(nil, "zypper reported an error: %s", "zypper meldete einen Fehler: %s", strings.TrimSpace(m.Text))
		}
	}
	var us []core.Update
	seen := map[string]bool{}
	for _, x := range s.Updates {
		var u core.Update
		switch x.Kind {
		case "patch":
			if x.Status != "" && x.Status != "needed" {
				continue
			}
			u = core.Update{ID: zypperPatch + x.Name, Version: x.Edition, Title: strings.TrimSpace(x.Summary), Classification: zypperClass(x.Category),
				Severity: core.ParseSeverity(x.Severity)}
			if u.Title == "" {
				u.Title = x.Name
			}
			if x.Restart == "true" {
				u.Reboot = core.RebootAlways
			}
			if sec, err := strconv.ParseInt(x.IssueDate.TimeT, 10, 64); err == nil && sec > 0 {
				u.ReleasedAt = time.Unix(sec, 0).UTC()
			}
			for _, i := range x.Issues {
				if i.Type == "cve" && strings.HasPrefix(i.ID, "CVE-") && !slices.Contains(u.CVEs, i.ID) {
					u.CVEs = append(u.CVEs, i.ID)
				}
			}
		case "package", "":
			u = core.Update{ID: x.Name, Version: x.Edition, Installed: x.EditionOld, Title: x.Name, Classification: core.ClassUpdate}
		default:
			continue // products, patterns
		}
		u.Source = core.SourceZypper
		u.Key = core.UpdateKey(core.SourceZypper, u.ID, u.Version)
		if seen[u.Key] { // the arches of one package
			continue
		}
		seen[u.Key] = true
		us = append(us, u)
	}
	return us, nil
}

func zypperClass(category string) string {
	switch category {
	case "security":
		return core.ClassSecurity
	case "feature":
		return core.ClassFeature
	}
	return core.ClassUpdate // recommended, optional, document, yast
}

// Install installs the patches of us, then the packages.
func (z *Zypper) Install(ctx context.Context, us []core.Update, progress func(Result)) ([]Result, error) {
	var patches, pkgs []core.Update
	for _, u := range us {
		if strings.HasPrefix(u.ID, zypperPatch) {
			patches = append(patches, u)
		} else {
			pkgs = append(pkgs, u)
		}
	}
	okExit := func(exit int) bool {
		return exit == 0 || exit == zypperRebootNeeded || exit == zypperReposSkipped || exit == zypperScriptFailed
	}
	base := confirmer{
		tool:    "zypper",
		stop:    zypperStop,
		message: zypperMessage,
		okExit:  okExit,
		reboot: func(u core.Update, o pmOut) bool {
			return o.exit == zypperRebootNeeded || u.Reboot == core.RebootAlways
		},
	}
	upgrade := func(args []string) func(ctx context.Context, us []core.Update) (pmOut, error) {
		return func(ctx context.Context, us []core.Update) (pmOut, error) {
			a := slices.Clone(args)
			for _, u := range us {
				a = append(a, strings.TrimPrefix(u.ID, zypperPatch))
			}
			out, err := z.zypper(ctx, a...)
			if err == nil && out.exit == zypperRestartNeeded {
				// zypper updated the package manager first: the rest
				// needs a second run.
				out, err = z.zypper(ctx, a...)
			}
			return out, err
		}
	}
	var results []Result
	if len(patches) > 0 {
		c := base
		c.upgrade = upgrade([]string{"install", "--auto-agree-with-licenses", "-t", "patch"})
		c.state = z.patchState
		c.done = func(_ core.Update, state string) bool { return state == "installed" }
		rs, err := c.install(ctx, patches, progress)
		if err != nil {
			return results, err
		}
		results = append(results, rs...)
	}
	if len(pkgs) > 0 {
		c := base
		c.upgrade = upgrade([]string{"update", "--auto-agree-with-licenses"})
		c.state = func(ctx context.Context, us []core.Update) (map[string]string, error) {
			var names []string
			for _, u := range us {
				names = append(names, u.ID)
			}
			m, err := rpmInstalled(ctx, z.run, z.Rpm, names)
			if err != nil {
				return nil, err
			}
			st := map[string]string{}
			for _, u := range us {
				st[u.Key] = rpmState(m, u.ID)
			}
			return st, nil
		}
		c.done = func(u core.Update, state string) bool { return rpmDone(state, u.Version) }
		rs, err := c.install(ctx, pkgs, progress)
		if err != nil {
			if len(results) > 0 {
				// The patches ran; their results stand, the packages wait.
				return results, nil
			}
			return nil, err
		}
		results = append(results, rs...)
	}
	return results, nil
}

// patchState asks list-patches which patches of us are still needed:
// "needed" or "installed" by key.
func (z *Zypper) patchState(ctx context.Context, us []core.Update) (map[string]string, error) {
	out, err := z.zypper(ctx, "--xmlout", "list-patches")
	if err != nil {
		return nil, err
	}
	if out.exit != 0 && out.exit != 100 && out.exit != 101 {
		return nil, z.failure("zypper list-patches", out)
	}
	needed, err := ParseZypperXML(out.stdout)
	if err != nil {
		return nil, err
	}
	st := map[string]string{}
	for _, u := range us {
		st[u.Key] = "installed"
		if slices.ContainsFunc(needed, func(n core.Update) bool { return n.ID == u.ID }) {
			st[u.Key] = "needed"
		}
	}
	return st, nil
}

func zypperStop(o pmOut) error {
	all := o.combined()
	if o.exit == zypperLocked || strings.Contains(all, "System management is locked") {
		return toolErr(ErrBusy, "Another program holds zypper's lock (%s); nothing was installed.",
			"Ein anderes Programm hält die Sperre von zypper (%s); nichts wurde installiert.", matchLine(all, []string{"locked"}))
	}
	if line := matchLine(all, []string{"No space left on device", "Not enough free space", "not enough disk space"}); line != "" {
		return toolErr(ErrDiskFull, "Not enough free disk space (%s).", "Nicht genug freier Speicherplatz (%s).", line)
	}
	return nil
}

func (z *Zypper) failure(what string, o pmOut) error {
	if err := zypperStop(o); err != nil {
		return err
	}
	m := zypperMessage(o)
	return &ToolError{Text: core.Text{EN: what + ": " + m.EN, DE: what + ": " + m.DE}}
}

// zypperMessage translates zypper's exit codes (zypper(8)).
func zypperMessage(o pmOut) core.Text {
	meaning := map[int][2]string{
		1:                    {"an internal error (a bug in zypper)", "ein interner Fehler (ein Fehler in zypper)"},
		2:                    {"the command was malformed", "der Befehl war fehlerhaft"},
		3:                    {"an argument was invalid", "ein Argument war ungültig"},
		4:                    {"libzypp reported a problem", "libzypp meldete ein Problem"},
		5:                    {"zypper needs root privileges", "zypper braucht Root-Rechte"},
		6:                    {"no repositories are defined", "es sind keine Paketquellen eingerichtet"},
		zypperLocked:         {"another program holds zypper's lock", "ein anderes Programm hält die Sperre von zypper"},
		8:                    {"installing failed (commit error)", "die Installation ist fehlgeschlagen (Commit-Fehler)"},
		zypperNothingMatched: {"the package or patch is no longer offered; scan again", "das Paket oder der Patch wird nicht mehr angeboten; erneut suchen"},
		105:                  {"zypper was stopped by a signal", "zypper wurde durch ein Signal beendet"},
		zypperReposSkipped:   {"some repositories could not be refreshed", "einige Paketquellen ließen sich nicht aktualisieren"},
		zypperScriptFailed:   {"an rpm script of a package failed", "ein rpm-Skript eines Pakets ist fehlgeschlagen"},
	}
	detail := firstLineWith(o.combined(), "Problem:", "Error:", "ERROR:", "Repository '", "File '")
	if detail == "" {
		detail = lastLinesOf(o.combined(), 2)
	}
	if m, ok := meaning[o.exit]; ok {
		return core.Text{EN: fmt.Sprintf("zypper exit %d: %s (%s)", o.exit, m[0], detail), DE: fmt.Sprintf("zypper Exit %d: %s (%s)", o.exit, m[1], detail)}
	}
	return bitext("zypper failed with exit code %d: %s", "zypper ist mit Exitcode %d fehlgeschlagen: %s", o.exit, detail)
}
