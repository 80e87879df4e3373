package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// maxViewQuery bounds a saved view's query string; a URL the dashboard
// builds from its filters stays far below it.
const maxViewQuery = 2000

// SavedViews returns u's saved device list views by name.
func (s *Service) SavedViews(ctx context.Context, u core.User) ([]core.SavedView, error) {
	if err := need(u, authz.Read); err != nil {
		return nil, err
	}
	vs, err := s.store.ListSavedViews(ctx, u.ID)
	if err != nil {
		return nil, fmt.Errorf("listing saved views: %w", err)
	}
	return vs, nil
}

// SaveView saves a device list query under a name for u, audited. Every
// role may keep views: they only remember what u may already see (the
// list applies u's scope when the view is opened).
func (s *Service) SaveView(ctx context.Context, u core.User, name, query string) (core.SavedView, error) {
	if err := need(u, authz.Read); err != nil {
		return core.SavedView{}, err
	}
	var fs []policy.FieldError
	name, fe := policy.CleanName("name", name, policy.MaxLabelLen)
	if fe != nil {
		fs = append(fs, *fe)
	}
	if len(query) > maxViewQuery {
		fs = append(fs, fieldErr("query", fmt.Sprintf("longer than %d bytes", maxViewQuery),
			fmt.Sprintf("länger als %d Bytes", maxViewQuery)))
	}
	if err := validation(fs); err != nil {
		return core.SavedView{}, err
	}
	v := core.SavedView{UserID: u.ID, Name: name, Query: query, CreatedAt: s.now()}
	if err := s.store.CreateSavedView(ctx, &v); errors.Is(err, core.ErrConflict) {
		return v, fieldError("name", "you already have a view of this name", "Sie haben schon eine Ansicht dieses Namens")
	} else if err != nil {
		return v, fmt.Errorf("saving view: %w", err)
	}
	return v, s.record(ctx, u, "view.create", target("view", v.ID), name+": "+query, core.AuditOK)
}

// DeleteView deletes one of u's saved views, audited; another user's view
// is ErrNotFound.
func (s *Service) DeleteView(ctx context.Context, u core.User, id int64) error {
	if err := need(u, authz.Read); err != nil {
		return err
	}
	if err := s.store.DeleteSavedView(ctx, u.ID, id); err != nil {
		return fmt.Errorf("deleting view %d: %w", id, err)
	}
	return s.record(ctx, u, "view.delete", target("view", id), "user "+strconv.FormatInt(u.ID, 10), core.AuditOK)
}
