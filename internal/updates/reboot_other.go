//go:build !linux && !darwin && !windows

package updates

import (
	"context"
	"runtime"

	"github.com/wacht-rmm/wacht/internal/core"
)

// RebootPending: unsupported on this OS, which the state says.
func RebootPending(context.Context) core.RebootState {
	return core.RebootState{Error: "unsupported: Wacht cannot tell whether a restart is pending on " + runtime.GOOS}
}
