package service

import (
	"context"
	"crypto/ed25519"
	"errors"
	"io"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/release"
)

// Agent releases (issue 21): release files published to the server,
// rollouts that update agents ring by ring, and the fleet's versions.
// Publishing, rollouts and the fleet view are administrators' work; any
// signed-in user may list and download installers.
//
// Placeholders until the rollout part lands; the signatures are the
// contract the API, the dashboard and the CLI code against.

var errReleasesTODO = errors.New("service: releases are not implemented yet")

// PublishAgentFile verifies signed against the server's release keys and
// the file's bytes against the manifest (and, for a binary, its
// executable header against the manifest's OS and architecture), stores
// the bytes as a blob (an MSI signed with the server's code-signing
// certificate first, if one is configured) and records the file; audited.
func (s *Service) PublishAgentFile(ctx context.Context, u core.User, signed release.Signed, body io.Reader) (core.AgentFile, error) {
	return core.AgentFile{}, errReleasesTODO
}

// ListAgentFiles lists the published files, newest version first.
func (s *Service) ListAgentFiles(ctx context.Context, u core.User) ([]core.AgentFile, error) {
	return nil, errReleasesTODO
}

// DeleteAgentFile removes a published file; audited.
func (s *Service) DeleteAgentFile(ctx context.Context, u core.User, id int64) error {
	return errReleasesTODO
}

// LatestAgentFile returns the newest published file of a kind, OS and
// architecture (by version order); ErrNotFound. It needs no user: the
// installer download for an enrollment token's holder uses it too.
func (s *Service) LatestAgentFile(ctx context.Context, kind, goos, arch string) (core.AgentFile, error) {
	return core.AgentFile{}, errReleasesTODO
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
	return core.Rollout{}, errReleasesTODO
}

// RolloutAction pauses, resumes, promotes or cancels a rollout; audited.
func (s *Service) RolloutAction(ctx context.Context, u core.User, id int64, action string) (core.Rollout, error) {
	return core.Rollout{}, errReleasesTODO
}

// ListRollouts returns the newest rollouts.
func (s *Service) ListRollouts(ctx context.Context, u core.User) ([]core.Rollout, error) {
	return nil, errReleasesTODO
}

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
	return RolloutView{}, errReleasesTODO
}

// AgentVersions counts the fleet's devices per agent version, OS and
// architecture.
func (s *Service) AgentVersions(ctx context.Context, u core.User) ([]core.VersionCount, error) {
	return nil, errReleasesTODO
}
