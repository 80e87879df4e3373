package antivirus

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
)

// macAV is a third-party antivirus for macOS, found by its app bundle.
// Without private interfaces only some state is readable: the version
// (the bundle's Info.plist), whether its scanning daemon runs, and for
// Sophos the signature release date (`sweep -v`). A product whose state
// cannot be read is reported as installed with a warning, never as a pass.
type macAV struct {
	Name     string
	Apps     []string // glob patterns of app bundles, relative to the root
	IDPrefix []string // CFBundleIdentifier prefixes that confirm a bundle
	Daemons  []string // processes that run while real-time protection is on
	Sweep    string   // Sophos' command-line scanner, relative to the root
}

// macAVs are the products looked for, most common in managed fleets
// first. Microsoft Defender is read with `mdatp health` when its tool is
// there; its entry here only catches an installation without the tool.
var macAVs = []macAV{
	{Name: "Sophos", Apps: []string{"Applications/Sophos/Sophos Endpoint.app", "Applications/Sophos Endpoint.app", "Applications/Sophos Anti-Virus.app", "Applications/Sophos Home.app"},
		IDPrefix: []string{"com.sophos."}, Daemons: []string{"SophosScanD", "SophosAntiVirus", "SophosScanDaemon"}, Sweep: "usr/local/bin/sweep"},
	{Name: "ESET", Apps: []string{"Applications/ESET *.app"}, IDPrefix: []string{"com.eset."}, Daemons: []string{"esets_daemon"}},
	{Name: "Bitdefender", Apps: []string{"Applications/Endpoint Security for Mac.app", "Applications/Bitdefender*.app"},
		IDPrefix: []string{"com.bitdefender."}, Daemons: []string{"BDLDaemon"}},
	{Name: "Microsoft Defender", Apps: []string{"Applications/Microsoft Defender.app", "Applications/Microsoft Defender ATP.app"}, IDPrefix: []string{"com.microsoft.wdav"}},
	{Name: "Malwarebytes", Apps: []string{"Applications/Malwarebytes.app"}, IDPrefix: []string{"com.malwarebytes."}},
	{Name: "Avast", Apps: []string{"Applications/Avast.app", "Applications/Avast Security.app"}, IDPrefix: []string{"com.avast."}},
	{Name: "AVG", Apps: []string{"Applications/AVG AntiVirus.app"}, IDPrefix: []string{"com.avg."}},
	{Name: "Norton", Apps: []string{"Applications/Norton 360.app", "Applications/Norton Security.app"}, IDPrefix: []string{"com.symantec.", "com.norton."}},
	{Name: "Kaspersky", Apps: []string{"Applications/Kaspersky*.app"}, IDPrefix: []string{"com.kaspersky."}},
	{Name: "Trend Micro", Apps: []string{"Applications/Trend Micro*.app"}, IDPrefix: []string{"com.trendmicro."}},
	{Name: "CrowdStrike Falcon", Apps: []string{"Applications/Falcon.app"}, IDPrefix: []string{"com.crowdstrike."}},
	{Name: "SentinelOne", Apps: []string{"Applications/SentinelOne/*.app"}, IDPrefix: []string{"com.sentinelone."}},
	{Name: "Intego VirusBarrier", Apps: []string{"Applications/VirusBarrier*.app"}, IDPrefix: []string{"com.intego."}},
}

// The texts of third-party products' states (translated in warningsDE).
const (
	statusUnreadable = "installed, status not readable"
	daemonStopped    = "protection service not running"
	sigAgeUnknown    = "signature age unknown"
)

// runTool runs a product's tool and returns its standard output.
type runTool func(ctx context.Context, bin string, args ...string) (string, error)

// macBundle is one app bundle's identity from its Info.plist; ok is false
// when the plist is binary or missing (the path alone then identifies it).
func macBundle(app string) (id, version string, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(app, "Contents", "Info.plist"))
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("reading %s: %w", app, err)
	}
	d, err := parsePlistDict(b)
	if err != nil {
		return "", "", false, nil
	}
	return d["CFBundleIdentifier"], d["CFBundleShortVersionString"], true, nil
}

// findMacAV returns the first bundle of av under root that is confirmed by
// its bundle ID (or unreadable, so not disproved).
func findMacAV(root string, av macAV) (app, version string, err error) {
	for _, pat := range av.Apps {
		matches, _ := filepath.Glob(filepath.Join(root, pat)) // patterns are constant and valid
		for _, m := range matches {
			id, v, ok, err := macBundle(m)
			if err != nil {
				return "", "", err
			}
			if ok && !hasPrefix(id, av.IDPrefix) {
				continue
			}
			return m, v, nil
		}
	}
	return "", "", nil
}

func hasPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// readMacAV lists the third-party products installed under root (the
// real root "/" on a Mac, a temp folder in tests); skip names products
// already read another way (Defender through mdatp).
func readMacAV(ctx context.Context, root string, procs func(context.Context) ([]string, error), run runTool, skip map[string]bool) ([]product, error) {
	var out []product
	var names []string
	listed := false
	for _, av := range macAVs {
		if skip[av.Name] {
			continue
		}
		app, version, err := findMacAV(root, av)
		if err != nil {
			return nil, err
		}
		if app == "" {
			continue
		}
		p := product{Name: strings.TrimSuffix(filepath.Base(app), ".app"), Version: version, Active: true}
		if len(av.Daemons) == 0 {
			p.Warnings = append(p.Warnings, statusUnreadable)
			out = append(out, p)
			continue
		}
		if !listed {
			if names, err = procs(ctx); err != nil {
				return nil, err
			}
			listed = true
		}
		p.Active = false
		for _, d := range av.Daemons {
			p.Active = p.Active || processRunning(names, d)
		}
		if !p.Active {
			p.Inactive = daemonStopped
		}
		if av.Sweep != "" {
			if bin := filepath.Join(root, av.Sweep); fileExists(bin) {
				o, err := run(ctx, bin, "-v")
				if err != nil {
					return nil, msg.Program(bin+" -v", err, "")
				}
				if err := parseSweepVersion(o, &p); err != nil {
					return nil, err
				}
			}
		}
		if p.SigTime.IsZero() {
			p.Warnings = append(p.Warnings, sigAgeUnknown)
		}
		out = append(out, p)
	}
	return out, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// parseSweepVersion reads Sophos' `sweep -v`: "Key : value" lines with the
// product and engine versions, the virus data version and its release
// date ("07 April 2020" in older, "2024-05-12" in newer releases).
func parseSweepVersion(out string, p *product) error {
	kv := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			kv[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	if kv["virus data version"] == "" {
		return fmt.Errorf("unexpected sweep -v output: %.80q", out)
	}
	if v := kv["product version"]; v != "" {
		p.Version = v
	}
	p.SigVersion = kv["virus data version"]
	if r := kv["released"]; r != "" {
		for _, l := range []string{"02 January 2006", "2 January 2006", "2006-01-02"} {
			if t, err := time.ParseInLocation(l, r, time.Local); err == nil {
				p.SigTime = t
				return nil
			}
		}
		return fmt.Errorf("sweep -v: unrecognised release date %q", r)
	}
	return nil
}
