// Package service is the one place for Wacht's business rules and
// authorization: the JSON API, the dashboard and the admin command line all
// call it, so each rule exists once. Every method takes its caller (a
// core.User, or CLI for the command line), checks the caller's role and
// client scope with authz, validates, changes the store and writes the
// audit log. Transports only parse, call and render.
package service

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/codesign"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
)

// CommandTimeout bounds how long a command waits for the agent's answer.
const CommandTimeout = 60 * time.Second

// Service is what the API, the dashboard and the CLI call: it reads
// devices and check states, authorizes actions by role and client scope and
// audits them.
type Service struct {
	store core.Store
	cmd   Commander
	log   *slog.Logger
	// secrets seals network devices' secret parameters; nil refuses secrets.
	secrets *seal.Box
	// audits, if set, writes the audit entries of commands in the
	// background.
	audits *AuditQueue
	// cost hashes new passwords; the zero Cost means auth.HashPassword's.
	cost auth.Cost
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// TerminalIdle ends a terminal after this long without input (0:
	// protocol.DefaultTerminalIdle).
	TerminalIdle time.Duration
	terms        terminalCounts
	// blobs keeps uploaded package files (nil: uploads are refused).
	blobs *blobs.Store
	// dispatch, once set, sends queued script runs (ScriptDispatcher).
	dispatch atomic.Pointer[ScriptDispatcher]
	// releaseKeys verify published agent builds (issue 21).
	releaseKeys []ed25519.PublicKey
	// codesign signs published MSIs when configured.
	codesign codesign.Config
	// onlineWindow decides whether a device is online (core.OnlineWindow
	// of Deps.Heartbeat).
	onlineWindow time.Duration
}

// New returns a Service over d's store and commander.
func New(d Deps) *Service {
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: d.Store, cmd: d.Commander, log: log, secrets: d.Secrets, audits: d.Audits, cost: d.PasswordCost, blobs: d.Blobs,
		releaseKeys: d.ReleaseKeys, codesign: d.CodeSign, onlineWindow: core.OnlineWindow(d.Heartbeat)}
}

// online reports whether d was heard from within the online window before
// now.
func (s *Service) online(d core.Device, now time.Time) bool {
	return d.Online(now, s.onlineWindow)
}

