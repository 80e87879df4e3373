package server

import (
	"context"
	"net/netip"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/netguard"
)

// SetServerCheckAllow replaces the address ranges that website checks run
// by the server may reach although they are refused by default (text:
// CIDR prefixes or addresses separated by commas; "" allows none),
// audited, and returns the ranges in force. The server applies them at
// its next round of checks.
func SetServerCheckAllow(ctx context.Context, st core.Store, text string, now time.Time) ([]netip.Prefix, error) {
	ps, err := netguard.ParseAllow(text)
	if err != nil {
		return nil, err
	}
	formatted := netguard.FormatAllow(ps)
	if err := st.SetSetting(ctx, netguard.SettingAllow, formatted); err != nil {
		return nil, err
	}
	return ps, audit(ctx, st, now, "settings.server-checks", "settings", "allow="+formatted)
}
