package inventory

import (
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Package manager listings. A line that does not parse is skipped: one
// broken entry must not cost the whole software list.

// dpkgFormat is the dpkg-query -W -f format parseDpkgPrograms reads.
const dpkgFormat = `${Package}\t${Architecture}\t${Version}\t${Status}\t${Installed-Size}\t${Maintainer}\n`

// parseDpkgPrograms reads dpkg-query's listing; only packages whose
// status is "install ok installed" are installed (not "deinstall ok
// config-files", not half-configured). Installed-Size is KiB.
func parseDpkgPrograms(out string) []core.Program {
	progs := []core.Program{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 6 || f[0] == "" || f[3] != "install ok installed" {
			continue
		}
		p := core.Program{Name: f[0], Version: f[2], Publisher: maintainerName(f[5]), Source: core.SourceDpkg, ID: f[0] + ":" + f[1]}
		if kib, err := strconv.ParseInt(f[4], 10, 64); err == nil && kib > 0 {
			p.SizeBytes = kib << 10
		}
		progs = append(progs, p)
	}
	return progs
}

// maintainerName drops the address of "Name <mail>".
func maintainerName(s string) string {
	if i := strings.IndexByte(s, '<'); i > 0 {
		return strings.TrimSpace(s[:i])
	}
	return strings.TrimSpace(s)
}

// rpmFormat is the rpm --qf format parseRpmPrograms reads.
const rpmFormat = `%{NAME}\t%{ARCH}\t%{VERSION}-%{RELEASE}\t%{INSTALLTIME}\t%{SIZE}\t%{VENDOR}\t%{SUMMARY}\t%{GROUP}\n`

// parseRpmPrograms reads rpm -qa's listing: INSTALLTIME is Unix seconds,
// SIZE bytes, "(none)" an empty value. gpg-pubkey entries are imported
// signing keys, not programs.
func parseRpmPrograms(out string) []core.Program {
	progs := []core.Program{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 8 || f[0] == "" || f[0] == "gpg-pubkey" { // more: a tab in the summary
			continue
		}
		none := func(s string) string {
			if s == "(none)" {
				return ""
			}
			return s
		}
		p := core.Program{Name: f[0], Version: f[2], Publisher: none(f[5]), Source: core.SourceRPM, ID: f[0] + "." + none(f[1])}
		if t, err := strconv.ParseInt(f[3], 10, 64); err == nil && t > 0 {
			p.InstallDate = time.Unix(t, 0).UTC().Format(time.DateOnly)
		}
		if n, err := strconv.ParseInt(f[4], 10, 64); err == nil && n > 0 {
			p.SizeBytes = n
		}
		progs = append(progs, p)
	}
	return progs
}

// parseSnapList reads `snap list`: a header, then name, version,
// revision, tracking, publisher (a trailing ✓, ✪ or * marks a verified
// one) and notes, separated by spaces.
func parseSnapList(out string) []core.Program {
	progs := []core.Program{}
	for i, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if i == 0 || len(f) < 5 {
			continue
		}
		pub := strings.TrimRight(f[4], "*✓✪")
		if pub == "-" {
			pub = ""
		}
		progs = append(progs, core.Program{Name: f[0], Version: f[1], Publisher: pub, Source: core.SourceSnap, ID: f[0]})
	}
	return progs
}

// flatpakColumns are the columns parseFlatpakList reads; flatpak prints
// them tab-separated when its output is not a terminal.
const flatpakColumns = "application,branch,installation,name,version"

// parseFlatpakList reads `flatpak list --columns=…`: an application is
// installed once per branch and installation (system or user), so the ID
// holds all three. Apps without a version number show their branch.
func parseFlatpakList(out string) []core.Program {
	progs := []core.Program{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 4 || f[0] == "" || strings.Contains(f[0], " ") {
			continue
		}
		p := core.Program{Name: f[3], Version: f[1], Source: core.SourceFlatpak, ID: f[0] + "/" + f[1] + "/" + f[2]}
		if len(f) > 4 && strings.TrimSpace(f[4]) != "" {
			p.Version = strings.TrimSpace(f[4])
		}
		if p.Name == "" {
			p.Name = f[0]
		}
		progs = append(progs, p)
	}
	return progs
}
