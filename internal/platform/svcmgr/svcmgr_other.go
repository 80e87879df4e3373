//go:build !linux && !windows && !darwin

package svcmgr

import (
	"context"
	"errors"
)

// New: no service manager is known here.
func New(context.Context) (Manager, error) { return nil, errors.ErrUnsupported }
