package server

import (
	"context"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/service"
)

// RecordRestore audits in the restored store that `wacht restore` restored
// it from the archive, which wacht version wrote at createdAt.
func RecordRestore(ctx context.Context, st core.Store, archive, version string, createdAt, now time.Time) error {
	return cliService(st, now).RecordRestore(ctx, service.CLI, archive, version, createdAt)
}
