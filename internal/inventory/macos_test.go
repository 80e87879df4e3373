package inventory

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// The tool outputs below were written for the tests in the forms Apple's
// man pages give (no public capture was found; testdata/README.md).

func TestParseFileVault(t *testing.T) {
	for out, want := range map[string]string{
		"FileVault is On.\n":  "on",
		"FileVault is Off.\n": "off",
		"FileVault is On.\nFileVault master keychain appears to be installed.\n":      "on",
		"FileVault is On.\nEncryption in progress: Percent completed = 42.3\n":        "partial",
		"FileVault is Off.\nDecryption in progress: Percent completed = 12.0\n":       "partial",
		"FileVault is Off, but will be enabled after the next login by alice user.\n": "off",
	} {
		got, err := parseFileVault(out)
		if err != nil || got != want {
			t.Errorf("%q = %q, %v; want %q", out, got, err, want)
		}
	}
	for _, bad := range []string{"", "Error: Unable to communicate with the daemon.\n"} {
		if got, err := parseFileVault(bad); err == nil {
			t.Errorf("%q = %q, want an error", bad, got)
		}
	}
}

func TestParseADDomain(t *testing.T) {
	bound := "Active Directory Forest          = corp.example.com\nActive Directory Domain          = corp.example.com\n" +
		"Computer Account                 = mac01$\n\nAdvanced Options - User Experience\n  Create mobile account at login = Enabled\n"
	if got := parseADDomain(bound); got != "corp.example.com" {
		t.Errorf("bound = %q", got)
	}
	if got := parseADDomain(""); got != "" {
		t.Errorf("unbound = %q", got)
	}
}

func TestParseDscl(t *testing.T) {
	list := "_accessoryupdater        278\n_amavisd                 83\ndaemon                   1\nalice                    501\n" +
		"nobody                   -2\nroot                     0\nbob                      502\n"
	users, err := parseDsclUsers(list)
	if err != nil || !reflect.DeepEqual(users, []string{"alice", "bob"}) {
		t.Errorf("users = %q, %v", users, err)
	}
	for _, bad := range []string{"", "\n", "alice\n", "alice five\n"} {
		if _, err := parseDsclUsers(bad); err == nil {
			t.Errorf("%q gave no error", bad)
		}
	}
	for out, want := range map[string][]string{
		"GroupMembership: root alice _mbsetupuser\n": {"root", "alice", "_mbsetupuser"},
		"GroupMembership:\n root alice\n carol\n":    {"root", "alice", "carol"},
		"No such key: GroupMembership\n":             nil,
		"":                                           nil,
	} {
		if got := parseDsclMembers(out); !reflect.DeepEqual(got, want) {
			t.Errorf("%q = %q", out, got)
		}
	}
	got := dsclLocalUsers(users, parseDsclMembers("GroupMembership: root alice\n"))
	if !reflect.DeepEqual(got, []core.LocalUser{{Name: "alice", Admin: true}, {Name: "bob"}}) {
		t.Errorf("local users = %+v", got)
	}
}

