package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/wacht-rmm/wacht/internal/service"
)

// BlobSweepInterval is how often a node removes the files that no
// package or agent release names any more from its own blob folder.
const BlobSweepInterval = time.Hour

// sweepBlobs runs service.SweepBlobs at start and every
// BlobSweepInterval until ctx ends. It runs on every node: each has its
// folder (or shares one, which the blob store's removal allows).
func sweepBlobs(ctx context.Context, svc *service.Service, log *slog.Logger) {
	log = log.With("job", "blob-sweep")
	t := time.NewTicker(BlobSweepInterval)
	defer t.Stop()
	for {
		n, err := svc.SweepBlobs(ctx)
		if err != nil && ctx.Err() == nil {
			log.Error("removing unused files", "err", err)
		}
		if n > 0 {
			log.Info("unused files removed", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
