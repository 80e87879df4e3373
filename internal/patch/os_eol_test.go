package patch_test

import (
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/patch"
)

// The Platform strings are in the formats the agent builds from gopsutil
// v4's host.Info (Platform + " " + PlatformVersion).
func TestOSSupportEnd(t *testing.T) {
	d := func(y int, m time.Month, dd int) time.Time { return time.Date(y, m, dd, 0, 0, 0, 0, time.UTC) }
	var unknown time.Time
	for _, c := range []struct {
		platform string
		want     time.Time
	}{
		// Windows: ProductName (+ service pack) + DisplayVersion.
		{"Microsoft Windows 7 Professional Service Pack 1", d(2020, time.January, 14)},
		{"Microsoft Windows 7 Ultimate", d(2020, time.January, 14)},
		{"Microsoft Windows 8 Pro", d(2016, time.January, 12)},
		{"Microsoft Windows 8.1 Pro", d(2023, time.January, 10)},
		{"Microsoft Windows 10 Pro 22H2", d(2025, time.October, 14)},
		{"Microsoft Windows 10 Enterprise 22H2", d(2025, time.October, 14)},
		{"Microsoft Windows 10 Home 22H2", d(2025, time.October, 14)},
		// Older feature updates: end depends on the edition; not modelled.
		{"Microsoft Windows 10 Pro 21H2", unknown},
		// Windows 10 1607 (build 14393, no DisplayVersion) vs. Windows
		// Server 2016 (the same build): only the product name tells.
		{"Microsoft Windows 10 Pro", unknown},
		{"Microsoft Windows Server 2016 Standard", d(2027, time.January, 12)},
		{"Microsoft Windows Server 2016 Datacenter", d(2027, time.January, 12)},
		// LTSB/LTSC editions have their own lifecycles: not modelled.
		{"Microsoft Windows 10 Enterprise 2016 LTSB", unknown},
		{"Microsoft Windows 10 Enterprise LTSC 2021 21H2", unknown},
		{"Microsoft Windows 10 IoT Enterprise LTSC 22H2", unknown},
		// Windows 11 (gopsutil rewrites "Windows 10" from build 22000 on):
		// not modelled, and "Windows 10"'s patterns must not catch it.
		{"Microsoft Windows 11 Pro 22H2", unknown},
		{"Microsoft Windows 11 Pro 23H2", unknown},
		{"Windows 11 Pro", unknown},
		{"Microsoft Windows Server (R) 2008 Standard Service Pack 2", d(2020, time.January, 14)},
		{"Microsoft Windows Server® 2008 Enterprise", d(2020, time.January, 14)},
		{"Microsoft Windows Server 2008 R2 Standard Service Pack 1", d(2020, time.January, 14)},
		{"Microsoft Windows Server 2012 Standard", d(2023, time.October, 10)},
		{"Microsoft Windows Server 2012 R2 Datacenter", d(2023, time.October, 10)},
		{"Windows Server 2012 R2", d(2023, time.October, 10)},
		{"Microsoft Windows Server 2019 Standard", d(2029, time.January, 9)},
		{"Microsoft Windows Server 2022 Standard 21H2", d(2031, time.October, 14)},
		{"Windows Server 2022 Standard", d(2031, time.October, 14)},
		{"Microsoft Windows Server 2025 Standard 24H2", unknown},
		{"Microsoft Windows Server Datacenter 1809", unknown},
		// Debian: /etc/debian_version.
		{"debian 9.13", d(2022, time.June, 30)},
		{"debian 10.13", d(2024, time.June, 30)},
		{"debian 11.9", d(2026, time.August, 31)},
		{"debian 12.5", d(2028, time.June, 30)},
		{"debian 12", d(2028, time.June, 30)},
		{"debian 13.1", unknown},
		{"debian 120.1", unknown},
		{"debian trixie/sid", unknown},
		{"raspbian 11.9", unknown},
		// Ubuntu: lsb release.
		{"ubuntu 16.04", d(2021, time.April, 30)},
		{"ubuntu 18.04", d(2023, time.May, 31)},
		{"ubuntu 20.04", d(2025, time.May, 31)},
		{"ubuntu 22.04", d(2027, time.June, 30)},
		{"ubuntu 24.04", d(2029, time.May, 31)},
		{"ubuntu 23.10", unknown},
		{"linuxmint 22.04", unknown},
		// macOS: Apple publishes no dates.
		{"darwin 14.5", unknown},
		{"darwin 10.15.7", unknown},
		{"rocky 9.3", unknown},
		{"windows", unknown},
		{"", unknown},
		{"   ", unknown},
	} {
		got, ok := patch.OSSupportEnd(c.platform)
		if ok != !c.want.IsZero() || !got.Equal(c.want) {
			t.Errorf("OSSupportEnd(%q) = %v, %v; want %v", c.platform, got, ok, c.want)
		}
	}
}

// Every entry has a pattern, a vendor page and a date; no two patterns
// claim the same product key.
func TestOSEndOfSupportTable(t *testing.T) {
	keys := map[string]bool{}
	for _, o := range patch.OSEndOfSupport {
		if o.Key == "" || o.Name == "" || o.Vendor == "" || o.Match == nil || o.Until.IsZero() || o.URL == "" {
			t.Errorf("incomplete entry %+v", o)
		}
		if keys[o.Key] {
			t.Errorf("duplicate key %s", o.Key)
		}
		keys[o.Key] = true
	}
}
