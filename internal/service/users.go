package service

import (
	"context"
	"errors"
	"fmt"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Refusals of user administration, stated in English and German.
var (
	// ErrLastAdmin refuses disabling or deleting the last active
	// administrator: nobody could administer the server any more.
	ErrLastAdmin = fmt.Errorf("the last active administrator cannot be disabled or deleted: %w", core.ErrConflict)
	// ErrSelf refuses an administrator disabling or deleting themself.
	ErrSelf = fmt.Errorf("administrators cannot disable or delete themselves: %w", core.ErrConflict)
)

// DisableUser disables a user (administrators only, not themself): their
// sign-in, sessions and API tokens stop working at once. The tokens are
// kept and work again after EnableUser.
func (s *Service) DisableUser(ctx context.Context, u core.User, id int64) error {
	return s.changeUser(ctx, u, id, "user.disable", func() error {
		return s.store.SetUserDisabled(ctx, id, true, s.now())
	})
}

// EnableUser lets a disabled user sign in again (administrators only).
func (s *Service) EnableUser(ctx context.Context, u core.User, id int64) error {
	return s.changeUser(ctx, u, id, "user.enable", func() error {
		return s.store.SetUserDisabled(ctx, id, false, s.now())
	})
}

// DeleteUser deletes a user for good (administrators only, not themself):
// e-mail, password, second factor, scope and sessions are removed and the
// API tokens revoked. The user's ID stays taken, so audit entries keep
// naming one person; the audit log itself is never changed.
func (s *Service) DeleteUser(ctx context.Context, u core.User, id int64) error {
	return s.changeUser(ctx, u, id, "user.delete", func() error {
		return s.store.DeleteUser(ctx, id, s.now())
	})
}

// changeUser authorizes and audits a change of user id's state; the
// target's e-mail goes into the audit entry.
func (s *Service) changeUser(ctx context.Context, u core.User, id int64, action string, change func() error) error {
	if err := need(u, authz.Admin); err != nil {
		return err
	}
	if id == u.ID && action != "user.enable" {
		return ErrSelf
	}
	t, err := s.store.GetUser(ctx, id)
	if err != nil {
		return fmt.Errorf("getting user %d: %w", id, err)
	}
	if err := change(); err != nil {
		if errors.Is(err, core.ErrConflict) {
			return ErrLastAdmin
		}
		return fmt.Errorf("%s %d: %w", action, id, err)
	}
	return s.record(ctx, u, action, target("user", id), t.Email, core.AuditOK)
}
