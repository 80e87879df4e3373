//go:build darwin

package antivirus

import (
	"context"
	"path/filepath"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
)

// osSource on macOS: XProtect, plus Microsoft Defender for Endpoint,
// ClamAV (Homebrew) and the third-party products of macAVs when installed.
type osSource struct{}

// mdatpPaths is where Defender for Endpoint puts its tool on a Mac.
var mdatpPaths = []string{"/usr/local/bin/mdatp"}

// osTools are the programs the check starts here: mdatp and the
// third-party products' tools.
var osTools = func() []string {
	out := mdatpPaths
	for _, av := range macAVs {
		if av.Sweep != "" {
			out = append(out, filepath.Join("/", av.Sweep))
		}
	}
	return out
}()

func runSweep(ctx context.Context, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, toolTimeout)
	defer cancel()
	cmd, err := check.Command(ctx, bin, args...)
	if err != nil {
		return "", err
	}
	out, err := cmd.Output()
	return string(out), err
}

func (osSource) Products(ctx context.Context, p params) ([]product, error) {
	var out []product
	x, ok, err := readXProtect(xprotectBundles, days(p.XProtectMaxAgeDays))
	if err != nil {
		return nil, err
	}
	if ok {
		out = append(out, x)
	}
	skip := map[string]bool{}
	if m, ok, err := mdatpHealth(ctx, mdatpPaths, time.Now()); err != nil {
		return nil, err
	} else if ok {
		out = append(out, m)
		skip["Microsoft Defender"] = true
	}
	third, err := readMacAV(ctx, "/", processNames, runSweep, skip)
	if err != nil {
		return nil, err
	}
	out = append(out, third...)
	if c, ok, err := clamAV(ctx, p.ClamAVDatabase, processNames); err != nil {
		return nil, err
	} else if ok {
		out = append(out, c)
	}
	return out, nil
}
