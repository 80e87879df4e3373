//go:build !windows && !darwin

package antivirus

import (
	"context"
	"time"
)

// osSource on Linux and other Unix systems: ClamAV and Microsoft Defender
// for Endpoint.
type osSource struct{}

var mdatpPaths = []string{"/usr/bin/mdatp"}

// osTools are the programs the check starts here.
var osTools = mdatpPaths

func (osSource) Products(ctx context.Context, p params) ([]product, error) {
	var out []product
	if c, ok, err := clamAV(ctx, p.ClamAVDatabase, processNames); err != nil {
		return nil, err
	} else if ok {
		out = append(out, c)
	}
	if m, ok, err := mdatpHealth(ctx, mdatpPaths, time.Now()); err != nil {
		return nil, err
	} else if ok {
		out = append(out, m)
	}
	return out, nil
}
