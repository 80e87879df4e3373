package storetest

import (
	"reflect"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// packageTests are the conformance tests of core.PackageStore.
var packageTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"Packages", testPackages},
}

func testPackages(t *testing.T, s core.Store) {
	p := core.Package{Name: "RustDesk", Version: "1.3.6", OS: "windows", Arch: "amd64", Kind: core.PkgUpload,
		Install:   []string{"{{file}}", "--silent-install"},
		Uninstall: []string{`C:\Program Files\RustDesk\rustdesk.exe`, "--uninstall"},
		Params:    []core.PackageParam{{Name: "relay", Value: "relay.example.de"}, {Name: "key", Secret: true}},
		ExitCodes: core.DefaultExitCodes(), Detection: core.Detection{Kind: core.DetectRegistry, DisplayName: "RustDesk", MinVersion: "1.3"},
		RequireAuthenticode: true, TimeoutSeconds: 600, Sealed: []byte("sealed bytes"), UpdatedBy: "user:a@example.de"}
	must(t, "CreatePackage", s.CreatePackage(ctx, &p))
	if p.ID == 0 || p.CreatedAt.IsZero() {
		t.Fatalf("created %+v", p)
	}
	got, err := s.GetPackage(ctx, p.ID)
	must(t, "GetPackage", err)
	if !reflect.DeepEqual(got, p) {
		t.Errorf("GetPackage = %+v\nwant %+v", got, p)
	}
	dup := p
	wantErr(t, "CreatePackage with a taken name, version, OS and architecture", s.CreatePackage(ctx, &dup), core.ErrConflict)
	other := core.Package{Name: "7-Zip", Version: "24.09", OS: "windows", Kind: core.PkgWinget, ManagerID: "7zip.7zip",
		ExitCodes: map[int]string{}, TimeoutSeconds: 300, Detection: core.Detection{Kind: core.DetectRegistry, DisplayName: "7-Zip*"}}
	must(t, "CreatePackage", s.CreatePackage(ctx, &other))
	got, _ = s.GetPackage(ctx, other.ID)
	if got.Install == nil || got.Params == nil || got.ExitCodes == nil || len(got.Sealed) != 0 || got.RequireAuthenticode {
		t.Errorf("empty fields read back as %+v", got)
	}

	must(t, "SetPackageFile", s.SetPackageFile(ctx, p.ID, "ab12", 12345, "rustdesk-1.3.6-x86_64.msi", "user:b@example.de"))
	p.Version, p.Sealed, p.RequireAuthenticode, p.ExitCodes = "1.3.7", []byte("other"), false, map[int]string{0: core.ExitOK, 5: core.ExitRetry}
	must(t, "UpdatePackage", s.UpdatePackage(ctx, &p))
	got, _ = s.GetPackage(ctx, p.ID)
	if got.Version != "1.3.7" || string(got.Sealed) != "other" || got.RequireAuthenticode || got.ExitCodes[5] != core.ExitRetry ||
		got.SHA256 != "ab12" || got.Size != 12345 || got.FileName != "rustdesk-1.3.6-x86_64.msi" || !got.CreatedAt.Equal(p.CreatedAt) {
		t.Errorf("after update: %+v", got)
	}
	inUse, err := s.PackageBlobInUse(ctx, "ab12")
	must(t, "PackageBlobInUse", err)
	if notUsed, _ := s.PackageBlobInUse(ctx, "cd34"); !inUse || notUsed {
		t.Errorf("blob in use: ab12 %v, cd34 %v", inUse, notUsed)
	}
	dup = other
	dup.ID = p.ID
	wantErr(t, "UpdatePackage to another's identity", s.UpdatePackage(ctx, &dup), core.ErrConflict)

	list, err := s.ListPackages(ctx)
	must(t, "ListPackages", err)
	if len(list) != 2 || list[0].Name != "7-Zip" || list[1].Name != "RustDesk" {
		t.Errorf("list %+v", list)
	}
	must(t, "DeletePackage", s.DeletePackage(ctx, p.ID))
	_, err = s.GetPackage(ctx, p.ID)
	wantErr(t, "GetPackage after delete", err, core.ErrNotFound)
	wantErr(t, "DeletePackage twice", s.DeletePackage(ctx, p.ID), core.ErrNotFound)
	wantErr(t, "UpdatePackage of a deleted package", s.UpdatePackage(ctx, &p), core.ErrNotFound)
	wantErr(t, "SetPackageFile of a deleted package", s.SetPackageFile(ctx, p.ID, "x", 1, "x", ""), core.ErrNotFound)
}
