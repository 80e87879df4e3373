package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// Limits of a time entry.
const (
	MaxTimeMinutes  = 24 * 60
	MaxTimeNoteRune = 1000
)

// cleanTimeFields checks e's minutes (unless running) and note.
func cleanTimeFields(e *core.TimeEntry, fs *[]policy.FieldError) {
	if e.Running {
		e.Minutes = 0
	} else if e.Minutes < 1 || e.Minutes > MaxTimeMinutes {
		*fs = append(*fs, fieldErr("minutes", fmt.Sprintf("must be 1–%d (or start a running entry)", MaxTimeMinutes),
			fmt.Sprintf("muss 1–%d sein (oder starten Sie eine laufende Zeiterfassung)", MaxTimeMinutes)))
	}
	e.Note = strings.TrimSpace(strings.ReplaceAll(e.Note, "\r\n", "\n"))
	if !utf8.ValidString(e.Note) || utf8.RuneCountInString(e.Note) > MaxTimeNoteRune {
		*fs = append(*fs, fieldErr("note", fmt.Sprintf("must be text of at most %d characters", MaxTimeNoteRune),
			fmt.Sprintf("muss Text von höchstens %d Zeichen sein", MaxTimeNoteRune)))
	}
}

func (s *Service) recordTime(ctx context.Context, u core.User, e core.TimeEntry) (core.TimeEntry, error) {
	if err := need(u, authz.Operate); err != nil {
		return core.TimeEntry{}, err
	}
	if e.ClientID <= 0 {
		return core.TimeEntry{}, invalid("client_id", "is required", "ist erforderlich")
	}
	c, err := s.GetClient(ctx, u, e.ClientID)
	if err != nil {
		return core.TimeEntry{}, err
	}
	var fs []policy.FieldError
	cleanTimeFields(&e, &fs)
	now := s.now().UTC().Truncate(time.Second)
	if e.StartedAt.IsZero() {
		e.StartedAt = now
	} else if e.StartedAt.After(now.Add(time.Minute)) {
		fs = append(fs, fieldErr("started_at", "must not lie in the future", "darf nicht in der Zukunft liegen"))
	}
	if e.OutageID != 0 {
		if err := s.outageOfClient(ctx, e.OutageID, e.ClientID); err != nil {
			fs = append(fs, *err)
		}
	}
	if e.SupportID != 0 {
		r, err := s.store.GetSupportRequest(ctx, e.SupportID)
		if err != nil && !errors.Is(err, core.ErrNotFound) {
			return core.TimeEntry{}, fmt.Errorf("getting support request %d: %w", e.SupportID, err)
		}
		if err != nil || r.ClientID != e.ClientID {
			fs = append(fs, fieldErr("support_request_id", fmt.Sprintf("support request %d is not one of this customer's", e.SupportID),
				fmt.Sprintf("die Supportanfrage %d gehört nicht zu diesem Kunden", e.SupportID)))
		}
	}
	if err := validation(fs); err != nil {
		return core.TimeEntry{}, err
	}
	e.ID, e.BilledRunID, e.User, e.ClientName = 0, 0, u.Email, c.Name
	e.StartedAt = e.StartedAt.UTC()
	if err := s.store.CreateTimeEntry(ctx, &e); err != nil {
		return core.TimeEntry{}, fmt.Errorf("storing a time entry of client %d: %w", e.ClientID, err)
	}
	if err := s.record(ctx, u, "time.record", target("time-entry", e.ID), timeDetail(e), core.AuditOK); err != nil {
		return core.TimeEntry{}, err
	}
	return e, nil
}

// outageOfClient refuses an outage that is not one of clientID's devices'.
func (s *Service) outageOfClient(ctx context.Context, outageID, clientID int64) *policy.FieldError {
	fe := fieldErr("outage_id", fmt.Sprintf("outage %d is not one of this customer's", outageID),
		fmt.Sprintf("der Ausfall %d gehört nicht zu diesem Kunden", outageID))
	o, err := s.store.GetOutage(ctx, outageID)
	if err != nil {
		return &fe
	}
	owner := o.ClientID
	if owner == 0 {
		d, err := s.store.GetDevice(ctx, o.DeviceID)
		if err != nil {
			return &fe
		}
		owner = d.ClientID
	}
	if owner != clientID {
		return &fe
	}
	return nil
}

func timeDetail(e core.TimeEntry) string {
	return fmt.Sprintf("client=%d outage=%d support_request=%d started_at=%s minutes=%d running=%t billable=%t note=%q",
		e.ClientID, e.OutageID, e.SupportID, e.StartedAt.UTC().Format(time.RFC3339), e.Minutes, e.Running, e.Billable, e.Note)
}