// hashPassword hashes a new password at the Service's cost.
func (s *Service) hashPassword(pw string) (string, error) {
	if s.cost == (auth.Cost{}) {
		return auth.HashPassword(pw)
	}
	return s.cost.Hash(pw)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Time is the Service's clock, for transports that turn relative filters
// ("the last 24 hours") into times.
func (s *Service) Time() time.Time { return s.now() }

// ListDevices returns the devices that ctx's user may see, retired ones
// excluded, with their worst check status and online state.
func (s *Service) ListDevices(ctx context.Context) ([]Device, error) {
	u, err := Caller(ctx)
	if err != nil {
		return nil, err
	}
	return s.ListDevicesFor(ctx, u, DeviceFilter{})
}

// GetDevice returns one device (core.ErrNotFound if unknown or outside the
// scope of ctx's user).
func (s *Service) GetDevice(ctx context.Context, id int64) (Device, error) {
	u, err := Caller(ctx)
	if err != nil {
		return Device{}, err
	}
	d, err := s.device(ctx, u, id)
	if err != nil {
		return Device{}, err
	}
	return deviceFor(u, d, s.online(d, s.now())), nil
}

// CheckStates returns the current check states of a device
// (core.ErrNotFound if the device is unknown or outside the scope of ctx's
// user).
func (s *Service) CheckStates(ctx context.Context, id int64) ([]core.CheckState, error) {
	u, err := Caller(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.device(ctx, u, id); err != nil {
		return nil, err
	}
	cs, err := s.store.ListCheckStates(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("listing checks of device %d: %w", id, err)
	}
	if cs == nil {
		cs = []core.CheckState{}
	}
	return cs, nil
}

// RunChecks asks a device's agent to run all its checks now. Read-only users
// get core.ErrForbidden, an unconnected agent core.ErrOffline. Every
// authorized attempt is audited as "device.run-checks".
func (s *Service) RunChecks(ctx context.Context, u core.User, id int64) (protocol.CommandResult, error) {
	if u.ID == 0 || !authz.CanOperate(u.Role) {
		return protocol.CommandResult{}, core.ErrForbidden
	}
	d, err := s.device(ctx, u, id)
	if err != nil {
		return protocol.CommandResult{}, err
	}
	if d.State != core.DeviceActive {
		return protocol.CommandResult{}, fmt.Errorf("device %d is %s: %w", id, d.State, core.ErrConflict)
	}
	if s.cmd == nil {
		return protocol.CommandResult{}, core.ErrOffline
	}
	cctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	res, cerr := s.cmd.Command(cctx, id, protocol.Command{Name: protocol.CommandRunChecks})
	cancel()

	detail, result := "ok", core.AuditOK
	switch {
	case errors.Is(cerr, core.ErrOffline):
		detail, result = "offline", core.AuditFailed
	case cerr != nil:
		detail, result = "error: "+cerr.Error(), core.AuditFailed
	case !res.OK:
		detail, result = "agent error: "+res.Error, core.AuditFailed
	}
	// The reply need not wait for the audit chain (AuditQueue).
	if err := s.recordLater(ctx, u, "device.run-checks", target("device", id), detail, result); err != nil {
		return protocol.CommandResult{}, err
	}
	if cerr != nil {
		return protocol.CommandResult{}, fmt.Errorf("running checks on device %d: %w", id, cerr)
	}
	return res, nil
}

// Commander sends a command to a connected agent and waits for its answer.
type Commander interface {
	// Command returns core.ErrOffline when the device is not connected.
	Command(ctx context.Context, deviceID int64, cmd protocol.Command) (protocol.CommandResult, error)
}

// Deps are the Service's collaborators.
type Deps struct {
	Store     core.Store
	Commander Commander
	Log       *slog.Logger
	// Secrets seals network devices' secret parameters (nil: devices
	// with secrets cannot be saved).
	Secrets *seal.Box
	// Audits, if set, writes the audit entries of agent commands in the
	// background (nil: at once).
	Audits *AuditQueue
	// PasswordCost is the argon2id cost of new passwords' hashes; the zero
	// Cost means the server's (auth.HashPassword). Only tests set it, to
	// authtest.Cost.
	PasswordCost auth.Cost
	// Blobs keeps uploaded package files (nil: uploads are refused).
	Blobs *blobs.Store
	// ReleaseKeys are the release public keys agent builds must be signed
	// with (<data>/release.pub and wacht serve --release-key).
	ReleaseKeys []ed25519.PublicKey
	// CodeSign, if enabled, signs MSIs as they are published.
	CodeSign codesign.Config
	// Heartbeat is the interval agents send heartbeats at (wacht serve
	// --heartbeat; 0: core.DefaultHeartbeat); it sets how long a device
	// counts as online after its last contact (core.OnlineWindow).
	Heartbeat time.Duration
}

// Device is a device as the Service returns it: the stored facts plus
// whether the agent is online now.
type Device struct {
	core.Device
	Online bool `json:"online"`
}

// refusals are the errors whose reason the transports state in English and
// German.
var refusals = []struct {
	err  error
	text core.Text
}{
	{ErrTOTPRequired, core.Text{
		EN: "two-factor sign-in is mandatory on this server: set it up for your account in the dashboard before using or creating API tokens",
		DE: "die Anmeldung mit zweitem Faktor ist auf diesem Server Pflicht: richten Sie sie für Ihr Konto im Dashboard ein, bevor Sie API-Tokens verwenden oder anlegen"}},
	{ErrRemote2FA, core.Text{
		EN: "remote actions need two-factor sign-in on this server: set it up for your account in the dashboard first",
		DE: "Fernzugriffe erfordern auf diesem Server die Anmeldung mit zweitem Faktor: richten Sie sie zuerst für Ihr Konto im Dashboard ein"}},
	{ErrLastAdmin, core.Text{
		EN: "the last active administrator cannot be disabled or deleted: make another user administrator first",
		DE: "der letzte aktive Administrator kann nicht deaktiviert oder gelöscht werden: machen Sie zuerst einen anderen Benutzer zum Administrator"}},
	{ErrSelf, core.Text{
		EN: "you cannot disable or delete your own account",
		DE: "Sie können Ihr eigenes Konto nicht deaktivieren oder löschen"}},
	{ErrPackageTooLarge, core.Text{
		EN: "the file is larger than the server's upload limit (wacht serve --max-upload)",
		DE: "die Datei ist größer als die Upload-Grenze des Servers (wacht serve --max-upload)"}},
	{ErrDiskFull, core.Text{
		EN: "the server's disk is full: nothing was stored; free space in its data folder and upload again",
		DE: "der Datenträger des Servers ist voll: nichts wurde gespeichert; schaffen Sie Platz im Datenordner und laden Sie erneut hoch"}},
}

// Reason returns the English and German reason of a refusal (such as
// ErrTOTPRequired or ErrLastAdmin) or of an agent's *protocol.ActionError,
// if err is one.
func Reason(err error) (core.Text, bool) {
	for _, rf := range refusals {
		if errors.Is(err, rf.err) {
			return rf.text, true
		}
	}
	if ni := (*NoInstallerError)(nil); errors.As(err, &ni) {
		return ni.Text(), true
	}
	if bc := (*BillingConflictError)(nil); errors.As(err, &bc) {
		return bc.Text, true
	}
	// An agent's refusal or failure says why in both languages.
	if ae := (*protocol.ActionError)(nil); errors.As(err, &ae) && ae.Message.EN != "" {
		return ae.Message, true
	}
	return core.Text{}, false
}
