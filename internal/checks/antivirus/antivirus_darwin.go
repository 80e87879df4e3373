//go:build darwin

package antivirus

import (
	"context"
	"time"
)

// osSource on macOS: XProtect, plus Microsoft Defender for Endpoint and
// ClamAV (Homebrew) when installed.
type osSource struct{}

func (osSource) Products(ctx context.Context, p params) ([]product, error) {
	var out []product
	x, ok, err := readXProtect(xprotectBundles, days(p.XProtectMaxAgeDays))
	if err != nil {
		return nil, err
	}
	if ok {
		out = append(out, x)
	}
	if m, ok, err := mdatpHealth(ctx, []string{"/usr/local/bin/mdatp"}, time.Now()); err != nil {
		return nil, err
	} else if ok {
		out = append(out, m)
	}
	if c, ok, err := clamAV(ctx, p.ClamAVDatabase, processNames); err != nil {
		return nil, err
	} else if ok {
		out = append(out, c)
	}
	return out, nil
}
