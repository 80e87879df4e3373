//go:build !unix && !windows

package agent

import "errors"

func startPTY([]string, uint16, uint16) (ptyProc, error) { return nil, errors.ErrUnsupported }