func TestBundleAndReceiptPrograms(t *testing.T) {
	for _, f := range []string{"info_airpods.plist", "info_airpods.bplist"} {
		v, err := parsePlist(darwinFixture(t, f))
		if err != nil {
			t.Fatal(err)
		}
		p, err := bundleProgram("/Applications/Airpods.app", v)
		// No CFBundleShortVersionString: the build number is the version.
		want := core.Program{Name: "Airpods Connection To Mac", Version: "1.0", ID: "airpods.ben-ami.amit", Source: core.SourceApp}
		if err != nil || p != want {
			t.Errorf("%s: %+v, %v", f, p, err)
		}
	}
	p, err := bundleProgram("/Applications/Bare.app", map[string]any{"CFBundleShortVersionString": " 2.1 ", "CFBundleVersion": "2100"})
	if err != nil || p != (core.Program{Name: "Bare", Version: "2.1", ID: "/Applications/Bare.app", Source: core.SourceApp}) {
		t.Errorf("bare bundle = %+v, %v", p, err)
	}
	if _, err := bundleProgram("/x.app", []any{}); err == nil {
		t.Error("an array Info.plist gave no error")
	}

	// A receipt with the keys pkgutil writes to /var/db/receipts/ID.plist.
	receipt := map[string]any{"PackageIdentifier": "com.microsoft.package.Microsoft_Word.app", "PackageVersion": "16.86.24060916",
		"InstallDate": time.Date(2024, 6, 20, 23, 30, 0, 0, time.UTC), "InstallPrefixPath": "/", "InstallProcessName": "installer"}
	p, ok, err := receiptProgram(receipt)
	want := core.Program{Name: "com.microsoft.package.Microsoft_Word.app", Version: "16.86.24060916", InstallDate: "2024-06-20",
		Source: core.SourcePkg, ID: "com.microsoft.package.Microsoft_Word.app"}
	if err != nil || !ok || p != want {
		t.Errorf("receipt = %+v, %v, %v", p, ok, err)
	}
	if _, ok, err := receiptProgram(map[string]any{"PackageIdentifier": "com.apple.pkg.MobileAssets"}); ok || err != nil {
		t.Errorf("an OS component receipt: ok %v, err %v", ok, err)
	}
	for _, bad := range []any{"x", map[string]any{"PackageVersion": "1"}} {
		if _, _, err := receiptProgram(bad); err == nil {
			t.Errorf("%v gave no error", bad)
		}
	}
}

// TestScanSoftware lays out a Mac's folders with the captured Info.plist
// files (XML and binary) and a receipt, and scans them.
func TestScanSoftware(t *testing.T) {
	root := t.TempDir()
	apps := filepath.Join(root, "Applications")
	put := func(rel string, b []byte) {
		t.Helper()
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	xml, bin := darwinFixture(t, "info_airpods.plist"), darwinFixture(t, "info_airpods.bplist")
	put("Applications/Airpods.app/Contents/Info.plist", xml)
	put("Applications/Vendor Suite/Suite.app/Contents/Info.plist", []byte(strings.Replace(string(xml), "airpods.ben-ami.amit", "com.example.suite", 1)))
	put("Applications/Utilities/Binary.app/Contents/Info.plist", bin)
	put("Applications/Broken.app/Contents/Info.plist", []byte("garbage"))
	put("Applications/NoPlist.app/Contents/MacOS/x", nil)
	put("receipts/com.example.agent.plist", []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0"><dict>
<key>InstallDate</key><date>2026-08-27T10:00:00Z</date><key>PackageIdentifier</key><string>com.example.agent</string>
<key>PackageVersion</key><string>4.2.1</string></dict></plist>`))
	put("receipts/com.example.agent.bom", []byte("BOMStore"))
	put("receipts/com.apple.pkg.XProtectPlistConfigData.plist", []byte(`<plist><dict><key>PackageIdentifier</key><string>com.apple.pkg.XProtectPlistConfigData</string></dict></plist>`))

	got, err := scanSoftware(context.Background(), []string{apps, filepath.Join(apps, "Utilities"), filepath.Join(root, "Users/nobody/Applications")}, filepath.Join(root, "receipts"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, p := range got {
		ids = append(ids, p.Source+":"+p.ID)
	}
	slices.Sort(ids)
	want := []string{"app:airpods.ben-ami.amit", "app:airpods.ben-ami.amit", "app:com.example.suite", "pkg:com.example.agent"}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("programs = %q", ids)
	}

	if _, err := scanSoftware(context.Background(), []string{filepath.Join(root, "missing")}, filepath.Join(root, "receipts")); err == nil {
		t.Error("an unreadable /Applications gave no error")
	}
	if _, err := scanSoftware(context.Background(), []string{apps}, filepath.Join(root, "missing")); err == nil {
		t.Error("an unreadable receipts folder gave no error")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := scanSoftware(ctx, []string{apps}, filepath.Join(root, "receipts")); err == nil {
		t.Error("a cancelled scan gave no error")
	}
}
