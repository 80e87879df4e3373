//go:build !linux && !darwin

package loadsim

import "errors"

// raiseFileLimit: not implemented here (Windows has no such limit; other Unixes keep the limit Go set at start).
func raiseFileLimit(uint64) (uint64, error) { return 0, errors.ErrUnsupported }
