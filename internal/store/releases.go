package store

import (
	"context"
	"errors"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Release files, rollouts and device updates (issue 21, migration
// 0035_releases). Placeholders until the store lands.

var errReleasesTODO = errors.New("store: releases are not implemented yet")

func (s *DB) CreateAgentFile(ctx context.Context, f *core.AgentFile) error { return errReleasesTODO }
func (s *DB) GetAgentFile(ctx context.Context, id int64) (core.AgentFile, error) {
	return core.AgentFile{}, errReleasesTODO
}
func (s *DB) FindAgentFile(ctx context.Context, kind, version, goos, arch string) (core.AgentFile, error) {
	return core.AgentFile{}, errReleasesTODO
}
func (s *DB) ListAgentFiles(ctx context.Context) ([]core.AgentFile, error) {
	return nil, errReleasesTODO
}
func (s *DB) DeleteAgentFile(ctx context.Context, id int64) error { return errReleasesTODO }
func (s *DB) AgentFileBlobInUse(ctx context.Context, sha256 string) (bool, error) {
	return false, errReleasesTODO
}
func (s *DB) CreateRollout(ctx context.Context, r *core.Rollout) error { return errReleasesTODO }
func (s *DB) UpdateRollout(ctx context.Context, r *core.Rollout) error { return errReleasesTODO }
func (s *DB) GetRollout(ctx context.Context, id int64) (core.Rollout, error) {
	return core.Rollout{}, errReleasesTODO
}
func (s *DB) ActiveRollout(ctx context.Context) (core.Rollout, error) {
	return core.Rollout{}, errReleasesTODO
}
func (s *DB) ListRollouts(ctx context.Context, limit int) ([]core.Rollout, error) {
	return nil, errReleasesTODO
}
func (s *DB) PutAgentUpdate(ctx context.Context, u core.AgentUpdate) error { return errReleasesTODO }
func (s *DB) ListAgentUpdates(ctx context.Context, rolloutID int64) ([]core.AgentUpdate, error) {
	return nil, errReleasesTODO
}
func (s *DB) AgentVersionCounts(ctx context.Context) ([]core.VersionCount, error) {
	return nil, errReleasesTODO
}
