package patch

import (
	"slices"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Decisions picks the decisions on missing out of as (a client's and
// the fleet-wide ones): the client's beats the fleet-wide one. Nil when
// there are none.
func Decisions(as []core.PatchApproval, clientID int64, missing []core.DevicePatch) map[string]bool {
	if len(as) == 0 {
		return nil
	}
	byPatch := make(map[int64]core.PatchApproval, len(as))
	for _, a := range as {
		if a.ClientID != clientID && a.ClientID != 0 {
			continue
		}
		if old, ok := byPatch[a.PatchID]; ok && old.ClientID != 0 {
			continue // the client's own decision stays
		}
		byPatch[a.PatchID] = a
	}
	var out map[string]bool
	for _, m := range missing {
		if a, ok := byPatch[m.PatchID]; ok {
			if out == nil {
				out = map[string]bool{}
			}
			out[m.Key] = a.Approved
		}
	}
	return out
}

// ScanFailed reports whether a source's last scan failed.
func ScanFailed(s core.DevicePatchStatus) bool {
	return slices.ContainsFunc(s.Sources, func(src core.PatchSourceStatus) bool { return src.Status == core.ScanError })
}

// Compliant is the one meaning of "fully patched" that the dashboard and
// the reports share: the device's last scan ran and no source failed
// (never green without looking), no approved update is missing
// (approvedMissing: ApprovedMissing of its missing updates, judged under
// its policy and the technicians' decisions) and none failed. Updates
// waiting for a technician, declined or excluded ones do not count; a
// pending restart is listed apart.
func Compliant(s core.DevicePatchStatus, approvedMissing int) bool {
	return !s.ScannedAt.IsZero() && !ScanFailed(s) && approvedMissing == 0 && s.Failed == 0
}

// ApprovedMissing counts the approved updates of missing.
func ApprovedMissing(missing []core.DevicePatch) int {
	n := 0
	for _, m := range missing {
		if Approved(m.Approval) {
			n++
		}
	}
	return n
}
