package api_test

import (
	"bytes"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/api"
	"github.com/wacht-rmm/wacht/internal/server/api/openapitest"
	"github.com/wacht-rmm/wacht/internal/server/auth/authtest"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
	"github.com/wacht-rmm/wacht/internal/service"
)

// TestPackageUploadDiskFull uploads 2 MiB into a real 1 MiB tmpfs: 507
// disk_full in English and German, nothing stored, the package unchanged.
func TestPackageUploadDiskFull(t *testing.T) {
	data := t.TempDir()
	if err := unix.Mount("tmpfs", data, "tmpfs", 0, "size=1m,mode=0700"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mounting a tmpfs: %v", err)
		}
		t.Skip("mounting a tmpfs needs root:", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(data, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting %s: %v", data, err)
		}
	})
	f := newFixture(t)
	bs, err := blobs.Open(data, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	f.srv = httptest.NewServer(openapitest.Handler(t, api.New(service.New(service.Deps{Store: f.st, PasswordCost: authtest.Cost, Blobs: bs}), nil)))
	t.Cleanup(f.srv.Close)
	var p core.Package
	body := `{"name":"Demo","version":"1","os":"linux","kind":"upload","install":["{{file}}"],"detection":{"kind":"os_package","name":"demo"}}`
	if st := f.sendJSON(t, "POST", "/api/v1/packages", "admin", body, &p); st != 201 {
		t.Fatalf("create: %d", st)
	}
	var refused struct {
		Code    string    `json:"code"`
		Message core.Text `json:"message"`
	}
	if st := f.upload(t, itoa(p.ID), "demo.deb", "admin", bytes.Repeat([]byte("x"), 2<<20), &refused); st != 507 ||
		refused.Code != "disk_full" || !strings.Contains(refused.Message.DE, "voll") {
		t.Fatalf("upload: %d %+v", st, refused)
	}
	if es, _ := os.ReadDir(filepath.Join(data, "blobs", "tmp")); len(es) != 0 {
		t.Errorf("%d files left in blobs/tmp", len(es))
	}
	if got, _ := f.st.GetPackage(t.Context(), p.ID); got.SHA256 != "" {
		t.Errorf("the package has a file: %+v", got)
	}
}