// timeEntry returns an entry in u's scope for a change (Operate).
func (s *Service) timeEntry(ctx context.Context, u core.User, id int64) (core.TimeEntry, error) {
	if err := need(u, authz.Operate); err != nil {
		return core.TimeEntry{}, err
	}
	e, err := s.store.GetTimeEntry(ctx, id)
	if err != nil {
		return core.TimeEntry{}, fmt.Errorf("getting time entry %d: %w", id, err)
	}
	if !authz.CanSeeClient(u, e.ClientID) {
		return core.TimeEntry{}, fmt.Errorf("time entry %d: %w", id, core.ErrNotFound)
	}
	return e, nil
}

func billedError(e core.TimeEntry) error {
	return billingConflict("id", fmt.Sprintf("time entry %d was billed by the finalized run %d and cannot change: correct that run instead", e.ID, e.BilledRunID),
		fmt.Sprintf("die Zeiterfassung %d wurde mit der abgeschlossenen Abrechnung %d abgerechnet und kann nicht mehr geändert werden: korrigieren Sie stattdessen jene Abrechnung", e.ID, e.BilledRunID))
}

// storeChange maps the store's refusal of a billed entry.
func storeChange(e core.TimeEntry, err error, what string) error {
	if errors.Is(err, core.ErrConflict) {
		return billingConflict("id", fmt.Sprintf("time entry %d was billed by a finalized run and cannot change", e.ID),
			fmt.Sprintf("die Zeiterfassung %d wurde abgerechnet und kann nicht mehr geändert werden", e.ID))
	}
	return fmt.Errorf("%s time entry %d: %w", what, e.ID, err)
}

func (s *Service) stopTime(ctx context.Context, u core.User, id int64) (core.TimeEntry, error) {
	e, err := s.timeEntry(ctx, u, id)
	if err != nil {
		return core.TimeEntry{}, err
	}
	if e.BilledRunID != 0 {
		return core.TimeEntry{}, billedError(e)
	}
	if !e.Running {
		return core.TimeEntry{}, billingConflict("running", fmt.Sprintf("time entry %d is not running", id),
			fmt.Sprintf("die Zeiterfassung %d läuft nicht", id))
	}
	d := s.now().Sub(e.StartedAt)
	m := int((d + time.Minute - 1) / time.Minute)
	e.Minutes, e.Running = min(max(m, 1), MaxTimeMinutes), false
	if err := s.store.UpdateTimeEntry(ctx, &e); err != nil {
		return core.TimeEntry{}, storeChange(e, err, "stopping")
	}
	if err := s.record(ctx, u, "time.stop", target("time-entry", e.ID), timeDetail(e), core.AuditOK); err != nil {
		return core.TimeEntry{}, err
	}
	return e, nil
}

func (s *Service) updateTimeEntry(ctx context.Context, u core.User, e core.TimeEntry) (core.TimeEntry, error) {
	old, err := s.timeEntry(ctx, u, e.ID)
	if err != nil {
		return core.TimeEntry{}, err
	}
	if old.BilledRunID != 0 {
		return core.TimeEntry{}, billedError(old)
	}
	var fs []policy.FieldError
	next := old
	next.Minutes, next.Note, next.Billable = e.Minutes, e.Note, e.Billable
	cleanTimeFields(&next, &fs)
	if err := validation(fs); err != nil {
		return core.TimeEntry{}, err
	}
	if err := s.store.UpdateTimeEntry(ctx, &next); err != nil {
		return core.TimeEntry{}, storeChange(next, err, "updating")
	}
	if err := s.record(ctx, u, "time.update", target("time-entry", next.ID), timeDetail(next), core.AuditOK); err != nil {
		return core.TimeEntry{}, err
	}
	return next, nil
}

func (s *Service) deleteTimeEntry(ctx context.Context, u core.User, id int64) error {
	e, err := s.timeEntry(ctx, u, id)
	if err != nil {
		return err
	}
	if e.BilledRunID != 0 {
		return billedError(e)
	}
	if err := s.store.DeleteTimeEntry(ctx, id); err != nil {
		return storeChange(e, err, "deleting")
	}
	return s.record(ctx, u, "time.delete", target("time-entry", id), timeDetail(e), core.AuditOK)
}

// maxTimeList bounds a list of time entries.
const maxTimeList = 5000

func (s *Service) timeEntries(ctx context.Context, u core.User, q core.TimeQuery) ([]core.TimeEntry, error) {
	// Time entries are internal: technicians and administrators only.
	if err := need(u, authz.Operate); err != nil {
		return nil, err
	}
	if q.ClientID != 0 && !authz.CanSeeClient(u, q.ClientID) {
		return nil, fmt.Errorf("client %d: %w", q.ClientID, core.ErrNotFound)
	}
	if q.Limit <= 0 || q.Limit > maxTimeList {
		q.Limit = maxTimeList
	}
	q.Scope = u.Scope
	es, err := s.store.ListTimeEntries(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("listing time entries: %w", err)
	}
	return es, nil
}
