package policy

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Desired software state of policies (issue 17): validation of the
// entries' own fields; that the package exists is the service's part, what
// the agent receives the Resolver's (software_resolver.go).

// MaxSoftware bounds the desired software entries of one policy.
const MaxSoftware = 100

// minVersion is what a minimum version may look like: the version strings
// of installers and package managers ("24.1", "1.3.6-2", "2:7.4+dfsg").
var minVersion = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z.+:~_-]{0,63}$`)

// SoftwareEntry is one desired software state of a device's effective set.
type SoftwareEntry struct {
	core.PolicySoftware
	Check     string  `json:"check"` // core.SoftwareCheckName: the name its results carry
	Source    Source  `json:"source"`
	Overrides *Source `json:"overrides,omitempty"`
	// PackageName and PackageVersion name the package (Resolver).
	PackageName    string `json:"package_name,omitempty"`
	PackageVersion string `json:"package_version,omitempty"`
	// Skipped says why the entry does not apply to this device (a package
	// for another OS or architecture): not an error, nothing is sent.
	Skipped *core.Text `json:"skipped,omitempty"`
	// Broken says why the entry is not sent to the agent (Resolver).
	Broken *core.Text `json:"broken,omitempty"`
}

// normalizeSoftware trims the entries and drops the fields of excluding
// ones, which need only the package.
func normalizeSoftware(p *core.Policy) {
	for i := range p.Software {
		s := &p.Software[i]
		if s.Exclude {
			*s = core.PolicySoftware{PackageID: s.PackageID, Exclude: true}
			continue
		}
		s.MinVersion = strings.TrimSpace(s.MinVersion)
	}
	if len(p.Software) == 0 {
		p.Software = nil
	}
}

// validateSoftware checks the entries' own fields: a package, a known
// state, a sane minimum version for "present" only, each package once.
func validateSoftware(v *errs, p core.Policy) {
	if len(p.Software) > MaxSoftware {
		v.add("software", fmt.Sprintf("must list at most %d packages", MaxSoftware), fmt.Sprintf("darf höchstens %d Pakete enthalten", MaxSoftware))
	}
	seen := map[int64]int{}
	for i, s := range p.Software {
		at := fmt.Sprintf("software[%d]", i)
		if s.PackageID <= 0 {
			v.add(at+".package", "choose a package", "wählen Sie ein Paket")
		} else if j, dup := seen[s.PackageID]; dup {
			v.add(at+".package", fmt.Sprintf("package %d is already listed in software[%d]", s.PackageID, j),
				fmt.Sprintf("Paket %d steht schon in software[%d]", s.PackageID, j))
		} else {
			seen[s.PackageID] = i
		}
		if s.Exclude {
			continue
		}
		switch s.State {
		case core.SoftwarePresent:
			if s.MinVersion != "" && !minVersion.MatchString(s.MinVersion) {
				v.add(at+".min_version", "must be a version such as 24.1 (letters, digits and . + : ~ _ -, at most 64)",
					"muss eine Version wie 24.1 sein (Buchstaben, Ziffern und . + : ~ _ -, höchstens 64)")
			}
		case core.SoftwareAbsent:
			if s.MinVersion != "" {
				v.add(at+".min_version", "only a package that must be present has a minimum version",
					"nur ein Paket, das installiert sein muss, hat eine Mindestversion")
			}
		default:
			v.add(at+".state", "must be present or absent", "muss present oder absent sein")
		}
	}
}

// softwareKey is the name entries of one package merge by.
func softwareKey(s core.PolicySoftware) string { return core.SoftwareCheckName(s.PackageID) }
