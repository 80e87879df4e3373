package service

import (
	"context"
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// RecordRestore audits, in the restored database, that u (the CLI, `wacht
// restore`) restored the data folder from the archive, which a wacht of
// version wrote at createdAt. Administrators only.
func (s *Service) RecordRestore(ctx context.Context, u core.User, archive, version string, createdAt time.Time) error {
	if u.Role != core.RoleAdmin {
		return fmt.Errorf("recording a restore: %w", core.ErrForbidden)
	}
	detail := fmt.Sprintf("created_at=%s version=%s", createdAt.UTC().Format(time.RFC3339), version)
	return s.record(ctx, u, "backup.restore", archive, detail, core.AuditOK)
}
