package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/wacht-rmm/wacht/internal/server"
	"github.com/wacht-rmm/wacht/internal/store"
)

// historyCmd shows or changes how long check history is kept.
func historyCmd(args []string, stdout, stderr io.Writer) error {
	fs, a := newFlagSet("history", stderr)
	var raw, rollup int
	fs.IntVar(&raw, "raw-days", 0, fmt.Sprintf("keep every result this many `days` (at least %d; default %d)",
		store.MinHistoryRawDays, store.DefaultHistoryRetention.RawDays))
	fs.IntVar(&rollup, "rollup-days", 0, fmt.Sprintf("keep hourly summaries this many `days` (default %d)",
		store.DefaultHistoryRetention.RollupDays))
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	return a.withStore(func(ctx context.Context, st *store.DB) error {
		r, err := server.SetHistoryRetention(ctx, st, raw, rollup, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "raw results: %d days\nhourly summaries: %d days\n", r.RawDays, r.RollupDays)
		return nil
	})
}
