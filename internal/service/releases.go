package service

import (
	"cmp"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/release"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
	"github.com/wacht-rmm/wacht/internal/vercmp"
)

// Agent releases (issue 21): release files published to the server,
// rollouts that update agents ring by ring, and the fleet's versions.
// Publishing, rollouts and the fleet view are administrators' work; any
// signed-in user may list and download installers.

// Refusals of releases and rollouts, stated in English and German.
var (
	ErrAgentFileExists = fmt.Errorf("a file of this kind, version, OS and architecture is published already: %w", core.ErrConflict)
	ErrRolloutActive   = fmt.Errorf("another rollout is running or paused: %w", core.ErrConflict)
	ErrRolloutState    = fmt.Errorf("the rollout is not in a state that allows this: %w", core.ErrConflict)
	ErrAgentFileInUse  = fmt.Errorf("a running or paused rollout uses this version: %w", core.ErrConflict)
)

func init() {
	refusals = append(refusals,
		struct {
			err  error
			text core.Text
		}{ErrAgentFileExists, core.Text{
			EN: "a file of this kind, version, OS and architecture is published already: delete it first to replace it",
			DE: "eine Datei dieser Art, Version, dieses Betriebssystems und dieser Architektur ist bereits veröffentlicht: löschen Sie sie zuerst, um sie zu ersetzen"}},
		struct {
			err  error
			text core.Text
		}{ErrRolloutActive, core.Text{
			EN: "another rollout is running or paused: finish or cancel it first",
			DE: "ein anderer Rollout läuft oder ist pausiert: schließen Sie ihn zuerst ab oder brechen Sie ihn ab"}},
		struct {
			err  error
			text core.Text
		}{ErrRolloutState, core.Text{
			EN: "the rollout's state does not allow this action",
			DE: "der Zustand des Rollouts erlaubt diese Aktion nicht"}},
		struct {
			err  error
			text core.Text
		}{ErrAgentFileInUse, core.Text{
			EN: "a running or paused rollout uses this version: cancel it first",
			DE: "ein laufender oder pausierter Rollout verwendet diese Version: brechen Sie ihn zuerst ab"}},
	)
}

// PublishAgentFile verifies signed against the server's release keys and
// the file's bytes against the manifest (and, for a binary, its
// executable header against the manifest's OS and architecture), stores
// the bytes as a blob (an MSI signed with the server's code-signing
// certificate first, if one is configured) and records the file; audited.
//
// For an MSI signed here the stored blob is the signed MSI: the file's
// SHA256 and Size are then the served bytes', while Signed stays the
// manifest as uploaded (over the unsigned MSI).
func (s *Service) PublishAgentFile(ctx context.Context, u core.User, signed release.Signed, body io.Reader) (core.AgentFile, error) {
	if err := need(u, authz.Admin); err != nil {
		return core.AgentFile{}, err
	}
	if s.blobs == nil {
		return core.AgentFile{}, errors.New("releases: the server has no blob store")
	}
	m := signed.Manifest
	if err := signed.Verify(s.releaseKeys); err != nil {
		en, de := "the signed manifest does not verify with the server's release keys: "+err.Error(),
			"das signierte Manifest lässt sich mit den Release-Schlüsseln des Servers nicht prüfen: "+err.Error()
		if errors.Is(err, release.ErrNoKey) {
			en, de = "the server trusts no release key: place the public key in <data>/release.pub or start it with --release-key",
				"der Server vertraut keinem Release-Schlüssel: legen Sie den öffentlichen Schlüssel in <data>/release.pub ab oder starten Sie ihn mit --release-key"
		}
		return core.AgentFile{}, invalid("manifest", en, de)
	}
	sum, size, err := s.blobs.Put(body)
	switch {
	case errors.Is(err, blobs.ErrTooLarge):
		return core.AgentFile{}, ErrPackageTooLarge
	case errors.Is(err, blobs.ErrDiskFull):
		return core.AgentFile{}, ErrDiskFull
	case err != nil:
		return core.AgentFile{}, fmt.Errorf("storing %s: %w", m.Name, err)
	}
	if sum != m.SHA256 || size != m.Size {
		// Not named by any row: the next sweep removes the blob.
		s.log.Warn("published file does not match its manifest", "name", m.Name, "sha256", sum, "size", size)
		return core.AgentFile{}, invalid("file", fmt.Sprintf("the file does not match its signed manifest (tampered or truncated): %d bytes with SHA-256 %s, the manifest says %d bytes with %s", size, sum, m.Size, m.SHA256),
			fmt.Sprintf("die Datei passt nicht zu ihrem signierten Manifest (verändert oder abgeschnitten): %d Bytes mit SHA-256 %s, das Manifest nennt %d Bytes mit %s", size, sum, m.Size, m.SHA256))
	}
	if m.Kind == release.KindBinary {
		f, err := s.blobs.Open(sum)
		if err != nil {
			return core.AgentFile{}, fmt.Errorf("opening the stored %s: %w", m.Name, err)
		}
		goos, arch, perr := release.Platform(f)
		f.Close()
		if perr != nil || goos != m.OS || arch != m.Arch {
			got := goos + "/" + arch
			if perr != nil {
				got = perr.Error()
			}
			return core.AgentFile{}, invalid("file", fmt.Sprintf("the executable is not for %s/%s as its manifest says: %s", m.OS, m.Arch, got),
				fmt.Sprintf("die ausführbare Datei ist nicht für %s/%s, wie ihr Manifest sagt: %s", m.OS, m.Arch, got))
		}
	}
	if m.Kind == release.KindMSI && s.codesign.Enabled() {
		if sum, size, err = s.signMSI(ctx, sum, m.Name); err != nil {
			return core.AgentFile{}, err
		}
	}
	raw, err := json.Marshal(signed)
	if err != nil {
		return core.AgentFile{}, err
	}
	f := core.AgentFile{Kind: m.Kind, Version: m.Version, OS: m.OS, Arch: m.Arch, Name: m.Name,
		SHA256: sum, Size: size, KeyID: signed.KeyID, Signed: raw, UploadedBy: Actor(u)}
	if err := s.store.CreateAgentFile(ctx, &f); err != nil {
		if errors.Is(err, core.ErrConflict) {
			return core.AgentFile{}, ErrAgentFileExists
		}
		return core.AgentFile{}, fmt.Errorf("recording %s: %w", m.Name, err)
	}
	detail := fmt.Sprintf("%s %s %s/%s %s sha256=%s key=%s", m.Kind, m.Version, m.OS, m.Arch, m.Name, sum, short(signed.KeyID))
	return f, s.record(ctx, u, "agent-file.publish", target("agent-file", f.ID), detail, core.AuditOK)
}

