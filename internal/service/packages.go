package service

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/netdev"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
)

// Software package definitions (issue 17). Everyone who sees devices may
// read them; creating, editing, uploading and deleting is for
// administrators of every client only: a package's command lines run as
// SYSTEM or root on every device it is deployed to (DESIGN.md "Privileged
// parameters"), on any client's device. Secret parameters are sealed
// like network devices' secrets (netdev.SealSecrets) and never returned.

// Package limits.
const (
	maxPackageName        = 100
	maxPackageVersion     = 64
	maxPackageArgs        = 64
	maxPackageArg         = 4096
	maxPackageParams      = 32
	maxPackageFileName    = 255
	DefaultPackageTimeout = 1800 // seconds
	maxPackageTimeout     = 86400
	// FilePlaceholder is where an upload's command line names the
	// downloaded installer.
	FilePlaceholder = "{{file}}"
)

// ErrBuiltinPackage refuses changes to a catalog entry.
var ErrBuiltinPackage = fmt.Errorf("built-in catalog packages are read-only; duplicate one to change it: %w", core.ErrForbidden)

// Errors of an upload, with their reasons in service.Reason.
var (
	ErrPackageTooLarge = errors.New("the file is larger than the server's upload limit")
	ErrDiskFull        = errors.New("the server's disk is full")
)

// packageSecrets is the key of the parameters' values in the sealed
// netdev.Secrets.
const packageSecrets = "params"

// PackageOSes and PackageArches are what a package may name.
var (
	PackageOSes   = []string{"linux", "windows", "darwin"}
	PackageArches = []string{"", "amd64", "arm64", "386"}
)

var (
	paramNameRE   = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,31}$`)
	placeholderRE = regexp.MustCompile(`\{\{([^{}]*)\}\}`)
	managerIDRE   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+@/:-]{0,199}$`)
	productCodeRE = regexp.MustCompile(`^\{[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\}$`)
)

// PackageInput is what creating or editing a package takes. A secret
// parameter sent without a value keeps its stored value.
type PackageInput struct {
	Name                string              `json:"name"`
	Version             string              `json:"version"`
	OS                  string              `json:"os"`
	Arch                string              `json:"arch"`
	Kind                string              `json:"kind"`
	ManagerID           string              `json:"manager_id"`
	Install             []string            `json:"install"`
	Uninstall           []string            `json:"uninstall"`
	Params              []core.PackageParam `json:"params"`
	ExitCodes           map[int]string      `json:"exit_codes"`
	Detection           core.Detection      `json:"detection"`
	RequireAuthenticode bool                `json:"require_authenticode"`
	TimeoutSeconds      int                 `json:"timeout_seconds"`
}

// packageAuthor checks that u may change package definitions.
func (s *Service) packageAuthor(ctx context.Context, u core.User) error {
	if err := need(u, authz.Admin); err != nil {
		return err
	}
	if u.Scope.Restricted {
		return core.ErrForbidden // a package reaches every client's devices
	}
	rs, err := s.remoteSettings(ctx)
	if err != nil {
		return err
	}
	if rs.Require2FA && !u.HasSecondFactor() && u.ID != cliID {
		return ErrRemote2FA
	}
	return nil
}

// ListPackages returns every package definition, secrets blanked.
func (s *Service) ListPackages(ctx context.Context, u core.User) ([]core.Package, error) {
	if err := need(u, authz.Read); err != nil {
		return nil, err
	}
	if err := s.seedPackages(ctx); err != nil {
		return nil, err
	}
	ps, err := s.store.ListPackages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing packages: %w", err)
	}
	for i := range ps {
		ps[i] = packageView(ps[i])
	}
	return ps, nil
}

// GetPackage returns one package definition, secrets blanked.
func (s *Service) GetPackage(ctx context.Context, u core.User, id int64) (core.Package, error) {
	if err := need(u, authz.Read); err != nil {
		return core.Package{}, err
	}
	if err := s.seedPackages(ctx); err != nil {
		return core.Package{}, err
	}
	p, err := s.store.GetPackage(ctx, id)
	if err != nil {
		return core.Package{}, fmt.Errorf("getting package %d: %w", id, err)
	}
	return packageView(p), nil
}

