package core

import (
	"context"
	"time"
)

// Package kinds: an installer uploaded to the server, a command that needs
// no file (it configures what the OS has, e.g. Defender), or a package of
// an operating system's package manager.
const (
	PkgUpload  = "upload"
	PkgCommand = "command"
	PkgWinget  = "winget"
	PkgChoco   = "choco"
	PkgBrew    = "brew"
	PkgApt     = "apt"
	PkgDnf     = "dnf"
	PkgZypper  = "zypper"
)

// PackageKinds lists every kind with the operating system its package
// manager runs on ("" for an upload or a command: any).
var PackageKinds = map[string]string{
	PkgUpload: "", PkgCommand: "", PkgWinget: "windows", PkgChoco: "windows", PkgBrew: "darwin",
	PkgApt: "linux", PkgDnf: "linux", PkgZypper: "linux",
}

// ManagerKind reports whether kind is a package manager's: the package is
// a manager ID and the agent builds the command itself.
func ManagerKind(kind string) bool { return PackageKinds[kind] != "" }

// Meanings of an installer's exit code.
const (
	ExitOK     = "ok"
	ExitReboot = "reboot" // installed; takes effect after a restart
	ExitRetry  = "retry"  // another installation is running: try again later
	ExitFailed = "failed" // any code not listed
)

// DefaultExitCodes are the Windows Installer's codes every package starts
// with: 0 done, 3010 and 1641 done but a restart is needed, 1618 another
// installation is in progress.
func DefaultExitCodes() map[int]string {
	return map[int]string{0: ExitOK, 3010: ExitReboot, 1641: ExitReboot, 1618: ExitRetry}
}

// Detection rule kinds (internal/platform/swdetect evaluates them).
const (
	DetectRegistry  = "registry"   // Windows uninstall entry (64- and 32-bit views)
	DetectFile      = "file"       // a file exists (with its version on Windows)
	DetectService   = "service"    // a service exists
	DetectOSPackage = "os_package" // dpkg, rpm or Homebrew knows the package
	DetectAppBundle = "app_bundle" // macOS app bundle, version from Info.plist
)

// Detection tells whether a package is installed and in which version.
// Which fields count depends on Kind: DisplayName (a pattern with * and ?,
// case-insensitive) or ProductCode for registry, Path for file and
// app_bundle, Name for service and os_package. MinVersion, if set, makes an
// older version count as not installed.
type Detection struct {
	Kind        string `json:"kind"`
	DisplayName string `json:"display_name,omitempty"`
	ProductCode string `json:"product_code,omitempty"`
	Path        string `json:"path,omitempty"`
	Name        string `json:"name,omitempty"`
	MinVersion  string `json:"min_version,omitempty"`
}

// PackageParam is a value the command lines use as {{name}}. A secret
// value (a registration token) is sealed at rest and never shown: Value is
// empty in what the API returns, Set says whether one is stored.
type PackageParam struct {
	Name   string `json:"name"`
	Value  string `json:"value,omitempty"`
	Secret bool   `json:"secret,omitempty"`
	Set    bool   `json:"set,omitempty"`
}

// Package is a software package definition: what to install where, how,
// and how to tell that it is installed. An upload's file is SHA256 (hex)
// of Size bytes in the server's blob store ("" until uploaded).
type Package struct {
	ID int64 `json:"id"`
	// Builtin is the catalog key of a package Wacht ships (read-only,
	// refreshed from code; "" for the administrators' own packages).
	Builtin string `json:"builtin,omitempty"`
	// Source names the vendor document a catalog entry follows (not
	// stored: the service adds it from the catalog).
	Source              *PackageSource `json:"source,omitempty"`
	Name                string         `json:"name"`
	Version             string         `json:"version"`
	OS                  string         `json:"os"`   // linux, windows, darwin
	Arch                string         `json:"arch"` // amd64, arm64, 386; "" for any
	Kind                string         `json:"kind"`
	ManagerID           string         `json:"manager_id,omitempty"` // the package manager's ID (a manager's kind)
	Install             []string       `json:"install"`              // argument array with {{param}} and {{file}} placeholders
	Uninstall           []string       `json:"uninstall"`
	Params              []PackageParam `json:"params"`
	ExitCodes           map[int]string `json:"exit_codes"`
	Detection           Detection      `json:"detection"`
	RequireAuthenticode bool           `json:"require_authenticode,omitempty"`
	TimeoutSeconds      int            `json:"timeout_seconds"`
	SHA256              string         `json:"sha256,omitempty"`
	Size                int64          `json:"size,omitempty"`
	FileName            string         `json:"file_name,omitempty"`
	CreatedAt           time.Time      `json:"created_at"`
	UpdatedAt           time.Time      `json:"updated_at"`
	UpdatedBy           string         `json:"updated_by,omitempty"`
	// Sealed holds the secret parameters' values, sealed by the service
	// (netdev.SealSecrets, under "params"); the store keeps it opaque.
	Sealed []byte `json:"-"`
	// MAC is the server's authentication of the definition and its file
	// (internal/scriptmac), written by the store with every change; a
	// package without a valid one is deployed nowhere.
	MAC []byte `json:"-"`
}

// PackageSource is the vendor document a catalog entry's switches come
// from. Verify says the switches could not be confirmed there: check them
// before the first deployment.
type PackageSource struct {
	Title  string `json:"title"`
	URL    string `json:"url"`
	Note   Text   `json:"note"`
	Verify bool   `json:"verify,omitempty"`
}

// PackageStore keeps package definitions.
type PackageStore interface {
	// CreatePackage stores p and sets ID and times; ErrConflict for a
	// name, version, OS and architecture another package has.
	CreatePackage(ctx context.Context, p *Package) error
	// UpdatePackage replaces p.ID's definition (not its file) and sets
	// UpdatedAt; ErrNotFound, ErrConflict as CreatePackage.
	UpdatePackage(ctx context.Context, p *Package) error
	// SetPackageFile records p's uploaded file; ErrNotFound.
	SetPackageFile(ctx context.Context, id int64, sha256 string, size int64, name, by string) error
	// GetPackage returns one package; ErrNotFound.
	GetPackage(ctx context.Context, id int64) (Package, error)
	// ListPackages returns every package by name, version and ID.
	ListPackages(ctx context.Context) ([]Package, error)
	// DeletePackage removes a package; ErrNotFound.
	DeletePackage(ctx context.Context, id int64) error
	// PackageBlobInUse reports whether a package names the file sha256 (a
	// blob that none names may be removed).
	PackageBlobInUse(ctx context.Context, sha256 string) (bool, error)
	// EnsureBuiltinPackage creates the catalog entry p.Builtin or refreshes
	// its definition, and sets p.ID. A package of the administrators that
	// took its name, version, OS and architecture keeps them; the entry
	// then gets its key in parentheses after its name.
	EnsureBuiltinPackage(ctx context.Context, p *Package) error
}