func short(s string) string {
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

// signMSI signs the stored MSI sum with the code-signing certificate and
// stores the signed copy; it returns that copy's SHA-256 and size.
func (s *Service) signMSI(ctx context.Context, sum, name string) (string, int64, error) {
	in, err := s.blobs.Open(sum)
	if err != nil {
		return "", 0, fmt.Errorf("opening the stored %s: %w", name, err)
	}
	inPath := in.Name()
	in.Close()
	dir, err := os.MkdirTemp("", "wacht-codesign-*")
	if err != nil {
		return "", 0, fmt.Errorf("signing %s: %w", name, err)
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "signed.msi")
	if err := s.codesign.SignMSI(ctx, inPath, out); err != nil {
		return "", 0, fmt.Errorf("signing %s with the code-signing certificate: %w", name, err)
	}
	f, err := os.Open(out)
	if err != nil {
		return "", 0, fmt.Errorf("reading the signed %s: %w", name, err)
	}
	defer f.Close()
	ssum, size, err := s.blobs.Put(f)
	if err != nil {
		return "", 0, fmt.Errorf("storing the signed %s: %w", name, err)
	}
	return ssum, size, nil
}

// ListAgentFiles lists the published files, newest version first.
func (s *Service) ListAgentFiles(ctx context.Context, u core.User) ([]core.AgentFile, error) {
	if u.ID == 0 {
		return nil, core.ErrUnauthorized
	}
	fs, err := s.store.ListAgentFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing agent files: %w", err)
	}
	sortFiles(fs)
	if fs == nil {
		fs = []core.AgentFile{}
	}
	return fs, nil
}

// sortFiles orders files newest version first, then by kind, OS and
// architecture.
func sortFiles(fs []core.AgentFile) {
	slices.SortStableFunc(fs, func(a, b core.AgentFile) int {
		if c := vercmp.Compare(b.Version, a.Version); c != 0 {
			return c
		}
		return cmp.Or(strings.Compare(a.Kind, b.Kind), strings.Compare(a.OS, b.OS), strings.Compare(a.Arch, b.Arch))
	})
}

