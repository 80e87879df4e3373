package patch

import (
	"regexp"
	"strings"
	"time"
)

// OSProduct is an operating system version with the end of its vendor's
// (security) support.
type OSProduct struct {
	Key    string
	Name   string
	Vendor string
	// Until is the day the vendor's support ends (the last security
	// update day).
	Until time.Time
	// Match is a regular expression on the device's Platform string.
	Match *regexp.Regexp
	// Exclude, if set, rejects a Platform string Match accepted (an
	// edition with a different lifecycle).
	Exclude *regexp.Regexp
	// URL is the vendor's lifecycle page.
	URL string
}

// OSEndOfSupport lists the operating system versions whose end of support
// is known for sure. The agent reports Platform as gopsutil's host.Info
// Platform + " " + PlatformVersion (internal/agent/enroll.go):
//
//   - Windows: the registry's ProductName, prefixed "Microsoft ", with
//     "Windows 10" replaced by "Windows 11" from build 22000 on, the
//     service pack (CSDVersion) if any, then DisplayVersion if any (20H2
//     and later): "Microsoft Windows 10 Pro 22H2",
//     "Microsoft Windows 7 Professional Service Pack 1",
//     "Microsoft Windows Server 2016 Standard" (no DisplayVersion),
//     "Microsoft Windows Server 2022 Standard 21H2". The build number is
//     not in the string, so Windows Server 2016 and Windows 10 1607 (both
//     build 14393) are told apart by the product name.
//   - Debian: "debian " + /etc/debian_version ("debian 12.5"); Ubuntu:
//     "ubuntu " + the lsb release ("ubuntu 22.04").
//   - macOS: "darwin " + sw_vers' product version ("darwin 14.5"). Apple
//     publishes no end-of-support dates (it silently stops updating older
//     versions), so macOS is not listed and stays "unknown".
//
// Not modelled, hence "unknown": Windows 10 LTSB/LTSC editions (their
// own, longer lifecycles), paid Extended Security Updates (ESU) for
// Windows 7, Windows Server 2008/2012 or Windows 10, Windows 10 feature
// updates before 22H2 (their end depends on the edition), Windows 11 (its
// end depends on feature update and edition), Debian ELTS, Ubuntu Pro/ESM,
// Raspbian and RHEL-like distributions. A wrong "supported" is worse than
// "unknown", so only dates certain for every matching string are listed.
var OSEndOfSupport = []OSProduct{
	{Key: "windows-7", Name: "Windows 7", Vendor: "Microsoft", Until: day(2020, time.January, 14),
		Match: regexp.MustCompile(`(?i)\bWindows 7\b`),
		URL:   "https://learn.microsoft.com/lifecycle/products/windows-7"},
	{Key: "windows-8", Name: "Windows 8", Vendor: "Microsoft", Until: day(2016, time.January, 12),
		Match: regexp.MustCompile(`(?i)\bWindows 8(\s|$)`),
		URL:   "https://learn.microsoft.com/lifecycle/products/windows-8"},
	{Key: "windows-8.1", Name: "Windows 8.1", Vendor: "Microsoft", Until: day(2023, time.January, 10),
		Match: regexp.MustCompile(`(?i)\bWindows 8\.1\b`),
		URL:   "https://learn.microsoft.com/lifecycle/products/windows-81"},
	// Windows 10 22H2 is the last feature update of every client edition
	// but LTSB/LTSC; older feature updates ended earlier, on dates that
	// depend on the edition, and stay unknown.
	{Key: "windows-10-22h2", Name: "Windows 10 22H2", Vendor: "Microsoft", Until: day(2025, time.October, 14),
		Match:   regexp.MustCompile(`(?i)\bWindows 10\b.*\b22H2$`),
		Exclude: regexp.MustCompile(`(?i)\bLTS[BC]\b`),
		URL:     "https://learn.microsoft.com/lifecycle/products/windows-10-home-and-pro"},
	// ProductName of Windows Server 2008 is "Windows Server (R) 2008 …" or
	// "Windows Server® 2008 …";
	// 2008 R2 and 2012 R2 share the entries of 2008 and 2012.
	{Key: "windows-server-2008", Name: "Windows Server 2008 / 2008 R2", Vendor: "Microsoft", Until: day(2020, time.January, 14),
		Match: regexp.MustCompile(`(?i)\bWindows Server ?(\(R\)|®)? ?2008\b`),
		URL:   "https://learn.microsoft.com/lifecycle/products/windows-server-2008-r2"},
	{Key: "windows-server-2012", Name: "Windows Server 2012 / 2012 R2", Vendor: "Microsoft", Until: day(2023, time.October, 10),
		Match: regexp.MustCompile(`(?i)\bWindows Server ?(\(R\)|®)? ?2012\b`),
		URL:   "https://learn.microsoft.com/lifecycle/products/windows-server-2012-r2"},
	{Key: "windows-server-2016", Name: "Windows Server 2016", Vendor: "Microsoft", Until: day(2027, time.January, 12),
		Match: regexp.MustCompile(`(?i)\bWindows Server 2016\b`),
		URL:   "https://learn.microsoft.com/lifecycle/products/windows-server-2016"},
	{Key: "windows-server-2019", Name: "Windows Server 2019", Vendor: "Microsoft", Until: day(2029, time.January, 9),
		Match: regexp.MustCompile(`(?i)\bWindows Server 2019\b`),
		URL:   "https://learn.microsoft.com/lifecycle/products/windows-server-2019"},
	{Key: "windows-server-2022", Name: "Windows Server 2022", Vendor: "Microsoft", Until: day(2031, time.October, 14),
		Match: regexp.MustCompile(`(?i)\bWindows Server 2022\b`),
		URL:   "https://learn.microsoft.com/lifecycle/products/windows-server-2022"},
	// Debian: the end of Debian LTS.
	{Key: "debian-9", Name: "Debian 9", Vendor: "Debian", Until: day(2022, time.June, 30),
		Match: regexp.MustCompile(`(?i)^debian 9(\.\d+)*$`), URL: "https://wiki.debian.org/LTS"},
	{Key: "debian-10", Name: "Debian 10", Vendor: "Debian", Until: day(2024, time.June, 30),
		Match: regexp.MustCompile(`(?i)^debian 10(\.\d+)*$`), URL: "https://wiki.debian.org/LTS"},
	{Key: "debian-11", Name: "Debian 11", Vendor: "Debian", Until: day(2026, time.August, 31),
		Match: regexp.MustCompile(`(?i)^debian 11(\.\d+)*$`), URL: "https://wiki.debian.org/LTS"},
	{Key: "debian-12", Name: "Debian 12", Vendor: "Debian", Until: day(2028, time.June, 30),
		Match: regexp.MustCompile(`(?i)^debian 12(\.\d+)*$`), URL: "https://wiki.debian.org/LTS"},
	// Ubuntu LTS: the end of standard support (not Ubuntu Pro/ESM).
	{Key: "ubuntu-16.04", Name: "Ubuntu 16.04 LTS", Vendor: "Canonical", Until: day(2021, time.April, 30),
		Match: regexp.MustCompile(`(?i)^ubuntu 16\.04(\.\d+)?$`), URL: "https://ubuntu.com/about/release-cycle"},
	{Key: "ubuntu-18.04", Name: "Ubuntu 18.04 LTS", Vendor: "Canonical", Until: day(2023, time.May, 31),
		Match: regexp.MustCompile(`(?i)^ubuntu 18\.04(\.\d+)?$`), URL: "https://ubuntu.com/about/release-cycle"},
	{Key: "ubuntu-20.04", Name: "Ubuntu 20.04 LTS", Vendor: "Canonical", Until: day(2025, time.May, 31),
		Match: regexp.MustCompile(`(?i)^ubuntu 20\.04(\.\d+)?$`), URL: "https://ubuntu.com/about/release-cycle"},
	{Key: "ubuntu-22.04", Name: "Ubuntu 22.04 LTS", Vendor: "Canonical", Until: day(2027, time.June, 30),
		Match: regexp.MustCompile(`(?i)^ubuntu 22\.04(\.\d+)?$`), URL: "https://ubuntu.com/about/release-cycle"},
	{Key: "ubuntu-24.04", Name: "Ubuntu 24.04 LTS", Vendor: "Canonical", Until: day(2029, time.May, 31),
		Match: regexp.MustCompile(`(?i)^ubuntu 24\.04(\.\d+)?$`), URL: "https://ubuntu.com/about/release-cycle"},
}

// OSSupportEnd returns the end of the vendor's support of the OS version a
// device reports as Platform; false when OSEndOfSupport does not know it.
func OSSupportEnd(platform string) (time.Time, bool) {
	p := strings.Join(strings.Fields(platform), " ")
	if p == "" {
		return time.Time{}, false
	}
	for _, o := range OSEndOfSupport {
		if o.Match.MatchString(p) && (o.Exclude == nil || !o.Exclude.MatchString(p)) {
			return o.Until, true
		}
	}
	return time.Time{}, false
}
