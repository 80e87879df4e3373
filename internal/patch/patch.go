// Package patch holds the portable rules of patch management (issue 19),
// shared by the agent and the server so that both decide alike: which
// updates a policy approves, when the install window is, what the daily
// verification says, the policy defaults and validation, and the curated
// catalogue of third-party and end-of-life software.
package patch

import (
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Excluded reports whether the exclusions keep u back: its KB, its ID (a
// package name, winget ID…) or its title matching a pattern (glob.go:
// path.Match syntax, case-insensitive, * also across "/").
func Excluded(e core.PatchExclusions, u core.Update) bool {
	if kb := core.NormalizeKB(u.KB); kb != "" && slices.ContainsFunc(e.KBs, func(x string) bool { return sameKB(x, kb[2:]) }) {
		return true
	}
	if slices.ContainsFunc(e.Packages, func(x string) bool { return strings.EqualFold(strings.TrimSpace(x), u.ID) }) {
		return true
	}
	if len(e.Titles) == 0 {
		return false
	}
	lower := strings.ToLower(u.Title)
	return slices.ContainsFunc(e.Titles, func(p string) bool { return matchTitle(p, u.Title, lower) })
}

// sameKB reports whether x is the KB number digits (core.NormalizeKB's
// forms, without allocating).
func sameKB(x, digits string) bool {
	x = strings.TrimSpace(x)
	if len(x) > 2 && strings.EqualFold(x[:2], "kb") {
		x = x[2:]
	}
	return x == digits
}

// Approve decides u's approval (core.Approval…) under policy p and the
// technicians' decisions (Key → approved): exclusions first, then a
// decision, then the rules.
func Approve(p core.PatchPolicy, decisions map[string]bool, u core.Update) string {
	if Excluded(p.Exclusions, u) {
		return core.ApprovalExcluded
	}
	if ok, found := decisions[u.Key]; found {
		if ok {
			return core.ApprovalManual
		}
		return core.ApprovalDeclined
	}
	for _, r := range p.AutoApprove {
		if (r.Classification == "" || r.Classification == u.Classification) &&
			core.SeverityRank(u.Severity) >= core.SeverityRank(r.MinSeverity) {
			return core.ApprovalAuto
		}
	}
	return core.ApprovalNone
}

// Approved reports whether an approval state lets the agent install.
func Approved(state string) bool { return state == core.ApprovalAuto || state == core.ApprovalManual }

// Verification is the daily verification's outcome: the "patches" check
// result's status, value (approved updates missing) and message.
type Verification struct {
	Status  core.Status
	Value   float64
	Message core.Text
}

// The rest of the API (signatures are the contract others code against):
//
//	func Defaults(p core.PatchPolicy) core.PatchPolicy               // defaults.go
//	func DefaultsFor(p core.PatchPolicy, role string) core.PatchPolicy
//	func Validate(p core.PatchPolicy) error                           // validate.go, *ValidationError
//	func OpenWindow(s core.PatchSchedule, extra []protocol.TimeWindow, lastRun, now time.Time, loc *time.Location) (protocol.TimeWindow, bool)
//	func NextWindow(s core.PatchSchedule, extra []protocol.TimeWindow, after time.Time, loc *time.Location) protocol.TimeWindow
//	func Verify(p core.PatchPolicy, decisions map[string]bool, missing []core.MissingUpdate, reboot core.RebootState, sources []core.PatchSourceStatus, now time.Time) Verification
//	var Catalog []Product; func MatchProduct(name string) (Product, bool); func Enrich(u core.Update) core.Update
//	var EndOfLife []EOLProduct; func FindEOL(programs []core.Program) []core.Update; func EOLAdvice(EOLProduct) core.Text
