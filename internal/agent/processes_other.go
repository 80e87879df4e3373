//go:build !unix && !windows

package agent

import "errors"

const canAskToEnd = false

func askToEnd(int32) error { return errors.ErrUnsupported }

func forceEnd(int32) error { return errors.ErrUnsupported }