// packageView blanks the secret parameters' values and names a catalog
// entry's source document.
func packageView(p core.Package) core.Package {
	if p.Builtin != "" {
		if i := slices.IndexFunc(Catalog(), func(e CatalogEntry) bool { return e.Key == p.Builtin }); i >= 0 {
			src := Catalog()[i].Source
			p.Source = &src
		}
	}
	p.Params = slices.Clone(p.Params)
	for i := range p.Params {
		if p.Params[i].Secret {
			p.Params[i].Value = ""
		}
	}
	p.Sealed = nil
	return p
}

// SavePackage creates (id 0) or replaces a package definition; its file
// stays. The error is a *policy.ValidationError for invalid input.
func (s *Service) SavePackage(ctx context.Context, u core.User, id int64, in PackageInput) (core.Package, error) {
	if err := s.packageAuthor(ctx, u); err != nil {
		return core.Package{}, err
	}
	stored := map[string]string{}
	var old core.Package
	if id != 0 {
		var err error
		if old, err = s.store.GetPackage(ctx, id); err != nil {
			return core.Package{}, fmt.Errorf("getting package %d: %w", id, err)
		}
		if old.Builtin != "" {
			return core.Package{}, ErrBuiltinPackage
		}
		sec, err := s.openSecrets(old.Sealed)
		if err != nil {
			return core.Package{}, fmt.Errorf("opening the secrets of package %d: %w", id, err)
		}
		stored = sec[packageSecrets]
	}
	p, secrets, err := normalizePackage(in, stored, false)
	if err != nil {
		return core.Package{}, err
	}
	if id != 0 && old.SHA256 != "" && p.Kind != core.PkgUpload {
		return core.Package{}, &policy.ValidationError{Fields: []policy.FieldError{fieldErr("kind",
			"the package has an uploaded file; create a new package of another kind",
			"das Paket hat eine hochgeladene Datei; legen Sie für eine andere Art ein neues Paket an")}}
	}
	if len(secrets) > 0 {
		if p.Sealed, err = s.sealSecrets(netdev.Secrets{packageSecrets: secrets}); err != nil {
			return core.Package{}, err
		}
	}
	p.ID, p.UpdatedBy = id, Actor(u)
	action := "package.create"
	if id == 0 {
		err = s.store.CreatePackage(ctx, &p)
	} else {
		action = "package.update"
		err = s.store.UpdatePackage(ctx, &p)
	}
	if errors.Is(err, core.ErrConflict) {
		return core.Package{}, &policy.ValidationError{Fields: []policy.FieldError{fieldErr("version",
			"a package with this name, version, OS and architecture exists",
			"ein Paket mit diesem Namen, dieser Version, diesem Betriebssystem und dieser Architektur gibt es schon")}}
	}
	if err != nil {
		return core.Package{}, fmt.Errorf("saving package: %w", err)
	}
	if err := s.record(ctx, u, action, target("package", p.ID), packageDetail(p), core.AuditOK); err != nil {
		return core.Package{}, err
	}
	if err := s.pushIfSoftware(ctx, p.ID); err != nil {
		return core.Package{}, err
	}
	return s.GetPackage(ctx, u, p.ID)
}

// packageDetail describes a package in the audit log: what runs, with
// secret parameters masked.
func packageDetail(p core.Package) string {
	params := make([]string, len(p.Params))
	for i, pp := range p.Params {
		v := strconv.Quote(pp.Value)
		if pp.Secret {
			v = "(secret)"
		}
		params[i] = pp.Name + "=" + v
	}
	what := fmt.Sprintf("%q", p.Install)
	if core.ManagerKind(p.Kind) {
		what = p.ManagerID + " " + what
	}
	return fmt.Sprintf("%q %s (%s/%s, %s %s); uninstall %q; params %s; detection %s", p.Name, p.Version, p.OS, p.Arch,
		p.Kind, what, p.Uninstall, strings.Join(params, ", "), p.Detection.Kind)
}

