//go:build !linux && !windows && !darwin

package services

import (
	"context"
	"errors"
)

var defaultExclude []string

func newManager(context.Context) (manager, error) { return nil, errors.ErrUnsupported }
