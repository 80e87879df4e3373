package server

import (
	"context"
	"time"

	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
)

// SetHistoryRetention changes the days of raw history and of hourly
// rollups that are kept (0: unchanged) through the service, audited as the
// CLI, and returns the retention in force. The servers apply it at their
// next hourly run.
func SetHistoryRetention(ctx context.Context, st *store.DB, rawDays, rollupDays int, now time.Time) (store.HistoryRetention, error) {
	return cliService(st, now).SetHistoryRetention(ctx, service.CLI, rawDays, rollupDays)
}