// DeletePackage removes a package definition and its file, unless
// another package names the same content. While deployments of it wait
// for their devices it is refused with a *PackageInUseError unless force,
// which cancels them (as deleting a script cancels its queued runs).
func (s *Service) DeletePackage(ctx context.Context, u core.User, id int64, force bool) error {
	if err := s.packageAuthor(ctx, u); err != nil {
		return err
	}
	p, err := s.store.GetPackage(ctx, id)
	if err != nil {
		return fmt.Errorf("getting package %d: %w", id, err)
	}
	if p.Builtin != "" {
		return ErrBuiltinPackage
	}
	waiting, err := s.store.QueuedPackageRuns(ctx, id)
	if err != nil {
		return fmt.Errorf("counting the queued deployments of package %d: %w", id, err)
	}
	if waiting > 0 && !force {
		return &PackageInUseError{Waiting: waiting}
	}
	if err := s.store.DeletePackage(ctx, id); err != nil {
		return fmt.Errorf("deleting package %d: %w", id, err)
	}
	// Runs waiting for their device would deploy a package that is gone.
	n, err := s.store.CancelPackageRuns(ctx, id, s.now())
	if err != nil {
		return fmt.Errorf("cancelling the queued deployments of package %d: %w", id, err)
	}
	s.releaseBlob(ctx, p.SHA256)
	detail := packageDetail(p)
	if n > 0 {
		detail += fmt.Sprintf("; forced, %d queued deployments cancelled", n)
	}
	if err := s.record(ctx, u, "package.delete", target("package", id), detail, core.AuditOK); err != nil {
		return err
	}
	return s.pushIfSoftware(ctx, id)
}

// releaseBlob removes file sum from this node's blob store if no package
// or agent release file names it any more. A failure is logged, not
// returned: the change it follows is done, and SweepBlobs tries again.
func (s *Service) releaseBlob(ctx context.Context, sum string) {
	if s.blobs == nil || sum == "" {
		return
	}
	if removed, err := s.blobs.Remove(ctx, sum, blobs.InUseBy(s.store)); err != nil {
		s.log.Error("removing an unused file", "sha256", sum, "err", err)
	} else if removed {
		s.log.Info("file removed: no package or agent release names it", "sha256", sum)
	}
}

// SweepBlobs removes the files of this node's blob store that no package
// or agent release file names (recently written ones stay:
// blobs.DefaultGrace) and returns how many. Every node runs it for its
// own folder.
func (s *Service) SweepBlobs(ctx context.Context) (int, error) {
	if s.blobs == nil {
		return 0, nil
	}
	return s.blobs.Sweep(ctx, blobs.InUseBy(s.store))
}

// UploadPackageFile streams an installer into the blob store and makes it
// package id's file. Nothing is half-stored: a failed, too large or
// disk-filling upload leaves the package as it was.
func (s *Service) UploadPackageFile(ctx context.Context, u core.User, id int64, name string, r io.Reader) (core.Package, error) {
	if err := s.packageAuthor(ctx, u); err != nil {
		return core.Package{}, err
	}
	p, err := s.store.GetPackage(ctx, id)
	if err != nil {
		return core.Package{}, fmt.Errorf("getting package %d: %w", id, err)
	}
	if p.Builtin != "" {
		return core.Package{}, ErrBuiltinPackage
	}
	if s.blobs == nil {
		return core.Package{}, errors.New("packages: the server has no blob store")
	}
	var fs []policy.FieldError
	if p.Kind != core.PkgUpload {
		fs = append(fs, fieldErr("kind", "only an upload package has a file", "nur ein Paket vom Typ upload hat eine Datei"))
	}
	if name != filepath.Base(name) || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		fs = append(fs, fieldErr("name", "must be a file name without a folder", "muss ein Dateiname ohne Ordner sein"))
	} else if _, fe := policy.CleanName("name", name, maxPackageFileName); fe != nil {
		fs = append(fs, *fe)
	}
	if len(fs) > 0 {
		return core.Package{}, &policy.ValidationError{Fields: fs}
	}
	sum, size, err := s.blobs.Put(r)
	switch {
	case errors.Is(err, blobs.ErrTooLarge):
		return core.Package{}, fmt.Errorf("%w (%d bytes)", ErrPackageTooLarge, s.blobs.MaxSize())
	case errors.Is(err, blobs.ErrDiskFull):
		s.log.Error("package upload: disk full", "package", id, "err", err)
		return core.Package{}, ErrDiskFull
	case err != nil:
		return core.Package{}, fmt.Errorf("storing the file of package %d: %w", id, err)
	}
	if err := s.store.SetPackageFile(ctx, id, sum, size, name, Actor(u)); err != nil {
		return core.Package{}, fmt.Errorf("recording the file of package %d: %w", id, err)
	}
	if p.SHA256 != sum {
		s.releaseBlob(ctx, p.SHA256) // the file it replaced
	}
	detail := fmt.Sprintf("%q %s: %s, %d bytes, sha256 %s", p.Name, p.Version, name, size, sum)
	if err := s.record(ctx, u, "package.upload", target("package", id), detail, core.AuditOK); err != nil {
		return core.Package{}, err
	}
	if err := s.pushIfSoftware(ctx, id); err != nil {
		return core.Package{}, err
	}
	return s.GetPackage(ctx, u, id)
}

