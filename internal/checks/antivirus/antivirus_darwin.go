//go:build darwin

package antivirus

import (
	"context"
	"os/exec"
	"time"
)

// osSource on macOS: XProtect, plus Microsoft Defender for Endpoint,
// ClamAV (Homebrew) and the third-party products of macAVs when installed.
type osSource struct{}

func runSweep(ctx context.Context, bin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, toolTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).Output()
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
	if m, ok, err := mdatpHealth(ctx, []string{"/usr/local/bin/mdatp"}, time.Now()); err != nil {
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
