package updates

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// SoftwareUpdate is macOS's softwareupdate. Scan lists what
// `softwareupdate --list --all` offers: Rapid Security Responses and
// Background Security Improvements (a version ending "(a)", or
// "Security" in the title) are core.ClassSecurity, an upgrade to a newer
// major macOS core.ClassFeature, the rest core.ClassUpdate; "Action:
// restart" or "shut down" is core.RebootAlways.
//
// Its limit on Apple silicon: installing a macOS update there needs a
// volume owner's credentials (softwareupdate --user/--stdinpass), which an
// agent running as root does not have; softwareupdate -i as root without
// them fails or waits for a password. On Apple silicon Install therefore
// does not try updates that restart the Mac and reports each as failed
// with that reason (install it in System Settings or through an MDM's
// install command); updates without a restart (Safari, Command Line
// Tools) install. Whatever softwareupdate's exit code, an update counts as
// installed only when the next listing no longer offers it.
type SoftwareUpdate struct {
	run          pmRunner
	Bin          string
	OSVersion    string // sw_vers -productVersion: "26.7"
	AppleSilicon bool
}

func (s *SoftwareUpdate) Name() string { return core.SourceSoftwareUpd }

// Scan lists the updates softwareupdate offers.
func (s *SoftwareUpdate) Scan(ctx context.Context) ([]core.Update, error) {
	out, err := s.run(ctx, pmCmd{argv: []string{s.Bin, "--list", "--all"}})
	if err != nil {
		return nil, fmt.Errorf("softwareupdate --list: %w", err)
	}
	if out.exit != 0 {
		return nil, toolErr(nil, "softwareupdate --list failed (exit %d): %s", "softwareupdate --list ist fehlgeschlagen (Exit %d): %s",
			out.exit, lastLinesOf(out.combined(), 2))
	}
	us := ParseSoftwareUpdateList(out.stdout+"\n"+out.stderr, s.OSVersion)
	if len(us) == 0 && !strings.Contains(out.combined(), "No new software available") {
		return nil, toolErr(nil, "softwareupdate --list listed nothing and did not say that nothing is available: %s",
			"softwareupdate --list zeigte nichts an und meldete auch nicht, dass nichts verfügbar ist: %s", lastLinesOf(out.combined(), 3))
	}
	return us, nil
}

var (
	suLabel  = regexp.MustCompile(`^\s*[*-]\s+Label:\s*(.+?)\s*$`)
	suLegacy = regexp.MustCompile(`^\s*[*-]\s+(\S.*?)\s*$`)
	suField  = regexp.MustCompile(`(Title|Version|Size|Recommended|Action|Deferred):\s*([^,]*)`)
	suOld    = regexp.MustCompile(`^\s+(.+?), ([^,]+), (\d+)K((?: \[[a-z]+\])*)\s*$`)
	rsr      = regexp.MustCompile(`\([a-z]\)$`)
)

// ParseSoftwareUpdateList reads softwareupdate's listing: since macOS 10.15
// "* Label: L" and a line "Title: T, Version: V, Size: NKiB, Recommended:
// YES, Action: restart,"; before that "* L" and "T, V, NK [recommended]
// [restart]". osVersion ("26.7", "" unknown) tells a major upgrade.
func ParseSoftwareUpdateList(out, osVersion string) []core.Update {
	var us []core.Update
	label := ""
	for line := range strings.SplitSeq(out, "\n") {
		line = strings.TrimRight(line, "\r")
		if m := suLabel.FindStringSubmatch(line); m != nil {
			label = m[1]
			continue
		}
		if label == "" {
			if m := suLegacy.FindStringSubmatch(line); m != nil && !strings.Contains(line, ":") {
				label = m[1]
			}
			continue
		}
		var title, version, size, action string
		if strings.Contains(line, "Title:") {
			for _, f := range suField.FindAllStringSubmatch(line, -1) {
				v := strings.TrimSpace(f[2])
				switch f[1] {
				case "Title":
					title = v
				case "Version":
					version = v
				case "Size":
					size = v
				case "Action":
					action = strings.ToLower(v)
				}
			}
		} else if m := suOld.FindStringSubmatch(line); m != nil {
			title, version, size = m[1], m[2], m[3]+"K"
			if strings.Contains(m[4], "[restart]") {
				action = "restart"
			}
		} else {
			continue
		}
		u := core.Update{Source: core.SourceSoftwareUpd, ID: label, Version: version, Title: title, SizeBytes: suSize(size),
			Classification: suClass(title, version, osVersion), Reboot: core.RebootNever}
		if u.Title == "" {
			u.Title = label
		}
		if action == "restart" || action == "shut down" {
			u.Reboot = core.RebootAlways
		}
		u.Key = core.UpdateKey(core.SourceSoftwareUpd, u.ID, u.Version)
		us = append(us, u)
		label = ""
	}
	return us
}

