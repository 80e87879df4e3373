//go:build !linux && !windows && !darwin

package services

import (
	"context"
	"errors"
)

var defaultExclude []string

// osTools: the check starts no program here.
var osTools []string

func newManager(context.Context) (manager, error) { return nil, errors.ErrUnsupported }
