package server

import (
	"context"
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/store"
)

// SetHistoryRetention changes the days of raw history and of hourly
// rollups that are kept (0: unchanged), audited, and returns the retention
// in force. The servers apply it at their next hourly run.
func SetHistoryRetention(ctx context.Context, st *store.DB, rawDays, rollupDays int, now time.Time) (store.HistoryRetention, error) {
	r, err := st.HistoryRetention(ctx)
	if err != nil || (rawDays == 0 && rollupDays == 0) {
		return r, err
	}
	if rawDays != 0 {
		r.RawDays = rawDays
	}
	if rollupDays != 0 {
		r.RollupDays = rollupDays
	}
	if err := st.SetHistoryRetention(ctx, r); err != nil {
		return r, err
	}
	return r, audit(ctx, st, now, "settings.history-retention", "settings",
		fmt.Sprintf("raw_days=%d rollup_days=%d", r.RawDays, r.RollupDays))
}
