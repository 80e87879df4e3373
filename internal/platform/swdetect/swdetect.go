// Package swdetect tells whether a software package is installed, and in
// which version, by a core.Detection rule: an entry of the Windows
// uninstall registry, a file, a service, a package of the OS's package
// manager or a macOS app bundle. Parsing and matching are portable and
// tested on captured outputs; OS access sits in per-OS files behind the
// system interface. A rule whose OS call fails reports StateError with the
// call and the reason, never "absent"; a kind an OS does not have reports
// StateUnsupported.
package swdetect

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/uninstallreg"
	"github.com/wacht-rmm/wacht/internal/vercmp"
)

// States of a detection.
const (
	StateInstalled   = "installed"
	StateAbsent      = "absent"
	StateOlder       = "older" // installed below the rule's minimum version
	StateError       = "error"
	StateUnsupported = "unsupported"
)

// Result is what a rule found. Version is the installed version where the
// source tells it; Err says why for StateError and StateUnsupported.
type Result struct {
	State   string
	Version string
	Err     error
}

// errAbsent is what a system returns for a thing that is not there.
var errAbsent = errors.New("not installed")

// UninstallEntry is one key under …\CurrentVersion\Uninstall, as the
// agent's one uninstall registry reader (uninstallreg) gives it.
type UninstallEntry = uninstallreg.Entry

// system is the OS access a rule needs. Each method returns errAbsent for
// what does not exist and errors.ErrUnsupported for what the OS lacks.
type system interface {
	uninstallEntries(ctx context.Context) ([]UninstallEntry, error)
	// fileVersion: "" where the OS keeps no file versions.
	fileVersion(ctx context.Context, path string) (string, error)
	serviceExists(ctx context.Context, name string) error
	osPackage(ctx context.Context, name string) (string, error)
	bundleVersion(ctx context.Context, path string) (string, error)
}

// Detect evaluates rule on this machine.
func Detect(ctx context.Context, rule core.Detection) Result {
	return detect(ctx, host{}, rule)
}

func detect(ctx context.Context, sys system, r core.Detection) Result {
	var version string
	var err error
	switch r.Kind {
	case core.DetectRegistry:
		var es []UninstallEntry
		if es, err = sys.uninstallEntries(ctx); err == nil {
			version, err = matchUninstall(es, r)
		}
		err = callErr("reading the uninstall registry", err)
	case core.DetectFile:
		version, err = sys.fileVersion(ctx, r.Path)
		err = callErr("reading "+r.Path, err)
		if err == nil && version == "" && r.MinVersion != "" {
			err = fmt.Errorf("%s has no version information here: %w", r.Path, errors.ErrUnsupported)
		}
	case core.DetectService:
		err = callErr("looking up service "+r.Name, sys.serviceExists(ctx, r.Name))
	case core.DetectOSPackage:
		version, err = sys.osPackage(ctx, r.Name)
		err = callErr("querying package "+r.Name, err)
	case core.DetectAppBundle:
		version, err = sys.bundleVersion(ctx, r.Path)
		err = callErr("reading "+r.Path, err)
	default:
		return Result{State: StateError, Err: fmt.Errorf("unknown detection kind %q", r.Kind)}
	}
	switch {
	case errors.Is(err, errAbsent):
		return Result{State: StateAbsent}
	case errors.Is(err, errors.ErrUnsupported):
		return Result{State: StateUnsupported, Err: err}
	case err != nil:
		return Result{State: StateError, Err: err}
	case r.MinVersion != "" && version == "":
		return Result{State: StateError, Err: errors.New("installed, but its version is unknown, so the minimum version cannot be checked")}
	case r.MinVersion != "" && vercmp.Compare(version, r.MinVersion) < 0:
		return Result{State: StateOlder, Version: version}
	}
	return Result{State: StateInstalled, Version: version}
}

// callErr wraps an OS call's failure with what was called; errAbsent and
// nil pass unchanged.
func callErr(call string, err error) error {
	if err == nil || errors.Is(err, errAbsent) {
		return err
	}
	return fmt.Errorf("%s: %w", call, err)
}

// matchUninstall returns the highest version among the entries the rule
// matches: by product code (the key's name) or display name pattern.
func matchUninstall(es []UninstallEntry, r core.Detection) (string, error) {
	found, best := false, ""
	for _, e := range es {
		if !matches(e, r) {
			continue
		}
		if !found || vercmp.Compare(e.DisplayVersion, best) > 0 {
			best = e.DisplayVersion
		}
		found = true
	}
	if !found {
		return "", errAbsent
	}
	return best, nil
}

func matches(e UninstallEntry, r core.Detection) bool {
	if r.ProductCode != "" {
		return strings.EqualFold(e.Key, r.ProductCode)
	}
	if e.DisplayName == "" {
		return false
	}
	ok, _ := path.Match(strings.ToLower(r.DisplayName), strings.ToLower(e.DisplayName))
	return ok
}
