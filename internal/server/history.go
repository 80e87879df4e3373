package server

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
)

// HistoryInterval is how often history retention runs.
const HistoryInterval = time.Hour

// maintainHistory applies history retention (and creates PostgreSQL
// partitions ahead) and the terminal recordings' retention at start and
// every HistoryInterval until ctx ends, on one node of a cluster at a time.
func maintainHistory(ctx context.Context, st *store.DB, log *slog.Logger) {
	log = log.With("job", "history")
	t := time.NewTicker(HistoryInterval)
	defer t.Stop()
	for {
		ran, err := st.TrySingleton(ctx, "retention", func(ctx context.Context) error {
			rep, err := st.MaintainHistory(ctx, time.Now())
			if rep != (store.HistoryReport{}) {
				log.Info("history maintained", "rolled_up", rep.RolledUp, "partitions_created", rep.PartitionsCreated,
					"partitions_dropped", rep.PartitionsDropped, "rollups_deleted", rep.RollupsDeleted)
			}
			// Terminal recordings past their retention (issue 15).
			n, rerr := service.PruneRecordings(ctx, st, time.Now())
			if n > 0 {
				log.Info("terminal recordings deleted", "count", n)
			}
			return errors.Join(err, rerr)
		})
		if err != nil && ctx.Err() == nil {
			log.Error("history retention", "err", err)
		} else if !ran {
			log.Debug("history retention runs on another node")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
