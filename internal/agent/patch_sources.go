package agent

import (
	"context"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/updates"
)

// defaultUpdateSources are this machine's update sources.
// Stand-in until internal/updates has Sources (p19-linux): none, which the
// verification reports as "no update source", never as patched.
func defaultUpdateSources() []updates.Source { return nil }

// defaultRebootState asks the OS whether it waits for a restart; an error
// is kept in the state (never read as "no restart").
// Stand-in until internal/updates has RebootPending (p19-linux).
func defaultRebootState(context.Context) core.RebootState {
	return core.RebootState{Error: "this agent build cannot read the pending-restart state yet"}
}

// recoverPatches records an install interrupted by the agent's stop.
func (a *Agent) recoverPatches() {
	maxFailures := 3
	if pol := a.plan.patchPolicy(); pol != nil {
		maxFailures = patchDefaults(pol.PatchPolicy).MaxFailures
	}
	if n := a.patch.recover(a.now(), maxFailures); n > 0 {
		a.log.Warn("an installation of updates was interrupted; recorded and retried in the window", "updates", n)
	}
}
