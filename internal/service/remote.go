package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/gateway"
)

// Remote management: the command line, terminal, processes, services and
// files of a device. Every such call goes through remoteTarget (who may,
// which device, the device's local lock) and auditRemote, and reaches the
// agent only as a signed action or stream (gateway.Hub), which the agent
// verifies against the action key it pinned at enrollment.

// Remote sends signed actions and opens signed streams to connected agents
// (gateway.Hub implements it). The Service finds it on its Commander.
type Remote interface {
	// Do runs an action and decodes its reply; a refusal or failure is a
	// *protocol.ActionError, an unconnected agent core.ErrOffline.
	Do(ctx context.Context, deviceID int64, typ string, args, reply any) error
	// OpenStream opens a stream (terminal, file transfer); ctx bounds only
	// the opening.
	OpenStream(ctx context.Context, deviceID int64, typ string, args any) (*gateway.Stream, error)
	// Disabled returns the features the device's owner locked locally
	// (wacht-agent install --disable), as its agent reported them when it
	// connected to this node.
	Disabled(deviceID int64) (locks []string, connected bool)
}

// Settings of remote management.
const (
	// SettingRemote2FA ("true"/"false") demands a second factor of whoever
	// acts remotely.
	SettingRemote2FA = "remote_requires_2fa"
	// SettingRecordingDays is how many days terminal recordings are kept.
	SettingRecordingDays = "remote_recording_days"
	// DefaultRecordingDays keeps terminal recordings for 90 days.
	DefaultRecordingDays = 90
)

// ErrRemote2FA refuses a remote action of a user without a second factor
// while the administrators demand one for remote actions.
var ErrRemote2FA = fmt.Errorf("two-factor sign-in is required for remote actions: %w", core.ErrForbidden)

// RemoteSettings are the administrators' rules for remote management.
type RemoteSettings struct {
	// Require2FA: only users with two-factor sign-in may act remotely.
	Require2FA bool `json:"require_2fa"`
	// RecordingDays: terminal recordings older than this are deleted.
	RecordingDays int `json:"recording_retention_days"`
}

// RemoteSettings returns the remote-management settings (administrators).
func (s *Service) RemoteSettings(ctx context.Context, u core.User) (RemoteSettings, error) {
	if err := need(u, authz.Admin); err != nil {
		return RemoteSettings{}, err
	}
	return s.remoteSettings(ctx)
}

func (s *Service) remoteSettings(ctx context.Context) (RemoteSettings, error) {
	rs := RemoteSettings{RecordingDays: DefaultRecordingDays}
	v, err := s.store.GetSetting(ctx, SettingRemote2FA)
	switch {
	case err == nil:
		rs.Require2FA = v == "true"
	case !errors.Is(err, core.ErrNotFound):
		return rs, fmt.Errorf("reading remote 2FA setting: %w", err)
	}
	v, err = s.store.GetSetting(ctx, SettingRecordingDays)
	switch {
	case err == nil:
		if n, perr := strconv.Atoi(v); perr == nil && n > 0 {
			rs.RecordingDays = n
		}
	case !errors.Is(err, core.ErrNotFound):
		return rs, fmt.Errorf("reading recording retention: %w", err)
	}
	return rs, nil
}

// SetRemoteSettings changes the remote-management settings
// (administrators; audited as "settings.remote").
func (s *Service) SetRemoteSettings(ctx context.Context, u core.User, rs RemoteSettings) error {
	if err := need(u, authz.Admin); err != nil {
		return err
	}
	if rs.RecordingDays < 1 || rs.RecordingDays > 3650 {
		return &policy.ValidationError{Fields: []policy.FieldError{{Field: "recording_retention_days",
			Message: core.Text{EN: "keep recordings between 1 and 3650 days", DE: "Aufzeichnungen zwischen 1 und 3650 Tagen aufbewahren"}}}}
	}
	if err := s.store.SetSetting(ctx, SettingRemote2FA, strconv.FormatBool(rs.Require2FA)); err != nil {
		return fmt.Errorf("saving remote 2FA setting: %w", err)
	}
	if err := s.store.SetSetting(ctx, SettingRecordingDays, strconv.Itoa(rs.RecordingDays)); err != nil {
		return fmt.Errorf("saving recording retention: %w", err)
	}
	detail := fmt.Sprintf("require_2fa=%t recording_retention_days=%d", rs.Require2FA, rs.RecordingDays)
	return s.record(ctx, u, "settings.remote", "settings", detail, core.AuditOK)
}

// remoteTarget authorizes u's remote action on device id, which the
// agent's local lock lock governs (protocol.LockExec…): the Remote
// permission, the device in u's scope (else core.ErrNotFound) and active,
// a second factor if the settings demand one, and the feature not locked
// on the device. It returns the Remote to send the action with.
func (s *Service) remoteTarget(ctx context.Context, u core.User, id int64, lock string) (core.Device, Remote, error) {
	if err := need(u, authz.Remote); err != nil {
		return core.Device{}, nil, err
	}
	d, err := s.device(ctx, u, id)
	if err != nil {
		return core.Device{}, nil, err
	}
	if d.State != core.DeviceActive {
		return core.Device{}, nil, fmt.Errorf("device %d is %s: %w", id, d.State, core.ErrConflict)
	}
	rs, err := s.remoteSettings(ctx)
	if err != nil {
		return core.Device{}, nil, err // fail closed
	}
	if rs.Require2FA && !u.HasSecondFactor() && u.ID != cliID {
		return core.Device{}, nil, ErrRemote2FA
	}
	r, ok := s.cmd.(Remote)
	if !ok {
		return core.Device{}, nil, fmt.Errorf("device %d: %w", id, core.ErrOffline)
	}
	// The agent refuses a locked feature itself; asking first spares the
	// round trip and answers the same way.
	if locks, _ := r.Disabled(id); slices.Contains(locks, lock) {
		return core.Device{}, nil, LockedError(lock)
	}
	return d, r, nil
}

// LockedError is the refusal of a feature that the device's owner disabled
// locally (wacht-agent install --disable), as the agent words it.
func LockedError(lock string) error {
	return &protocol.ActionError{Code: protocol.CodeDisabledLocally, Message: core.Text{
		EN: fmt.Sprintf("%s is disabled on this device (wacht-agent --disable); only someone at the device can enable it", lock),
		DE: fmt.Sprintf("%s ist auf diesem Gerät gesperrt (wacht-agent --disable); nur jemand am Gerät kann es freigeben", lock),
	}}
}

// auditRemote records u's remote action on device id with its outcome:
// what was done (detail: the command, path, PID…) and, for a failure, why.
func (s *Service) auditRemote(ctx context.Context, u core.User, action string, id int64, detail string, err error) error {
	result := core.AuditOK
	if err != nil {
		result = core.AuditFailed
		var ae *protocol.ActionError
		switch {
		case errors.As(err, &ae):
			detail += " → " + ae.Code + ": " + ae.Message.EN
		case errors.Is(err, core.ErrOffline):
			detail += " → offline"
		default:
			detail += " → error: " + err.Error()
		}
	}
	return s.record(ctx, u, action, target("device", id), detail, result)
}
