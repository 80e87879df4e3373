package server

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/release"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
	"github.com/wacht-rmm/wacht/internal/service"
)

// PublishRelease publishes release files (each with its signed manifest
// beside it, FILE.sig.json) as the command line (wacht release publish):
// verified against <dataDir>/release.pub and keyFiles like the server
// does, stored in the data folder's blob store.
func PublishRelease(ctx context.Context, st core.Store, dataDir string, keyFiles, files []string, now time.Time) ([]core.AgentFile, error) {
	keys, err := LoadReleaseKeys(dataDir, keyFiles)
	if err != nil {
		return nil, err
	}
	bs, err := blobs.Open(dataDir, 0)
	if err != nil {
		return nil, err
	}
	svc := service.New(service.Deps{Store: st, Blobs: bs, ReleaseKeys: keys})
	svc.Now = func() time.Time { return now }
	var out []core.AgentFile
	for _, path := range files {
		if strings.HasSuffix(path, release.SigSuffix) {
			continue // a manifest, named by a glob such as dist/wacht-agent*
		}
		signed, err := release.ReadSigned(path + release.SigSuffix)
		if err != nil {
			return out, fmt.Errorf("%s: the signed manifest: %w (sign it with `wacht release sign`)", path, err)
		}
		f, err := os.Open(path)
		if err != nil {
			return out, err
		}
		af, err := svc.PublishAgentFile(ctx, service.CLI, signed, f)
		f.Close()
		if err != nil {
			return out, cliError(path, err)
		}
		out = append(out, af)
	}
	return out, nil
}
