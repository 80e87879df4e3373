package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/store"
)

// History limits: without ?since= the last DefaultHistoryWindow is listed,
// at most MaxHistoryLimit rows (DefaultHistoryLimit without ?limit=).
const (
	DefaultHistoryWindow = 24 * time.Hour
	DefaultHistoryLimit  = 1000
	MaxHistoryLimit      = 5000
)

// History is one check instance's results, newest first.
type History struct {
	DeviceID int64         `json:"device_id"`
	Check    string        `json:"check"`
	Key      string        `json:"key"`
	Since    time.Time     `json:"since"`
	Until    *time.Time    `json:"until,omitempty"` // exclusive; nil: up to now
	Limit    int           `json:"limit"`
	Results  []core.Result `json:"results"`
}

// CheckHistory returns the results of check (instance key) of device id at
// or after since and before until (zero: no bound), newest first, at most
// limit (1..MaxHistoryLimit) rows. A
// device unknown or outside the scope of ctx's user is core.ErrNotFound; an
// unknown check is an empty history.
func (s *Service) CheckHistory(ctx context.Context, id int64, check, key string, since, until time.Time, limit int) (History, error) {
	u, err := Caller(ctx)
	if err != nil {
		return History{}, err
	}
	if check == "" || limit < 1 || limit > MaxHistoryLimit {
		return History{}, fmt.Errorf("history of %q limit %d: %w", check, limit, core.ErrInvalid)
	}
	if _, err := s.device(ctx, u, id); err != nil {
		return History{}, err
	}
	rs, err := s.store.ListCheckHistory(ctx, id, check, key, since, until, limit)
	if err != nil {
		return History{}, fmt.Errorf("listing history of %s/%s on device %d: %w", check, key, id, err)
	}
	if rs == nil {
		rs = []core.Result{}
	}
	h := History{DeviceID: id, Check: check, Key: key, Since: since.UTC(), Limit: limit, Results: rs}
	if !until.IsZero() {
		u := until.UTC()
		h.Until = &u
	}
	return h, nil
}

// retentionStore keeps the history retention settings (store.DB does).
type retentionStore interface {
	HistoryRetention(ctx context.Context) (store.HistoryRetention, error)
	SetHistoryRetention(ctx context.Context, r store.HistoryRetention) error
}

// SetHistoryRetention changes the days of raw history and of hourly
// rollups that are kept (0: unchanged; both 0 only reads), administrators
// only, audited as settings.history-retention, and returns the retention
// in force. The servers apply it at their next hourly run.
func (s *Service) SetHistoryRetention(ctx context.Context, u core.User, rawDays, rollupDays int) (store.HistoryRetention, error) {
	if err := need(u, authz.Admin); err != nil {
		return store.HistoryRetention{}, err
	}
	rs, ok := s.store.(retentionStore)
	if !ok {
		return store.HistoryRetention{}, errors.New("this store keeps no history retention")
	}
	r, err := rs.HistoryRetention(ctx)
	if err != nil || (rawDays == 0 && rollupDays == 0) {
		return r, err
	}
	if rawDays != 0 {
		r.RawDays = rawDays
	}
	if rollupDays != 0 {
		r.RollupDays = rollupDays
	}
	if err := rs.SetHistoryRetention(ctx, r); err != nil {
		return r, err
	}
	return r, s.record(ctx, u, "settings.history-retention", "settings",
		fmt.Sprintf("raw_days=%d rollup_days=%d", r.RawDays, r.RollupDays), core.AuditOK)
}
