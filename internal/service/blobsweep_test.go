package service_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestSweepKeepsAgentFiles: the blob sweep keeps the file of an uploaded
// agent build, which no package names, and removes it once the build's
// row is deleted.
func TestSweepKeepsAgentFiles(t *testing.T) {
	ctx := t.Context()
	st := storetest.NewSQLite(t)
	data := t.TempDir()
	bs, err := blobs.Open(data, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(service.Deps{Store: st, PasswordCost: authtest.Cost, Blobs: bs})
	sum, _, err := bs.Put(bytes.NewReader([]byte("an agent build")))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(data, "blobs", "sha256", sum[:2], sum)
	old := time.Now().Add(-2 * blobs.DefaultGrace) // past the grace period
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	f := core.AgentFile{Kind: "binary", Version: "1.10.0", OS: "linux", Arch: "amd64", Name: "wacht-agent-linux-amd64",
		SHA256: sum, Size: 14, Signed: []byte(`{}`)}
	if err := st.CreateAgentFile(ctx, &f); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.SweepBlobs(ctx); err != nil || n != 0 {
		t.Fatalf("sweep with the agent file stored: %d removed, %v", n, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the sweep removed an agent file's blob: %v", err)
	}
	if err := st.DeleteAgentFile(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.SweepBlobs(ctx); err != nil || n != 1 {
		t.Fatalf("sweep after the agent file's row is gone: %d removed, %v", n, err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the unused blob is still there: %v", err)
	}
}
