package protocol

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

func uploadArgs() PackageArgs {
	return PackageArgs{RunID: "r-1", PackageID: 3, Name: "Agent", Version: "1.0", Kind: core.PkgUpload,
		File:      &PackageFile{SHA256: strings.Repeat("ab", 32), Size: 10, Name: "setup.exe", Ticket: "7.1.x"},
		Command:   []string{"{{file}}", "/S", "TOKEN={{token}}", "HOST={{host}}"},
		Params:    map[string]string{"host": "relay.example"},
		Secrets:   map[string]string{"token": "geheim"},
		Detection: core.Detection{Kind: core.DetectFile, Path: `C:\Program Files\Agent\agent.exe`}}
}

func commandArgs() PackageArgs {
	return PackageArgs{RunID: "r-3", Kind: core.PkgCommand, Command: []string{"powershell.exe", "-Command", "Set-MpPreference -PUAProtection {{mode}}"},
		Params: map[string]string{"mode": "Enabled"}, Detection: core.Detection{Kind: core.DetectService, Name: "WinDefend"}}
}

// TestPackageArgsValidate: what a package action accepts and why it
// refuses the rest.
func TestPackageArgsValidate(t *testing.T) {
	if err := uploadArgs().Validate(); err != nil {
		t.Fatalf("valid upload: %v", err)
	}
	apt := PackageArgs{RunID: "r-2", Kind: core.PkgApt, ManagerID: "htop", Detection: core.Detection{Kind: core.DetectOSPackage, Name: "htop"}}
	if err := apt.Validate(); err != nil {
		t.Fatalf("valid apt: %v", err)
	}
	msi := uploadArgs()
	msi.File.Name, msi.Command = "agent.msi", nil
	if err := msi.Validate(); err != nil {
		t.Fatalf("msi without command: %v", err)
	}
	signed := uploadArgs()
	signed.RequireAuthenticode = true
	if err := signed.Validate(); err != nil {
		t.Fatalf("upload with Authenticode: %v", err)
	}
	if err := commandArgs().Validate(); err != nil {
		t.Fatalf("valid command: %v", err)
	}
	for name, c := range map[string]struct {
		edit func(*PackageArgs)
		want string
	}{
		"run id":           {func(a *PackageArgs) { a.RunID = "../x" }, "run_id"},
		"kind":             {func(a *PackageArgs) { a.Kind = "snap" }, "unknown package kind"},
		"no file":          {func(a *PackageArgs) { a.File = nil }, "needs its file"},
		"bad sha":          {func(a *PackageArgs) { a.File.SHA256 = "AB" }, "sha256"},
		"size":             {func(a *PackageArgs) { a.File.Size = 0 }, "size"},
		"ticket":           {func(a *PackageArgs) { a.File.Ticket = "" }, "ticket"},
		"path in name":     {func(a *PackageArgs) { a.File.Name = `..\evil.exe` }, "plain file name"},
		"no command":       {func(a *PackageArgs) { a.Command = nil }, "a command is needed"},
		"empty arg":        {func(a *PackageArgs) { a.Command = []string{"{{file}}", ""} }, "argument 1"},
		"unknown param":    {func(a *PackageArgs) { a.Command = []string{"{{file}}", "{{nope}}"} }, "{{nope}} names no parameter"},
		"exit meaning":     {func(a *PackageArgs) { a.ExitCodes = map[int]string{5: "maybe"} }, "unknown meaning"},
		"detection":        {func(a *PackageArgs) { a.Detection = core.Detection{Kind: core.DetectFile} }, "needs its path"},
		"detection kind":   {func(a *PackageArgs) { a.Detection = core.Detection{Kind: "guess"} }, "unknown detection kind"},
		"plain and secret": {func(a *PackageArgs) { a.Params["token"] = "x" }, "both plain and secret"},
		"timeout":          {func(a *PackageArgs) { a.TimeoutSeconds = -1 }, "timeout_seconds"},
		"manager with file": {func(a *PackageArgs) {
			a.Kind, a.ManagerID = core.PkgWinget, "7zip.7zip"
		}, "has no file and no command"},
		"manager id": {func(a *PackageArgs) {
			a.Kind, a.ManagerID, a.File, a.Command = core.PkgApt, "-oAPT::x", nil, nil
		}, "manager_id"},
		"command with file":    {func(a *PackageArgs) { a.Kind = core.PkgCommand }, "a command package has no file"},
		"command without args": {func(a *PackageArgs) { *a = commandArgs(); a.Command = nil }, "a command package needs its command"},
		"command with id":      {func(a *PackageArgs) { *a = commandArgs(); a.ManagerID = "x" }, "no manager_id"},
		"command names file":   {func(a *PackageArgs) { *a = commandArgs(); a.Command = []string{"{{file}}"} }, "{{file}} names no parameter"},
		"command authenticode": {func(a *PackageArgs) { *a = commandArgs(); a.RequireAuthenticode = true }, "only an uploaded file"},
		"manager authenticode": {func(a *PackageArgs) {
			a.Kind, a.ManagerID, a.File, a.Command, a.RequireAuthenticode = core.PkgApt, "htop", nil, nil, true
		}, "only an uploaded file"},
	} {
		a := uploadArgs()
		c.edit(&a)
		if err := a.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// TestExpand fills placeholders and leaves the rest as written.
func TestExpand(t *testing.T) {
	got := Expand("/i={{file}} KEY={{token}}{{x}} {literal}", map[string]string{"file": `C:\a b.msi`, "token": "t"})
	if got != `/i=C:\a b.msi KEY=t {literal}` {
		t.Fatalf("got %q", got)
	}
}

// FuzzPackageArgs: decoding and validating never panic, and what
// validates has only known placeholders and a known kind.
func FuzzPackageArgs(f *testing.F) {
	b, _ := json.Marshal(uploadArgs())
	f.Add(b)
	f.Add([]byte(`{"run_id":"a","kind":"apt","manager_id":"x","detection":{"kind":"os_package","name":"x"}}`))
	f.Add([]byte(`{"run_id":"a","kind":"upload","file":{"sha256":"` + strings.Repeat("0", 64) + `","size":1,"name":"a.msi","ticket":"t"},"exit_codes":{"1":"ok"},"detection":{"kind":"registry","product_code":"{X}"}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var a PackageArgs
		if json.Unmarshal(b, &a) != nil || a.Validate() != nil {
			return
		}
		if _, ok := core.PackageKinds[a.Kind]; !ok {
			t.Fatalf("kind %q validated", a.Kind)
		}
		for _, arg := range a.Command {
			for _, n := range Placeholders(arg) {
				_, p := a.Params[n]
				_, s := a.Secrets[n]
				if !p && !s && n != "file" {
					t.Fatalf("placeholder %q validated", n)
				}
			}
		}
	})
}
