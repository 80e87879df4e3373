//go:build !windows

package wua

import (
	"context"
	"errors"
	"fmt"

	"github.com/wacht-rmm/wacht/internal/core"
)

var errNotWindows = fmt.Errorf("the Windows Update Agent exists on Windows only: %w", errors.ErrUnsupported)

// Search is Windows only.
func Search(context.Context) ([]core.Update, error) { return nil, errNotWindows }

// Install is Windows only.
func Install(context.Context, []string, func(InstallResult)) ([]InstallResult, error) {
	return nil, errNotWindows
}

// Server is Windows only.
func Server() (string, error) { return "", errNotWindows }
