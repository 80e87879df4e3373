package swdetect

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/wacht-rmm/wacht/internal/vercmp"
)

// DpkgFormat is the dpkg-query -W -f format parseDpkg reads.
const DpkgFormat = `${binary:Package}\t${db:Status-Status}\t${Version}\n`

// parseDpkg reads dpkg-query's lines for package name (one per
// architecture of a multi-arch package) and returns the installed
// version. A package removed with its configuration files kept
// ("config-files") is not installed.
func parseDpkg(out, name string) (string, error) {
	version := ""
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			if strings.TrimSpace(line) == "" {
				continue
			}
			return "", fmt.Errorf("unexpected dpkg-query line %q", line)
		}
		pkg, _, _ := strings.Cut(f[0], ":")
		if pkg != name || f[1] != "installed" {
			continue
		}
		if version == "" || vercmp.Compare(f[2], version) > 0 {
			version = f[2]
		}
	}
	if version == "" {
		return "", errAbsent
	}
	return version, nil
}

// RpmFormat is the rpm -q --qf format parseRpm reads.
const RpmFormat = `%{NAME}\t%{EPOCHNUM}:%{VERSION}-%{RELEASE}\n`

// rpmNotInstalled is rpm's answer (exit status 1) for a package it does
// not know.
const rpmNotInstalled = "is not installed"

// parseRpm reads rpm -q's lines (several for installed versions side by
// side, as kernels are) and returns the highest version.
func parseRpm(out, name string) (string, error) {
	version := ""
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(line, rpmNotInstalled) {
			return "", errAbsent
		}
		pkg, v, ok := strings.Cut(line, "\t")
		if !ok {
			return "", fmt.Errorf("unexpected rpm line %q", line)
		}
		if pkg == name && (version == "" || vercmp.Compare(v, version) > 0) {
			version = v
		}
	}
	if version == "" {
		return "", errAbsent
	}
	return version, nil
}

// highestVersion returns the highest of the version folders Homebrew
// keeps in its Cellar or Caskroom for a package (.metadata and other dot
// entries are not versions).
func highestVersion(names []string) (string, error) {
	best := ""
	for _, n := range names {
		if strings.HasPrefix(n, ".") {
			continue
		}
		if best == "" || vercmp.Compare(n, best) > 0 {
			best = n
		}
	}
	if best == "" {
		return "", errAbsent
	}
	return best, nil
}

// errBinaryPlist asks for conversion (plutil) before plistVersion.
var errBinaryPlist = errors.New("binary property list")

// plistVersion returns CFBundleShortVersionString (or, lacking it,
// CFBundleVersion) from an XML property list (Apple's Info.plist).
func plistVersion(b []byte) (string, error) {
	if bytes.HasPrefix(b, []byte("bplist")) {
		return "", errBinaryPlist
	}
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = false // Apple's DOCTYPE
	values := map[string]string{}
	key, depth := "", 0
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return "", fmt.Errorf("parsing Info.plist: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth != 3 { // plist > dict > key|string: the top-level entries
				continue
			}
			var text string
			if err := dec.DecodeElement(&text, &t); err != nil {
				return "", fmt.Errorf("parsing Info.plist: %w", err)
			}
			depth--
			switch t.Name.Local {
			case "key":
				key = text
			case "string":
				values[key] = strings.TrimSpace(text)
				key = ""
			default:
				key = ""
			}
		case xml.EndElement:
			depth--
		}
	}
	for _, k := range []string{"CFBundleShortVersionString", "CFBundleVersion"} {
		if v := values[k]; v != "" {
			return v, nil
		}
	}
	return "", errors.New("no CFBundleShortVersionString in Info.plist")
}