// normalizePackage validates a package's input, fills its defaults and
// returns the secret parameters' values (stored ones kept where none was
// sent). A catalog entry (template) has its secrets' values left unset.
func normalizePackage(in PackageInput, stored map[string]string, template bool) (core.Package, map[string]string, error) {
	var fs []policy.FieldError
	add := func(field, en, de string) { fs = append(fs, fieldErr(field, en, de)) }
	p := core.Package{Version: strings.TrimSpace(in.Version), OS: in.OS, Arch: in.Arch, Kind: in.Kind,
		ManagerID: strings.TrimSpace(in.ManagerID), Install: emptyArgs(in.Install), Uninstall: emptyArgs(in.Uninstall),
		ExitCodes: in.ExitCodes, Detection: in.Detection, RequireAuthenticode: in.RequireAuthenticode, TimeoutSeconds: in.TimeoutSeconds}
	var fe *policy.FieldError
	if p.Name, fe = policy.CleanName("name", in.Name, maxPackageName); fe != nil {
		fs = append(fs, *fe)
	}
	if _, fe = policy.CleanName("version", p.Version, maxPackageVersion); fe != nil {
		fs = append(fs, *fe)
	}
	if !slices.Contains(PackageOSes, p.OS) {
		add("os", "must be linux, windows or darwin", "muss linux, windows oder darwin sein")
	}
	if !slices.Contains(PackageArches, p.Arch) {
		add("arch", "must be amd64, arm64, 386 or empty for any", "muss amd64, arm64, 386 oder leer (jede) sein")
	}
	managerOS, known := core.PackageKinds[p.Kind]
	kinds := slices.Sorted(maps.Keys(core.PackageKinds))
	switch {
	case !known:
		add("kind", "must be one of "+strings.Join(kinds, ", "), "muss eines von "+strings.Join(kinds, ", ")+" sein")
	case managerOS != "" && managerOS != p.OS:
		add("kind", p.Kind+" runs on "+managerOS+" only", p.Kind+" läuft nur unter "+managerOS)
	}
	upload := p.Kind == core.PkgUpload
	switch {
	case known && !core.ManagerKind(p.Kind) && p.ManagerID != "":
		add("manager_id", "only a package manager's package has a package manager ID", "nur ein Paket eines Paketmanagers hat eine Paketmanager-ID")
	case core.ManagerKind(p.Kind) && !managerIDRE.MatchString(p.ManagerID):
		add("manager_id", "must be the package manager's ID (letters, digits and . _ + @ / : -, not starting with -)",
			"muss die ID des Paketmanagers sein (Buchstaben, Ziffern und . _ + @ / : -, nicht mit - beginnend)")
	}
	switch {
	case upload && len(p.Install) == 0:
		add("install", "an upload needs its install command line", "ein hochgeladenes Paket braucht seine Installationsbefehlszeile")
	case p.Kind == core.PkgCommand && len(p.Install) == 0:
		add("install", "a command package needs its install command line", "ein Befehlspaket braucht seine Installationsbefehlszeile")
	}
	if p.RequireAuthenticode && (!upload || p.OS != "windows") {
		add("require_authenticode", "only a Windows upload has an Authenticode signature", "nur ein hochgeladenes Windows-Paket hat eine Authenticode-Signatur")
	}
	switch {
	case p.TimeoutSeconds == 0:
		p.TimeoutSeconds = DefaultPackageTimeout
	case p.TimeoutSeconds < 1 || p.TimeoutSeconds > maxPackageTimeout:
		add("timeout_seconds", fmt.Sprintf("must be 1 to %d seconds", maxPackageTimeout), fmt.Sprintf("muss 1 bis %d Sekunden sein", maxPackageTimeout))
	}
	if p.ExitCodes == nil {
		p.ExitCodes = core.DefaultExitCodes()
	}
	for code, meaning := range p.ExitCodes {
		if !slices.Contains([]string{core.ExitOK, core.ExitReboot, core.ExitRetry, core.ExitFailed}, meaning) {
			add("exit_codes."+strconv.Itoa(code), "must be ok, reboot, retry or failed", "muss ok, reboot, retry oder failed sein")
		}
	}
	var secrets map[string]string
	p.Params, secrets, fs = cleanParams(in.Params, stored, template, fs)
	names := map[string]bool{}
	for _, pp := range p.Params {
		names[pp.Name] = true
	}
	fs = checkArgs("install", p.Install, names, upload, fs)
	fs = checkArgs("uninstall", p.Uninstall, names, false, fs)
	fs = checkDetection(p.Detection, p.OS, fs)
	if len(fs) > 0 {
		return p, nil, &policy.ValidationError{Fields: fs}
	}
	return p, secrets, nil
}

