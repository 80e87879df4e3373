package policy

import (
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestResolveSoftware: desired software states are inherited, overridden
// and excluded by package as checks are by name, each with its source.
func TestResolveSoftware(t *testing.T) {
	layers := []Layer{
		{Level: core.LevelDefault, Policy: core.Policy{ID: 1, Name: "Basis", Software: []core.PolicySoftware{
			{PackageID: 10, State: core.SoftwarePresent},
			{PackageID: 11, State: core.SoftwarePresent, MinVersion: "1.0"},
			{PackageID: 12, State: core.SoftwareAbsent},
		}}},
		{Level: core.LevelClient, TargetID: 7, Policy: core.Policy{ID: 2, Name: "Kanzlei", Software: []core.PolicySoftware{
			{PackageID: 11, State: core.SoftwarePresent, MinVersion: "24.1"},
			{PackageID: 12, Exclude: true},
			{PackageID: 99, Exclude: true}, // nothing to exclude
		}}},
		{Level: core.LevelDevice, TargetID: 9, Policy: core.Policy{ID: 3, Name: "Gerät", Software: []core.PolicySoftware{
			{PackageID: 13, State: core.SoftwareAbsent},
		}}},
	}
	e := Resolve("workstation", layers)
	var got []int64
	for _, s := range e.Software {
		got = append(got, s.PackageID)
	}
	if len(got) != 3 || got[0] != 10 || got[1] != 11 || got[2] != 13 {
		t.Fatalf("software = %v", got)
	}
	if s := e.Software[1]; s.MinVersion != "24.1" || s.Source.PolicyName != "Kanzlei" || s.Source.Level != core.LevelClient ||
		s.Overrides == nil || s.Overrides.PolicyID != 1 || s.Check != "software-11" {
		t.Errorf("overridden entry = %+v", s)
	}
	if len(e.ExcludedSoftware) != 1 || e.ExcludedSoftware[0].Name != "software-12" || e.ExcludedSoftware[0].By.PolicyID != 2 {
		t.Errorf("excluded = %+v", e.ExcludedSoftware)
	}
	if empty := Resolve("server", nil); empty.Software == nil {
		t.Error("no software is nil, want an empty list")
	}
}

func TestValidateSoftware(t *testing.T) {
	p := core.Policy{Name: "Software", Software: []core.PolicySoftware{
		{PackageID: 1, State: core.SoftwarePresent, MinVersion: " 24.1 "},
		{PackageID: 2, State: core.SoftwareAbsent},
		{State: core.SoftwarePresent},
		{PackageID: 1, State: core.SoftwareAbsent},
		{PackageID: 4, State: "installed"},
		{PackageID: 5, State: core.SoftwarePresent, MinVersion: "1.0; rm -rf /"},
		{PackageID: 6, State: core.SoftwareAbsent, MinVersion: "2"},
		{PackageID: 7, Exclude: true, State: "whatever", MinVersion: "!"},
	}}
	Normalize(&p)
	if p.Software[0].MinVersion != "24.1" || p.Software[7].State != "" || p.Software[7].MinVersion != "" {
		t.Errorf("normalized: %+v", p.Software)
	}
	ve, ok := Validate(p).(*ValidationError)
	if !ok {
		t.Fatalf("err = %v", Validate(p))
	}
	want := map[string]bool{"software[2].package": true, "software[3].package": true, "software[4].state": true,
		"software[5].min_version": true, "software[6].min_version": true}
	for _, f := range ve.Fields {
		if !want[f.Field] || f.Message.DE == "" || f.Message.EN == "" {
			t.Errorf("unexpected %s: %s", f.Field, f.Message.EN)
		}
		delete(want, f.Field)
	}
	for f := range want {
		t.Errorf("no error on %s", f)
	}
}

func TestTicketExpiry(t *testing.T) {
	for in, want := range map[string]string{
		"2026-12-06T07:41:00Z":      "2027-02-01T00:00:00Z",
		"2026-01-31T23:59:59Z":      "2026-03-01T00:00:00Z",
		"2026-11-01T00:00:00Z":      "2027-01-01T00:00:00Z",
		"2026-06-30T23:30:00-02:00": "2026-09-01T00:00:00Z", // 01:30 UTC on 1 July
	} {
		now, _ := time.Parse(time.RFC3339, in)
		if got := TicketExpiry(now).Format(time.RFC3339); got != want {
			t.Errorf("TicketExpiry(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestSoftwareNotFor: a package applies to devices of its OS, and of its
// architecture when both name one.
func TestSoftwareNotFor(t *testing.T) {
	for _, c := range []struct {
		pkgOS, pkgArch, devOS, devArch string
		applies                        bool
	}{
		{"linux", "", "linux", "arm64", true},
		{"linux", "amd64", "linux", "amd64", true},
		{"linux", "amd64", "linux", "", true},
		{"linux", "amd64", "linux", "arm64", false},
		{"windows", "", "linux", "amd64", false},
		{"linux", "", "", "", false}, // the device's OS is not known yet
	} {
		why := notFor(core.Package{Name: "p", OS: c.pkgOS, Arch: c.pkgArch}, core.Device{OS: c.devOS, Arch: c.devArch})
		if (why == nil) != c.applies || why != nil && (why.EN == "" || why.DE == "") {
			t.Errorf("%+v: %v", c, why)
		}
	}
}
