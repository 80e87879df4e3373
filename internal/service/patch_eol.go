package service

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// Removing end-of-life software (issue 19): the only fix for software its
// vendor abandoned is to remove it. Wacht offers that as a package of
// kind command whose uninstall runs the Windows Installer's removal of
// the program's MSI product code (msiexec /x {GUID} /qn /norestart) and
// whose detection rule is that product code, so the agent confirms the
// removal; the dashboard deploys it with the ordinary deployment path
// (DeployPackage, action uninstall) to the device or to a whole client.

// EOLRemoval is the package that removes one end-of-life program, and the
// deployment action to use with it.
type EOLRemoval struct {
	Package core.Package `json:"package"`
	Action  string       `json:"action"` // DeployUninstall
	Created bool         `json:"created"`
}

// eolRemovalTimeout bounds one removal (msiexec of a small program).
const eolRemovalTimeout = 900

// EOLRemovalPackage returns the package that removes the end-of-life
// software key (an EOLSoftware's Update.Key) found on device id, creating
// it on first use. The command is generated from the program's MSI product
// code, which must match the product code pattern: nothing from the
// request or the inventory reaches the command line unvalidated. Who may
// deploy it may have it created (the Remote permission and the 2FA rule of
// deployments; no administrator needed: the package runs only the fixed
// msiexec removal), the device in scope. A program without a product code
// is a validation error saying so. Audited as "package.create" when
// created.
func (s *Service) EOLRemovalPackage(ctx context.Context, u core.User, id int64, key string) (EOLRemoval, error) {
	if err := s.scriptAuthor(ctx, u); err != nil { // Remote and the 2FA rule, as deploying
		return EOLRemoval{}, err
	}
	d, err := s.device(ctx, u, id)
	if err != nil {
		return EOLRemoval{}, err
	}
	eol, err := s.deviceEOL(ctx, id)
	if err != nil {
		return EOLRemoval{}, err
	}
	i := slices.IndexFunc(eol, func(e EOLSoftware) bool { return e.Key == key })
	if i < 0 {
		return EOLRemoval{}, fmt.Errorf("end-of-life software %q on device %d: %w", key, id, core.ErrNotFound)
	}
	e := eol[i]
	code := msiProductCode(e.Program.ID)
	if code == "" || d.OS != "windows" {
		return EOLRemoval{}, &policy.ValidationError{Fields: []policy.FieldError{fieldErr("key",
			fmt.Sprintf("%s has no Windows Installer product code in the inventory: Wacht cannot remove it unattended; remove it by hand or with a package of your own",
				e.Program.Name),
			fmt.Sprintf("%s hat im Inventar keinen Windows-Installer-Produktcode: Wacht kann es nicht unbeaufsichtigt entfernen; entfernen Sie es von Hand oder mit einem eigenen Paket",
				e.Program.Name))}}
	}
	if err := s.seedPackages(ctx); err != nil {
		return EOLRemoval{}, err
	}
	removal := []string{"msiexec.exe", "/x", code, "/qn", "/norestart"}
	name := cut("Remove "+e.Program.Name, 100)
	version := cut(code, 60)
	ps, err := s.store.ListPackages(ctx)
	if err != nil {
		return EOLRemoval{}, fmt.Errorf("listing packages: %w", err)
	}
	for _, p := range ps {
		if p.Kind == core.PkgCommand && p.OS == "windows" && slices.Equal(p.Uninstall, removal) && p.Detection.ProductCode == code {
			return EOLRemoval{Package: packageView(p), Action: DeployUninstall}, nil
		}
	}
	in := PackageInput{Name: name, Version: version, OS: "windows", Kind: core.PkgCommand,
		Install: removal, Uninstall: removal, ExitCodes: core.DefaultExitCodes(), TimeoutSeconds: eolRemovalTimeout,
		Detection: core.Detection{Kind: core.DetectRegistry, ProductCode: code}}
	p, _, err := normalizePackage(in, nil, false)
	if err != nil {
		return EOLRemoval{}, err
	}
	p.UpdatedBy = Actor(u)
	if err := s.store.CreatePackage(ctx, &p); err != nil {
		if errors.Is(err, core.ErrConflict) {
			return EOLRemoval{}, fmt.Errorf("a package named %q version %s exists with another definition: %w", name, version, err)
		}
		return EOLRemoval{}, fmt.Errorf("creating the removal package: %w", err)
	}
	detail := fmt.Sprintf("removal of end-of-life %q (%s) found on device %d: %s", e.Program.Name, e.Key, id, packageDetail(p))
	if err := s.record(ctx, u, "package.create", target("package", p.ID), detail, core.AuditOK); err != nil {
		return EOLRemoval{}, err
	}
	got, err := s.store.GetPackage(ctx, p.ID)
	if err != nil {
		return EOLRemoval{}, fmt.Errorf("getting package %d: %w", p.ID, err)
	}
	return EOLRemoval{Package: packageView(got), Action: DeployUninstall, Created: true}, nil
}

// cut shortens s to at most n bytes at a character boundary.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
