package service

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// MaintenanceWindow is a window with whether it is active now.
type MaintenanceWindow struct {
	core.Maintenance
	Active bool `json:"active"`
}

func (s *Service) window(m core.Maintenance) MaintenanceWindow {
	return MaintenanceWindow{Maintenance: m, Active: m.ActiveAt(s.now())}
}

// ListMaintenance returns the windows u may see that f selects; a client,
// site or device outside u's scope is ErrNotFound.
func (s *Service) ListMaintenance(ctx context.Context, u core.User, f core.MaintenanceFilter) ([]MaintenanceWindow, error) {
	if err := need(u, authz.Read); err != nil {
		return nil, err
	}
	if f.ClientID != 0 && !authz.CanSeeClient(u, f.ClientID) {
		return nil, fmt.Errorf("client %d: %w", f.ClientID, core.ErrNotFound)
	}
	if f.SiteID != 0 {
		if _, err := s.site(ctx, u, f.SiteID); err != nil {
			return nil, err
		}
	}
	if f.DeviceID != 0 {
		if _, err := s.device(ctx, u, f.DeviceID); err != nil {
			return nil, err
		}
	}
	ms, err := s.store.ListMaintenance(ctx, f)
	if err != nil {
		return nil, err
	}
	out := []MaintenanceWindow{}
	for _, m := range ms {
		if authz.CanSeeClient(u, m.ClientID) {
			out = append(out, s.window(m))
		}
	}
	return out, nil
}

// GetMaintenance returns one window u may see, or ErrNotFound.
func (s *Service) GetMaintenance(ctx context.Context, u core.User, id int64) (MaintenanceWindow, error) {
	if err := need(u, authz.Read); err != nil {
		return MaintenanceWindow{}, err
	}
	m, err := s.store.GetMaintenance(ctx, id)
	if err != nil {
		return MaintenanceWindow{}, err
	}
	if !authz.CanSeeClient(u, m.ClientID) {
		return MaintenanceWindow{}, fmt.Errorf("maintenance %d: %w", id, core.ErrNotFound)
	}
	return s.window(m), nil
}

// SaveMaintenance creates (id 0) or replaces a window, audited. The target
// must be a client, site or device u may see (else ErrNotFound); invalid
// fields are a *policy.ValidationError naming each.
func (s *Service) SaveMaintenance(ctx context.Context, u core.User, id int64, in core.Maintenance) (MaintenanceWindow, error) {
	if err := need(u, authz.Operate); err != nil {
		return MaintenanceWindow{}, err
	}
	var old MaintenanceWindow
	if id != 0 {
		var err error
		if old, err = s.GetMaintenance(ctx, u, id); err != nil {
			return MaintenanceWindow{}, err
		}
	}
	m, err := s.validMaintenance(in)
	if err != nil {
		return MaintenanceWindow{}, err
	}
	switch m.Scope {
	case core.LevelClient:
		if !authz.CanSeeClient(u, m.TargetID) {
			return MaintenanceWindow{}, fmt.Errorf("client %d: %w", m.TargetID, core.ErrNotFound)
		}
		_, err = s.store.GetClient(ctx, m.TargetID)
	case core.LevelSite:
		_, err = s.site(ctx, u, m.TargetID)
	case core.LevelDevice:
		_, err = s.device(ctx, u, m.TargetID)
	}
	if err != nil {
		return MaintenanceWindow{}, err
	}
	action := "maintenance.create"
	if id == 0 {
		m.CreatedBy = Actor(u)
		err = s.store.CreateMaintenance(ctx, &m)
	} else {
		action = "maintenance.update"
		m.ID, m.CreatedBy, m.CreatedAt = id, old.CreatedBy, old.CreatedAt
		err = s.store.UpdateMaintenance(ctx, &m)
	}
	if err != nil {
		return MaintenanceWindow{}, err
	}
	detail := m.Scope + ":" + strconv.FormatInt(m.TargetID, 10) + " " + m.Title
	if err := s.record(ctx, u, action, target("maintenance", m.ID), detail, ""); err != nil {
		return MaintenanceWindow{}, err
	}
	s.pushPolicies() // patch policies carry the coming windows (issue 19)
	return s.GetMaintenance(ctx, u, m.ID)
}

