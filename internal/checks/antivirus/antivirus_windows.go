//go:build windows

package antivirus

import (
	"context"
	"fmt"
	"time"

	"github.com/yusufpapurcu/wmi"
)

// osSource on Windows: the products registered in Windows Security Center
// (client Windows), and Microsoft Defender's own status, which is all a
// Windows Server has (Security Center exists on client Windows only).
type osSource struct{}

// wmiClient tolerates properties older Windows builds lack (AMRunningMode)
// and null values (a scan time when never scanned).
var wmiClient = &wmi.Client{AllowMissingFields: true, NonePtrZero: true}

func wmiQuery(ctx context.Context, namespace, query string, dst any) error {
	done := make(chan error, 1)
	go func() { done <- wmiClient.Query(query, dst, nil, namespace) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (osSource) Products(ctx context.Context, _ params) ([]product, error) {
	now := time.Now()
	var wsc []wscProduct
	wscErr := wmiQuery(ctx, `root\SecurityCenter2`, "SELECT * FROM AntiVirusProduct", &wsc)
	var mp []mpStatus
	mpErr := wmiQuery(ctx, `root\Microsoft\Windows\Defender`, "SELECT * FROM MSFT_MpComputerStatus", &mp)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	switch {
	case wscErr == nil && len(wsc) > 0:
		ps := fromWSC(wsc)
		if mpErr == nil && len(mp) == 1 {
			// Security Center knows no signature age; Defender does.
			for i := range ps {
				if isDefender(ps[i].Name) {
					d := fromDefender(mp[0], now)
					d.Name = ps[i].Name
					if !ps[i].Active && d.Active {
						d.Active, d.Inactive = false, ps[i].Inactive
					}
					ps[i] = d
				}
			}
		}
		return ps, nil
	case mpErr == nil && len(mp) == 1:
		// Windows Server, or Security Center empty.
		return []product{fromDefender(mp[0], now)}, nil
	case wscErr == nil:
		// Security Center answers and lists nothing; Defender is not there.
		return nil, nil
	}
	return nil, fmt.Errorf("reading Security Center: %v; reading Microsoft Defender status: %w", wscErr, mpErr)
}
