//go:build windows

package antivirus

import (
	"context"
	"time"

	"github.com/yusufpapurcu/wmi"
)

// osSource on Windows: the products registered in Windows Security Center
// (client Windows), and Microsoft Defender's own status, which is all a
// Windows Server has (Security Center exists on client Windows only).
type osSource struct{}

// osTools: the check starts no program here.
var osTools []string

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
	return mergeWindows(wsc, wscErr, mp, mpErr, now)
}
