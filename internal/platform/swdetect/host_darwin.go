package swdetect

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/wacht-rmm/wacht/internal/check"
)

const plutil = "/usr/bin/plutil"

func init() { check.AllowBuiltin(plutil) }

// brewRoots are Homebrew's package folders (Apple silicon, Intel; formulae
// and casks). They are read directly: brew refuses to run as root, which
// the agent is.
var brewRoots = []string{"/opt/homebrew/Cellar", "/opt/homebrew/Caskroom", "/usr/local/Cellar", "/usr/local/Caskroom"}

func (host) uninstallEntries(context.Context) ([]UninstallEntry, error) {
	return nil, errors.ErrUnsupported
}

func (host) fileVersion(_ context.Context, p string) (string, error) { return "", statFile(p) }

// osPackage returns the highest version Homebrew keeps of name.
func (host) osPackage(_ context.Context, name string) (string, error) {
	var names []string
	for _, root := range brewRoots {
		es, err := os.ReadDir(filepath.Join(root, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		for _, e := range es {
			names = append(names, e.Name())
		}
	}
	return highestVersion(names)
}

// bundleVersion reads the bundle's Info.plist, converting a binary one
// with plutil.
func (host) bundleVersion(ctx context.Context, p string) (string, error) {
	plist := filepath.Join(p, "Contents", "Info.plist")
	b, err := os.ReadFile(plist)
	if errors.Is(err, fs.ErrNotExist) {
		return "", errAbsent
	}
	if err != nil {
		return "", err
	}
	v, err := plistVersion(b)
	if errors.Is(err, errBinaryPlist) {
		var out string
		if out, err = run(ctx, plutil, "-convert", "xml1", "-o", "-", "--", plist); err != nil {
			return "", err
		}
		v, err = plistVersion([]byte(out))
	}
	return v, err
}
