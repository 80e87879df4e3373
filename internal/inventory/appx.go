package inventory

import (
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// appxPackage is a Store/MSIX package full name taken apart:
// Name_Version_Architecture_ResourceId_PublisherId.
type appxPackage struct {
	Name, Version, Arch, ResourceID, PublisherID string
}

// parsePackageFullName splits a package full name
// ("Microsoft.WindowsCalculator_11.2307.4.0_x64__8wekyb3d8bbwe"); false
// for anything else. Package names cannot hold "_", so the five fields
// are unambiguous.
func parsePackageFullName(s string) (appxPackage, bool) {
	f := strings.Split(s, "_")
	if len(f) != 5 || f[0] == "" || f[1] == "" || f[2] == "" || f[4] == "" {
		return appxPackage{}, false
	}
	for _, n := range strings.Split(f[1], ".") {
		if n == "" || strings.Trim(n, "0123456789") != "" {
			return appxPackage{}, false
		}
	}
	return appxPackage{Name: f[0], Version: f[1], Arch: f[2], ResourceID: f[3], PublisherID: f[4]}, true
}

// programFromPackage is the program of a package's full name and its
// registered DisplayName, which is often an unresolved "ms-resource:"
// reference: then the package name stands in. The resource packages of a
// bundle (ResourceId "split.scale-100", "split.language-de") are parts of
// another package, no programs of their own.
func programFromPackage(fullName, displayName string) (core.Program, bool) {
	p, ok := parsePackageFullName(fullName)
	if !ok || strings.HasPrefix(p.ResourceID, "split.") {
		return core.Program{}, false
	}
	name := strings.TrimSpace(displayName)
	if name == "" || strings.HasPrefix(strings.ToLower(name), "ms-resource:") || strings.HasPrefix(name, "@{") {
		name = p.Name
	}
	return core.Program{Name: name, Version: p.Version, Source: core.SourceMSIX, ID: fullName}, true
}
