package server

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"slices"
	"sync/atomic"

	"github.com/wacht-rmm/wacht/internal/codesign"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/release"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
)

// ReleasePubFile is the release public key in the data folder that the
// server trusts besides those of --release-key.
const ReleasePubFile = "release.pub"

// LoadReleaseKeys reads <dataDir>/release.pub, if present, and every file
// of files (wacht serve --release-key); a key listed twice counts once.
func LoadReleaseKeys(dataDir string, files []string) ([]ed25519.PublicKey, error) {
	var keys []ed25519.PublicKey
	add := func(k ed25519.PublicKey) {
		if !slices.ContainsFunc(keys, func(o ed25519.PublicKey) bool { return o.Equal(k) }) {
			keys = append(keys, k)
		}
	}
	k, err := release.LoadPublicKey(filepath.Join(dataDir, ReleasePubFile))
	switch {
	case err == nil:
		add(k)
	case !errors.Is(err, fs.ErrNotExist):
		return nil, err
	}
	for _, f := range files {
		k, err := release.LoadPublicKey(f)
		if err != nil {
			return nil, err
		}
		add(k)
	}
	return keys, nil
}

// releaseDeps sets the service's release keys and code-signing
// certificate (newHandler's option).
func releaseDeps(keys []ed25519.PublicKey, cs codesign.Config) func(*service.Deps) {
	return func(d *service.Deps) { d.ReleaseKeys, d.CodeSign = keys, cs }
}

// lateUpdates records agents' update reports once the service exists.
type lateUpdates struct {
	svc atomic.Pointer[service.Service]
}

func (l *lateUpdates) RecordUpdate(ctx context.Context, deviceID int64, rep protocol.UpdateReport) error {
	svc := l.svc.Load()
	if svc == nil {
		return errors.New("the server is starting")
	}
	return svc.RecordUpdate(ctx, deviceID, rep)
}

// blobLookup serves the blobs that a package or a published agent file
// names.
type blobLookup struct{ core.Store }

func (b blobLookup) PackageBlobInUse(ctx context.Context, sum string) (bool, error) {
	if ok, err := b.Store.PackageBlobInUse(ctx, sum); ok || err != nil {
		return ok, err
	}
	return b.Store.AgentFileBlobInUse(ctx, sum)
}

// runRollouts runs the rollout loop on one node of the cluster at a time.
func runRollouts(ctx context.Context, st *store.DB, svc *service.Service, log *slog.Logger) {
	st.Lead(ctx, "rollouts", func(ctx context.Context) {
		log.Info("leading", "job", "rollouts")
		svc.RolloutLoop(ctx, service.RolloutTick)
	})
}

func releaseKeysInfo(keys []ed25519.PublicKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = fmt.Sprintf("%.16s", release.Fingerprint(k))
	}
	return out
}
