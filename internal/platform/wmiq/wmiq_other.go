//go:build !windows

package wmiq

import (
	"context"
	"errors"
)

// Query is unsupported off Windows.
func Query(context.Context, string, string, any) error { return errors.ErrUnsupported }

// QueryAll is unsupported off Windows.
func QueryAll(context.Context, string, string, any) error { return errors.ErrUnsupported }
