package agent

import (
	"context"
	"errors"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/patch"
	"github.com/wacht-rmm/wacht/internal/updates"
)

// defaultUpdateSources are this machine's update sources. Homebrew runs
// as the owner of its installation (internal/updates).
func defaultUpdateSources() []updates.Source { return updates.Sources(updates.Options{}) }

// defaultRebootState asks the OS whether it waits for a restart; a check
// that failed sets Error (never read as "no restart").
func defaultRebootState(ctx context.Context) core.RebootState { return updates.RebootPending(ctx) }

// localized is err's English and German text: the sources' errors carry
// both (updates.ToolError).
func localized(err error) core.Text {
	var l interface{ Localized() core.Text }
	if errors.As(err, &l) {
		if t := l.Localized(); t.EN != "" {
			if t.DE == "" {
				t.DE = t.EN
			}
			return t
		}
	}
	return errText(err)
}

// recoverPatches records an install interrupted by the agent's stop.
func (a *Agent) recoverPatches() {
	maxFailures := 3
	if pol := a.plan.patchPolicy(); pol != nil {
		maxFailures = patch.Defaults(pol.PatchPolicy).MaxFailures
	}
	if n := a.patch.recover(a.now(), maxFailures); n > 0 {
		a.log.Warn("an installation of updates was interrupted; recorded and retried in the window", "updates", n)
	}
}