// DeleteAgentFile removes a published file; audited.
func (s *Service) DeleteAgentFile(ctx context.Context, u core.User, id int64) error {
	if err := need(u, authz.Admin); err != nil {
		return err
	}
	f, err := s.store.GetAgentFile(ctx, id)
	if err != nil {
		return fmt.Errorf("agent file %d: %w", id, err)
	}
	if err := s.store.DeleteAgentFile(ctx, id); err != nil {
		if errors.Is(err, core.ErrConflict) {
			return ErrAgentFileInUse
		}
		return fmt.Errorf("deleting agent file %d: %w", id, err)
	}
	detail := fmt.Sprintf("%s %s %s/%s %s", f.Kind, f.Version, f.OS, f.Arch, f.Name)
	return s.record(ctx, u, "agent-file.delete", target("agent-file", id), detail, core.AuditOK)
}

// LatestAgentFile returns the newest published file of a kind, OS and
// architecture (by version order); ErrNotFound. It needs no user: the
// installer download for an enrollment token's holder uses it too.
func (s *Service) LatestAgentFile(ctx context.Context, kind, goos, arch string) (core.AgentFile, error) {
	fs, err := s.store.ListAgentFiles(ctx)
	if err != nil {
		return core.AgentFile{}, fmt.Errorf("listing agent files: %w", err)
	}
	var best *core.AgentFile
	for i, f := range fs {
		if f.Kind != kind || f.OS != goos || f.Arch != arch {
			continue
		}
		if best == nil || vercmp.Compare(f.Version, best.Version) > 0 {
			best = &fs[i]
		}
	}
	if best == nil {
		return core.AgentFile{}, fmt.Errorf("no %s for %s/%s is published: %w", kind, goos, arch, core.ErrNotFound)
	}
	return *best, nil
}

// ReleaseKeys returns the release public keys the server trusts (and
// hands to agents at enrollment and in the welcome).
func (s *Service) ReleaseKeys() []ed25519.PublicKey { return s.releaseKeys }

// NewRollout describes a rollout to start.
type NewRollout struct {
	Version         string  `json:"version"`
	PilotClients    []int64 `json:"pilot_clients"`
	PilotPercent    int     `json:"pilot_percent"`
	AutoPromote     bool    `json:"auto_promote"`
	AllowDowngrade  bool    `json:"allow_downgrade"`
	MaxFailures     int     `json:"max_failures"`     // 0: 1
	WatchdogSeconds int     `json:"watchdog_seconds"` // 0: protocol.DefaultWatchdog
	Concurrency     int     `json:"concurrency"`      // 0: a default
}

// DefaultConcurrency is how many devices a rollout updates at once unless
// told otherwise; MaxConcurrency bounds it.
const (
	DefaultConcurrency = 10
	MaxConcurrency     = 1000
)

// Rollout actions of RolloutAction.
const (
	RolloutPause   = "pause"
	RolloutResume  = "resume"
	RolloutPromote = "promote" // from the pilot ring to everyone
	RolloutCancel  = "cancel"
)

