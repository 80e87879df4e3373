//go:build !linux && !windows && !darwin

package swdetect

import (
	"context"
	"errors"
)

func (host) uninstallEntries(context.Context) ([]UninstallEntry, error) {
	return nil, errors.ErrUnsupported
}

func (host) fileVersion(_ context.Context, p string) (string, error) { return "", statFile(p) }

func (host) osPackage(context.Context, string) (string, error) { return "", errors.ErrUnsupported }

func (host) bundleVersion(context.Context, string) (string, error) { return "", errors.ErrUnsupported }