func emptyArgs(a []string) []string {
	if a == nil {
		return []string{}
	}
	return a
}

// cleanParams checks the parameters and takes the secret values out of
// them (a secret sent empty keeps its stored value; a template's stays
// unset).
func cleanParams(in []core.PackageParam, stored map[string]string, template bool, fs []policy.FieldError) ([]core.PackageParam, map[string]string, []policy.FieldError) {
	out, secrets := make([]core.PackageParam, 0, len(in)), map[string]string{}
	if len(in) > maxPackageParams {
		fs = append(fs, fieldErr("params", fmt.Sprintf("at most %d parameters", maxPackageParams), fmt.Sprintf("höchstens %d Parameter", maxPackageParams)))
	}
	seen := map[string]bool{"file": true}
	for i, pp := range in {
		at := "params[" + strconv.Itoa(i) + "]"
		if !paramNameRE.MatchString(pp.Name) || seen[pp.Name] {
			fs = append(fs, fieldErr(at+".name", "must be unique, lower-case letters, digits and _ (not file)",
				"muss eindeutig sein und aus Kleinbuchstaben, Ziffern und _ bestehen (nicht file)"))
		}
		seen[pp.Name] = true
		if len(pp.Value) > maxPackageArg || strings.ContainsRune(pp.Value, 0) {
			fs = append(fs, fieldErr(at+".value", fmt.Sprintf("must have at most %d bytes and no NUL", maxPackageArg),
				fmt.Sprintf("darf höchstens %d Bytes und kein NUL enthalten", maxPackageArg)))
		}
		if !pp.Secret {
			out = append(out, core.PackageParam{Name: pp.Name, Value: pp.Value})
			continue
		}
		v := pp.Value
		if v == "" {
			v = stored[pp.Name]
		}
		switch {
		case v == "" && template:
			out = append(out, core.PackageParam{Name: pp.Name, Secret: true})
			continue
		case v == "":
			fs = append(fs, fieldErr(at+".value", "a secret needs a value", "ein Geheimnis braucht einen Wert"))
		}
		secrets[pp.Name] = v
		out = append(out, core.PackageParam{Name: pp.Name, Secret: true, Set: true})
	}
	return out, secrets, fs
}