func suClass(title, version, osVersion string) string {
	if rsr.MatchString(version) || strings.Contains(title, "Security") {
		return core.ClassSecurity
	}
	if strings.HasPrefix(title, "macOS") && osVersion != "" {
		major := func(v string) int {
			n, _ := strconv.Atoi(strings.SplitN(strings.TrimSpace(v), ".", 2)[0])
			return n
		}
		if cur, next := major(osVersion), major(version); cur > 0 && next > cur {
			return core.ClassFeature
		}
	}
	return core.ClassUpdate
}

// suSize reads "3455256KiB", "4420K", "12MiB".
func suSize(s string) int64 {
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i <= 0 {
		return 0
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0
	}
	switch strings.ToUpper(s[i:]) {
	case "K", "KB", "KIB":
		return n << 10
	case "M", "MB", "MIB":
		return n << 20
	case "G", "GB", "GIB":
		return n << 30
	}
	return n
}

// appleSiliconRefusal is the result of a macOS update on Apple silicon.
func appleSiliconRefusal(u core.Update) Result {
	return Result{Key: u.Key, Code: "apple-silicon-credentials",
		Message: bitext("%s was not installed: on Apple silicon, installing macOS updates needs the password of a volume owner, which the agent (root) does not have. Install it in System Settings or with an MDM install command.",
			"%s wurde nicht installiert: Auf Apple-Silicon-Macs braucht die Installation von macOS-Updates das Passwort eines Volume-Eigentümers, das der Agent (root) nicht hat. In den Systemeinstellungen oder per MDM-Installationsbefehl installieren.", u.Title)}
}

// Install installs us one by one (softwareupdate --install LABEL) and
// confirms them with a new listing: installed is what it no longer offers.
func (s *SoftwareUpdate) Install(ctx context.Context, us []core.Update, progress func(Result)) ([]Result, error) {
	runs := map[string]pmOut{}
	ran := false
	for _, u := range us {
		if s.AppleSilicon && u.Reboot == core.RebootAlways {
			continue
		}
		out, err := s.run(ctx, pmCmd{argv: []string{s.Bin, "--install", u.ID, "--agree-to-license"}})
		if err != nil {
			return nil, fmt.Errorf("softwareupdate --install: %w", err)
		}
		if line := matchLine(out.combined(), []string{"Not enough free disk space", "not enough space"}); line != "" && !ran {
			return nil, toolErr(ErrDiskFull, "Not enough free disk space (%s).", "Nicht genug freier Speicherplatz (%s).", line)
		}
		ran = true
		runs[u.Key] = out
	}
	var listed []core.Update
	if ran {
		var err error
		if listed, err = s.Scan(ctx); err != nil {
			return nil, err
		}
	}
	var results []Result
	for _, u := range us {
		out, tried := runs[u.Key]
		var r Result
		switch {
		case !tried:
			r = appleSiliconRefusal(u)
		case slices.ContainsFunc(listed, func(l core.Update) bool { return l.ID == u.ID }):
			r = Result{Key: u.Key, Code: fmt.Sprintf("softwareupdate exit %d", out.exit), Output: outputTail(out.combined()),
				Message: bitext("softwareupdate exited with %d, but still offers %s: %s", "softwareupdate endete mit %d, bietet %s aber weiter an: %s",
					out.exit, u.Title, lastLinesOf(out.combined(), 2))}
		default:
			r = Result{Key: u.Key, OK: true, Code: fmt.Sprintf("softwareupdate exit %d", out.exit), Output: outputTail(out.combined()),
				RebootNeeded: u.Reboot == core.RebootAlways,
				Message:      bitext("%s %s is installed.", "%s %s ist installiert.", u.Title, u.Version)}
		}
		results = append(results, r)
		if progress != nil {
			progress(r)
		}
	}
	return results, nil
}
