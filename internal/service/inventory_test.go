package service

import (
	"testing"
	"time"
)

func TestOSEndOfSupport(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, version, build string
		date                 string // "" = no hint
		ended                bool
	}{
		{"Windows 10 Pro", "22H2", "19045.4651", "2025-10-14", false}, // within 180 days
		{"Microsoft Windows 10 Home", "22H2", "19045.5854", "2025-10-14", false},
		{"Windows 10 Enterprise LTSC 2021", "21H2", "19044.4651", "", false},
		{"Windows 11 Pro", "21H2", "22000.2538", "2023-10-10", true},
		{"Windows 11 Enterprise", "21H2", "22000.2538", "2024-10-08", true},
		{"Windows 11 Home", "22H2", "22621.3880", "2024-10-08", true},
		{"Windows 11 Education", "22H2", "22621.3880", "2025-10-14", false},
		{"Windows 11 Pro", "23H2", "22631.3880", "2025-11-11", false},
		{"Windows 11 Pro", "", "22631.3880", "2025-11-11", false}, // version from the build
		{"Windows 11 Enterprise", "23H2", "22631.3880", "", false},
		{"Windows 11 Pro", "24H2", "26100.1150", "", false},
		{"Windows Server 2012 R2 Standard", "", "9600", "2023-10-10", true},
		{"Windows Server 2016 Datacenter", "1607", "14393.7070", "", false},
		{"Windows Server 2019 Standard", "1809", "17763.6054", "", false},
		{"macOS 12.7.6", "12.7.6", "21H1320", "2024-09-16", true},
		{"macOS 13.6.7", "13.6.7", "22G720", "2025-09-15", false},
		{"macOS 14.5", "14.5", "23F79", "", false},
		{"Debian GNU/Linux 10 (buster)", "10", "4.19.0-26-amd64", "2024-06-30", true},
		{"Debian GNU/Linux 11 (bullseye)", "11", "5.10.0-30-amd64", "", false},
		{"Debian GNU/Linux 12 (bookworm)", "12", "6.1.0-18-amd64", "", false},
		{"Ubuntu 20.04.6 LTS", "20.04", "5.4.0-186-generic", "2025-05-31", true},
		{"Ubuntu 22.04.4 LTS", "22.04", "5.15.0-113-generic", "", false},
		{"", "", "", "", false},
	} {
		e := OSEndOfSupport(tc.name, tc.version, tc.build, now)
		switch {
		case tc.date == "" && e != nil:
			t.Errorf("%s %s: %+v, want no hint", tc.name, tc.version, e)
		case tc.date != "" && (e == nil || e.Date != tc.date || e.Ended != tc.ended || e.Text.EN == "" || e.Text.DE == ""):
			t.Errorf("%s %s: %+v, want %s ended=%v", tc.name, tc.version, e, tc.date, tc.ended)
		}
	}
	// The text says when, in each language's date format.
	e := OSEndOfSupport("Windows 10 Pro", "22H2", "", now)
	if e.Text.EN != "Vendor support for Windows 10 ends on 2025-10-14 (in 135 days): plan the upgrade." ||
		e.Text.DE != "Der Herstellersupport für Windows 10 endet am 14.10.2025 (in 135 Tagen): planen Sie das Upgrade." {
		t.Errorf("text = %+v", e.Text)
	}
	e = OSEndOfSupport("Windows 10 Pro", "22H2", "", now.AddDate(1, 0, 0))
	if !e.Ended || e.Text.DE != "Der Herstellersupport für Windows 10 endete am 14.10.2025: es gibt keine Sicherheitsupdates mehr." {
		t.Errorf("ended text = %+v", e.Text)
	}
}
