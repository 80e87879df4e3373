package server

import (
	"context"
	"net/netip"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/netguard"
	"github.com/wacht-rmm/wacht/internal/service"
)

// SetServerCheckAllow replaces the address ranges that website checks run
// by the server may reach although they are refused by default (text:
// CIDR prefixes or addresses separated by commas; "" allows none) through
// the service, audited as the CLI, and returns the ranges in force. The
// server applies them at its next round of checks.
func SetServerCheckAllow(ctx context.Context, st core.Store, text string, now time.Time) ([]netip.Prefix, error) {
	sc, err := cliService(st, now).SetServerChecks(ctx, service.CLI, service.ServerChecks{Allow: []string{text}})
	if err != nil {
		return nil, err
	}
	return netguard.ParseAllow(strings.Join(sc.Allow, ","))
}