// checkArgs checks a command line: an argument array whose {{name}}
// placeholders name parameters ({{file}}: an upload's installer).
func checkArgs(field string, args []string, params map[string]bool, file bool, fs []policy.FieldError) []policy.FieldError {
	if len(args) > maxPackageArgs {
		fs = append(fs, fieldErr(field, fmt.Sprintf("at most %d arguments", maxPackageArgs), fmt.Sprintf("höchstens %d Argumente", maxPackageArgs)))
	}
	for i, a := range args {
		at := field + "[" + strconv.Itoa(i) + "]"
		if a == "" || len(a) > maxPackageArg || strings.ContainsRune(a, 0) {
			fs = append(fs, fieldErr(at, fmt.Sprintf("must have 1 to %d bytes and no NUL", maxPackageArg),
				fmt.Sprintf("muss 1 bis %d Bytes haben und darf kein NUL enthalten", maxPackageArg)))
		}
		for _, m := range placeholderRE.FindAllStringSubmatch(a, -1) {
			if name := m[1]; !params[name] && (name != "file" || !file) {
				fs = append(fs, fieldErr(at, "{{"+name+"}} names no parameter", "{{"+name+"}} bezeichnet keinen Parameter"))
			}
		}
	}
	return fs
}

// checkDetection checks a detection rule against the package's OS.
func checkDetection(d core.Detection, os string, fs []policy.FieldError) []policy.FieldError {
	add := func(field, en, de string) { fs = append(fs, fieldErr("detection."+field, en, de)) }
	onlyOn := func(want ...string) {
		if !slices.Contains(want, os) {
			add("kind", d.Kind+" works on "+strings.Join(want, ", ")+" only", d.Kind+" gibt es nur unter "+strings.Join(want, ", "))
		}
	}
	absPath := func() {
		if !absolute(d.Path, os) {
			add("path", "must be an absolute path", "muss ein absoluter Pfad sein")
		}
	}
	switch d.Kind {
	case core.DetectRegistry:
		onlyOn("windows")
		switch {
		case (d.DisplayName == "") == (d.ProductCode == ""):
			add("display_name", "give a display name pattern or a product code", "geben Sie ein Anzeigenamen-Muster oder einen Produktcode an")
		case d.ProductCode != "" && !productCodeRE.MatchString(d.ProductCode):
			add("product_code", "must be an MSI product code {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}", "muss ein MSI-Produktcode {XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX} sein")
		case d.DisplayName != "" && !validPattern(d.DisplayName):
			add("display_name", "is not a valid pattern (* ? and [ ])", "ist kein gültiges Muster (* ? und [ ])")
		}
	case core.DetectFile:
		absPath()
		if d.MinVersion != "" && os != "windows" {
			add("min_version", "files have versions on Windows only", "Dateien haben nur unter Windows Versionen")
		}
	case core.DetectService, core.DetectOSPackage:
		if d.Kind == core.DetectOSPackage {
			onlyOn("linux", "darwin")
		}
		if d.Name == "" || len(d.Name) > 256 || strings.HasPrefix(d.Name, "-") || strings.ContainsAny(d.Name, "\x00\n\r\t /\\") {
			add("name", "must be the name, without spaces or slashes, not starting with -", "muss der Name sein, ohne Leerzeichen und Schrägstriche, nicht mit - beginnend")
		}
	case core.DetectAppBundle:
		onlyOn("darwin")
		absPath()
		if !strings.HasSuffix(d.Path, ".app") {
			add("path", "must name an .app bundle", "muss ein .app-Bundle nennen")
		}
	default:
		add("kind", "must be registry, file, service, os_package or app_bundle", "muss registry, file, service, os_package oder app_bundle sein")
	}
	if len(d.MinVersion) > maxPackageVersion || strings.ContainsRune(d.MinVersion, 0) {
		add("min_version", fmt.Sprintf("must have at most %d bytes", maxPackageVersion), fmt.Sprintf("darf höchstens %d Bytes haben", maxPackageVersion))
	}
	return fs
}

// validPattern reports whether p is a display name pattern as the agent
// matches it (swdetect: path.Match, ignoring case).
func validPattern(p string) bool {
	_, err := path.Match(p, "")
	return err == nil
}

// absolute reports whether p is an absolute path on os (C:\… or
// \\server\… on Windows, /… elsewhere), without a NUL or "..".
func absolute(p, os string) bool {
	if p == "" || len(p) > 1024 || strings.ContainsRune(p, 0) || slices.Contains(strings.FieldsFunc(p, func(r rune) bool { return r == '/' || r == '\\' }), "..") {
		return false
	}
	if os == "windows" {
		return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') || strings.HasPrefix(p, `\\`)
	}
	return strings.HasPrefix(p, "/")
}