// StartRollout starts a rollout of a published version (binaries for at
// least one OS and architecture); audited.
func (s *Service) StartRollout(ctx context.Context, u core.User, nr NewRollout) (core.Rollout, error) {
	if err := need(u, authz.Admin); err != nil {
		return core.Rollout{}, err
	}
	var fs []policy.FieldError
	add := func(field, en, de string) { fs = append(fs, fieldErr(field, en, de)) }
	nr.Version = strings.TrimSpace(nr.Version)
	if nr.Version == "" {
		add("version", "choose the version to roll out", "wählen Sie die Version, die verteilt werden soll")
	} else {
		bins, err := s.binaries(ctx, nr.Version)
		if err != nil {
			return core.Rollout{}, err
		}
		if len(bins) == 0 {
			add("version", fmt.Sprintf("no agent binary of version %q is published: publish the signed binaries first", nr.Version),
				fmt.Sprintf("für Version %q ist keine Agent-Datei veröffentlicht: veröffentlichen Sie zuerst die signierten Programme", nr.Version))
		}
	}
	if nr.PilotPercent < 0 || nr.PilotPercent > 100 {
		add("pilot_percent", "the pilot percentage is 0 to 100", "der Pilot-Anteil beträgt 0 bis 100 Prozent")
	}
	if len(nr.PilotClients) > 0 {
		cs, err := s.store.ListClients(ctx)
		if err != nil {
			return core.Rollout{}, fmt.Errorf("listing clients: %w", err)
		}
		for _, id := range nr.PilotClients {
			if !slices.ContainsFunc(cs, func(c core.Client) bool { return c.ID == id }) {
				add("pilot_clients", fmt.Sprintf("there is no client %d", id), fmt.Sprintf("es gibt keinen Kunden %d", id))
				break
			}
		}
	}
	if nr.MaxFailures == 0 {
		nr.MaxFailures = 1
	}
	if nr.MaxFailures < 1 || nr.MaxFailures > 100000 {
		add("max_failures", "the number of failures before the rollout pauses is 1 to 100000", "die Zahl der Fehlschläge bis zur Pause beträgt 1 bis 100000")
	}
	if nr.WatchdogSeconds == 0 {
		nr.WatchdogSeconds = int(protocol.DefaultWatchdog.Seconds())
	}
	if lo, hi := int(protocol.MinWatchdog.Seconds()), int(protocol.MaxWatchdog.Seconds()); nr.WatchdogSeconds < lo || nr.WatchdogSeconds > hi {
		add("watchdog_seconds", fmt.Sprintf("the watchdog is %d to %d seconds", lo, hi), fmt.Sprintf("der Watchdog beträgt %d bis %d Sekunden", lo, hi))
	}
	if nr.Concurrency == 0 {
		nr.Concurrency = DefaultConcurrency
	}
	if nr.Concurrency < 1 || nr.Concurrency > MaxConcurrency {
		add("concurrency", fmt.Sprintf("update 1 to %d devices at once", MaxConcurrency), fmt.Sprintf("aktualisieren Sie 1 bis %d Geräte gleichzeitig", MaxConcurrency))
	}
	if fs != nil {
		return core.Rollout{}, &policy.ValidationError{Fields: fs}
	}
	slices.Sort(nr.PilotClients)
	r := core.Rollout{Version: nr.Version, State: core.RolloutRunning, Stage: core.StagePilot,
		PilotClients: slices.Compact(nr.PilotClients), PilotPercent: nr.PilotPercent, AutoPromote: nr.AutoPromote,
		AllowDowngrade: nr.AllowDowngrade, MaxFailures: nr.MaxFailures, WatchdogSeconds: nr.WatchdogSeconds,
		Concurrency: nr.Concurrency, CreatedBy: Actor(u)}
	if len(r.PilotClients) == 0 && r.PilotPercent == 0 {
		r.Stage = core.StageAll
	}
	if err := s.store.CreateRollout(ctx, &r); err != nil {
		if errors.Is(err, core.ErrConflict) {
			return core.Rollout{}, ErrRolloutActive
		}
		return core.Rollout{}, fmt.Errorf("starting the rollout: %w", err)
	}
	detail := fmt.Sprintf("version=%s stage=%s pilot_clients=%v pilot_percent=%d auto_promote=%t allow_downgrade=%t max_failures=%d watchdog=%ds concurrency=%d",
		r.Version, r.Stage, r.PilotClients, r.PilotPercent, r.AutoPromote, r.AllowDowngrade, r.MaxFailures, r.WatchdogSeconds, r.Concurrency)
	return r, s.record(ctx, u, "rollout.start", target("rollout", r.ID), detail, core.AuditOK)
}

// binaries returns the published binaries of version by "os/arch".
func (s *Service) binaries(ctx context.Context, version string) (map[string]core.AgentFile, error) {
	fs, err := s.store.ListAgentFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing agent files: %w", err)
	}
	out := map[string]core.AgentFile{}
	for _, f := range fs {
		if f.Kind == release.KindBinary && f.Version == version {
			out[f.OS+"/"+f.Arch] = f
		}
	}
	return out, nil
}

