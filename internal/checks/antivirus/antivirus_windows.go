//go:build windows

package antivirus

import (
	"context"
	"time"

	"github.com/wacht-rmm/wacht/internal/platform/wmiq"
)

// osSource on Windows: the products registered in Windows Security Center
// (client Windows), and Microsoft Defender's own status, which is all a
// Windows Server has (Security Center exists on client Windows only).
type osSource struct{}

// osTools: the check starts no program here.
var osTools []string

func (osSource) Products(ctx context.Context, _ params) ([]product, error) {
	now := time.Now()
	var wsc []wscProduct
	wscErr := wmiq.Query(ctx, `root\SecurityCenter2`, "SELECT * FROM AntiVirusProduct", &wsc)
	var mp []mpStatus
	mpErr := wmiq.Query(ctx, `root\Microsoft\Windows\Defender`, "SELECT * FROM MSFT_MpComputerStatus", &mp)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return mergeWindows(wsc, wscErr, mp, mpErr, now)
}
