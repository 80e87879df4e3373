package service

import (
	// The server validates check parameters by building the checks.
	_ "github.com/wacht-rmm/wacht/internal/checks/all"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// validateChecks validates p and the parameters of its checks: the one
// place where policies and network devices have their checks validated.
func validateChecks(p core.Policy) error { return policy.Validate(p) }
