package service

import (
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// validateChecks validates p and the parameters of its checks against
// their declarations (internal/checkspec), without linking any collector:
// the one place where policies and network devices have their checks
// validated.
func validateChecks(p core.Policy) error { return policy.Validate(p) }
