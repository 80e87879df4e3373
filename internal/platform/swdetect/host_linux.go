package swdetect

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/wacht-rmm/wacht/internal/check"
)

const (
	dpkgQuery = "/usr/bin/dpkg-query"
	rpmBin    = "/usr/bin/rpm"
)

func init() { check.AllowBuiltin(dpkgQuery, rpmBin) }

func (host) uninstallEntries(context.Context) ([]UninstallEntry, error) {
	return nil, errors.ErrUnsupported
}

func (host) fileVersion(_ context.Context, p string) (string, error) { return "", statFile(p) }

func (host) bundleVersion(context.Context, string) (string, error) { return "", errors.ErrUnsupported }

// osPackage asks dpkg where it is the package manager, else rpm.
func (host) osPackage(ctx context.Context, name string) (string, error) {
	if statFile(dpkgQuery) == nil {
		out, err := run(ctx, dpkgQuery, "-W", "-f="+DpkgFormat, "--", name)
		if exitOne(err) && strings.Contains(out, "no packages found") {
			return "", errAbsent
		}
		if err != nil {
			return "", err
		}
		return parseDpkg(out, name)
	}
	if statFile(rpmBin) == nil {
		out, err := run(ctx, rpmBin, "-q", "--qf", RpmFormat, "--", name)
		if exitOne(err) && strings.Contains(out, rpmNotInstalled) {
			return "", errAbsent
		}
		if err != nil {
			return "", err
		}
		return parseRpm(out, name)
	}
	return "", fmt.Errorf("neither dpkg nor rpm is installed: %w", errors.ErrUnsupported)
}

func exitOne(err error) bool {
	var ee *exec.ExitError
	return errors.As(err, &ee) && ee.ExitCode() == 1
}
