package service

import (
	"context"
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// RecordActionKeyRotation audits a rotation of the action key by u (the
// CLI, `wacht actionkey rotate`): the key files never enter the database,
// so the command rotates them and the service records it. Fingerprints are
// those of the public keys (actionkey.Fingerprint). Administrators only.
func (s *Service) RecordActionKeyRotation(ctx context.Context, u core.User, oldFP, newFP string, graceUntil time.Time) error {
	if u.Role != core.RoleAdmin {
		return fmt.Errorf("recording an action key rotation: %w", core.ErrForbidden)
	}
	detail := fmt.Sprintf("old=%.16s new=%.16s grace_until=%s", oldFP, newFP, graceUntil.UTC().Format(time.RFC3339))
	return s.record(ctx, u, "actionkey.rotate", "action.key", detail, core.AuditOK)
}

// DevicesNotOnActionKey lists the active devices whose agents have not
// confirmed the action key with fingerprint fp (`wacht actionkey status`).
// Administrators of every client only: the key is the whole server's.
func (s *Service) DevicesNotOnActionKey(ctx context.Context, u core.User, fp string) ([]core.DeviceActionKey, error) {
	if u.Role != core.RoleAdmin || u.Scope.Restricted {
		return nil, fmt.Errorf("listing the action key's devices: %w", core.ErrForbidden)
	}
	return s.store.DevicesNotOnActionKey(ctx, fp)
}
