package updates

import (
	"context"

	"github.com/wacht-rmm/wacht/internal/core"
)

// RebootPending on macOS: macOS keeps no documented flag that says a
// restart is pending (softwareupdate's "Action: restart" describes an
// update not yet installed, not the state of the Mac), so the state is
// unknown, and says so. The agent knows of restarts its own installs need
// from their Results (RebootNeeded).
func RebootPending(context.Context) core.RebootState {
	return core.RebootState{Error: "unknown: macOS offers no documented way to tell whether a restart is pending"}
}