// RolloutAction pauses, resumes, promotes or cancels a rollout; audited.
// An action the rollout's state does not allow is ErrRolloutState (409).
// Resuming a rollout that paused itself at MaxFailures allows one more
// failure (MaxFailures becomes the failures so far plus one): a broken
// build stops it again at the next device.
func (s *Service) RolloutAction(ctx context.Context, u core.User, id int64, action string) (core.Rollout, error) {
	if err := need(u, authz.Admin); err != nil {
		return core.Rollout{}, err
	}
	r, err := s.store.GetRollout(ctx, id)
	if err != nil {
		return core.Rollout{}, fmt.Errorf("rollout %d: %w", id, err)
	}
	active := r.State == core.RolloutRunning || r.State == core.RolloutPaused
	detail := action
	switch action {
	case RolloutPause:
		if r.State != core.RolloutRunning {
			return r, ErrRolloutState
		}
		r.State = core.RolloutPaused
		r.PauseReason = core.Text{EN: "paused by " + Actor(u), DE: "pausiert von " + Actor(u)}
	case RolloutResume:
		if r.State != core.RolloutPaused {
			return r, ErrRolloutState
		}
		us, err := s.store.ListAgentUpdates(ctx, r.ID)
		if err != nil {
			return r, fmt.Errorf("listing the rollout's updates: %w", err)
		}
		if n := failures(us); n >= r.MaxFailures {
			r.MaxFailures = n + 1
			detail += fmt.Sprintf(" max_failures=%d", r.MaxFailures)
		}
		r.State, r.PauseReason = core.RolloutRunning, core.Text{}
	case RolloutPromote:
		if !active || r.Stage != core.StagePilot {
			return r, ErrRolloutState
		}
		r.Stage = core.StageAll
	case RolloutCancel:
		if !active {
			return r, ErrRolloutState
		}
		now := s.now().UTC()
		r.State, r.FinishedAt = core.RolloutCancelled, &now
	default:
		return r, invalid("action", "the action is pause, resume, promote or cancel", "die Aktion ist pause, resume, promote oder cancel")
	}
	if err := s.store.UpdateRollout(ctx, &r); err != nil {
		return r, fmt.Errorf("updating rollout %d: %w", id, err)
	}
	return r, s.record(ctx, u, "rollout."+action, target("rollout", id), detail, core.AuditOK)
}

// ListRollouts returns the newest rollouts.
func (s *Service) ListRollouts(ctx context.Context, u core.User) ([]core.Rollout, error) {
	if err := need(u, authz.Admin); err != nil {
		return nil, err
	}
	rs, err := s.store.ListRollouts(ctx, 50)
	if err != nil {
		return nil, fmt.Errorf("listing rollouts: %w", err)
	}
	if rs == nil {
		rs = []core.Rollout{}
	}
	return rs, nil
}

// Counts of RolloutView beyond the update states.
const (
	CountPending = "pending" // in the current ring, not sent yet (offline or waiting for a slot)
	CountSkipped = "skipped" // no build for its OS and architecture, or a newer agent
	CountCurrent = "current" // already ran the version
)

// RolloutView is a rollout with its progress: each device's update and
// counts per state (core.Update…, plus "pending" for devices in the
// current ring not yet sent and "skipped" for those with no build for
// their OS and architecture or a newer agent).
type RolloutView struct {
	core.Rollout
	Updates []core.AgentUpdate `json:"updates"`
	Counts  map[string]int     `json:"counts"`
}

// GetRollout returns a rollout with its progress.
func (s *Service) GetRollout(ctx context.Context, u core.User, id int64) (RolloutView, error) {
	if err := need(u, authz.Admin); err != nil {
		return RolloutView{}, err
	}
	r, err := s.store.GetRollout(ctx, id)
	if err != nil {
		return RolloutView{}, fmt.Errorf("rollout %d: %w", id, err)
	}
	p, err := s.rolloutPlan(ctx, r)
	if err != nil {
		return RolloutView{}, err
	}
	v := RolloutView{Rollout: r, Updates: p.updates, Counts: map[string]int{}}
	if v.Updates == nil {
		v.Updates = []core.AgentUpdate{}
	}
	for _, u := range p.updates {
		v.Counts[u.State]++
	}
	v.Counts[CountPending] = len(p.pending)
	v.Counts[CountSkipped] = p.skipped
	v.Counts[CountCurrent] = p.current
	return v, nil
}

// AgentVersions counts the fleet's devices per agent version, OS and
// architecture.
func (s *Service) AgentVersions(ctx context.Context, u core.User) ([]core.VersionCount, error) {
	if err := need(u, authz.Admin); err != nil {
		return nil, err
	}
	vs, err := s.store.AgentVersionCounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("counting agent versions: %w", err)
	}
	slices.SortStableFunc(vs, func(a, b core.VersionCount) int {
		return cmp.Or(vercmp.Compare(b.Version, a.Version), strings.Compare(a.OS, b.OS), strings.Compare(a.Arch, b.Arch))
	})
	if vs == nil {
		vs = []core.VersionCount{}
	}
	return vs, nil
}

// failures counts the updates that failed or were rolled back (a device
// that was offline when its update was sent does not count).
func failures(us []core.AgentUpdate) int {
	n := 0
	for _, u := range us {
		if (u.State == core.UpdateFailed && u.Code != CodeUpdateOffline) || u.State == core.UpdateRolledBack {
			n++
		}
	}
	return n
}