// DeleteMaintenance removes a window u may see, audited.
func (s *Service) DeleteMaintenance(ctx context.Context, u core.User, id int64) error {
	if err := need(u, authz.Operate); err != nil {
		return err
	}
	m, err := s.GetMaintenance(ctx, u, id)
	if err != nil {
		return err
	}
	if err := s.store.DeleteMaintenance(ctx, id); err != nil {
		return err
	}
	if err := s.record(ctx, u, "maintenance.delete", target("maintenance", id), m.Scope+":"+strconv.FormatInt(m.TargetID, 10)+" "+m.Title, ""); err != nil {
		return err
	}
	s.pushPolicies() // patch policies carry the coming windows (issue 19)
	return nil
}

// validMaintenance checks a window's fields, fills defaults (time zone
// Europe/Berlin; a recurrence starts now) and drops the fields its
// recurrence does not use.
func (s *Service) validMaintenance(m core.Maintenance) (core.Maintenance, error) {
	var fs []policy.FieldError
	bad := func(field, en, de string) { fs = append(fs, fieldErr(field, en, de)) }
	out := core.Maintenance{Scope: m.Scope, TargetID: m.TargetID, Title: strings.TrimSpace(m.Title), Repeat: m.Repeat,
		Start: m.Start.UTC(), TimeZone: m.TimeZone}
	switch m.Scope {
	case core.LevelClient, core.LevelSite, core.LevelDevice:
		if m.TargetID <= 0 {
			bad("target_id", "must name the client, site or device", "muss den Kunden, Standort oder das Gerät angeben")
		}
	default:
		bad("scope", "must be client, site or device", "muss client, site oder device sein")
	}
	var fe *policy.FieldError
	if out.Title, fe = policy.CleanName("title", out.Title, policy.MaxLabelLen); fe != nil {
		fs = append(fs, *fe)
	}
	if out.TimeZone == "" {
		out.TimeZone = core.DefaultMaintenanceZone
	}
	if _, err := core.LoadZone(out.TimeZone); err != nil {
		bad("timezone", "unknown time zone", "unbekannte Zeitzone")
	}
	if m.Repeat == core.RepeatOnce {
		switch {
		case m.Start.IsZero():
			bad("start", "a one-off window needs a start", "ein einmaliges Fenster braucht einen Beginn")
		case m.End == nil:
			bad("end", "a one-off window needs an end", "ein einmaliges Fenster braucht ein Ende")
		case !m.End.After(m.Start):
			bad("end", "must lie after the start", "muss nach dem Beginn liegen")
		default:
			end := m.End.UTC()
			out.End = &end
		}
		return out, validation(fs)
	}
	if out.Start.IsZero() {
		out.Start = s.now().UTC().Truncate(time.Millisecond)
	}
	out.From, out.To = m.From, m.To
	if _, err := core.ParseHM(m.From); err != nil {
		bad("from", "must be a time HH:MM", "muss eine Uhrzeit HH:MM sein")
	}
	if _, err := core.ParseHM(m.To); err != nil {
		bad("to", "must be a time HH:MM", "muss eine Uhrzeit HH:MM sein")
	}
	if m.Until != nil {
		if !m.Until.After(out.Start) {
			bad("until", "must lie after the start", "muss nach dem Beginn liegen")
		}
		until := m.Until.UTC()
		out.Until = &until
	}
	switch m.Repeat {
	case core.RepeatDaily:
	case core.RepeatWeekly:
		seen := map[int]bool{}
		for _, d := range m.Weekdays {
			if d < 0 || d > 6 {
				bad("weekdays", "days are 0 (Sunday) … 6 (Saturday)", "Tage sind 0 (Sonntag) … 6 (Samstag)")
				break
			}
			if !seen[d] {
				seen[d] = true
				out.Weekdays = append(out.Weekdays, d)
			}
		}
		if len(m.Weekdays) == 0 {
			bad("weekdays", "choose at least one day", "mindestens einen Tag wählen")
		}
	case core.RepeatMonthly:
		if m.MonthDay < 1 || m.MonthDay > 31 {
			bad("month_day", "must be 1–31 (31: the last day of every month)", "muss 1–31 sein (31: der letzte Tag jedes Monats)")
		}
		out.MonthDay = m.MonthDay
	default:
		bad("repeat", `must be "", daily, weekly or monthly`, `muss "", daily, weekly oder monthly sein`)
	}
	return out, validation(fs)
}

// validation is nil for no field errors, else a *policy.ValidationError.
func validation(fs []policy.FieldError) error {
	if len(fs) == 0 {
		return nil
	}
	return &policy.ValidationError{Fields: fs}
}
