package report

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/patch"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// The patch compliance part of the daily report (issue 19): per client,
// how many of the devices with a patch status are fully patched, and the
// devices that are not, with what they miss. The monthly client report
// (issue 22) is to reuse PatchCompliance.

// PatchStatusStore is what the patch part reads: the devices' patch
// statuses, and what judging their missing updates needs (the policies,
// the missing updates, the technicians' decisions).
type PatchStatusStore interface {
	policy.Store
	policy.PatchReader
	ListDevicePatchStatus(ctx context.Context, deviceIDs []int64) ([]core.DevicePatchStatus, error)
	PatchApprovals(ctx context.Context, clientID int64) ([]core.PatchApproval, error)
}

// PatchCompliance counts a client's devices with a patch status.
type PatchCompliance struct {
	Devices        int `json:"devices"` // with a patch status
	FullyPatched   int `json:"fully_patched"`
	Percent        int `json:"percent"`          // FullyPatched of Devices, rounded down
	CriticalDevs   int `json:"critical_devices"` // devices missing a critical or security update
	CriticalTotal  int `json:"critical_missing"` // such updates, summed over the devices
	Failed         int `json:"failed"`           // failed updates, summed
	RebootsPending int `json:"reboots_pending"`  // devices waiting for a restart
	ScanErrors     int `json:"scan_errors"`      // devices whose last scan failed somewhere
	// Behind are the devices that are not fully patched, worst first.
	Behind []PatchDevice `json:"behind"`
}

// PatchDevice is a device that is not fully patched.
type PatchDevice struct {
	DeviceID      int64     `json:"device_id"`
	Hostname      string    `json:"hostname"`
	Missing       int       `json:"missing"`
	Critical      int       `json:"critical"`
	Failed        int       `json:"failed"`
	RebootPending bool      `json:"reboot_pending"`
	RebootSince   time.Time `json:"reboot_since,omitzero"`
	// OldestSecurity: the first sighting of its oldest missing critical
	// or security update.
	OldestSecurity time.Time `json:"oldest_security,omitzero"`
	ScanError      string    `json:"scan_error,omitempty"` // the failed sources' messages
	NotScanned     bool      `json:"not_scanned,omitempty"`
}

// BuildPatchCompliance counts statuses of the devices in host (others
// are left out), each judged by patch.Compliant with its number of
// approved missing updates in approved; nil when none of them has a
// status.
func BuildPatchCompliance(statuses []core.DevicePatchStatus, approved map[int64]int, host map[int64]core.Device, lang string) *PatchCompliance {
	var pc PatchCompliance
	for _, s := range statuses {
		dev, ok := host[s.DeviceID]
		if !ok {
			continue
		}
		pc.Devices++
		if s.Critical > 0 {
			pc.CriticalDevs++
		}
		pc.CriticalTotal += s.Critical
		pc.Failed += s.Failed
		if s.Reboot.Pending {
			pc.RebootsPending++
		}
		if patch.Compliant(s, approved[s.DeviceID]) {
			pc.FullyPatched++
			continue
		}
		pd := PatchDevice{DeviceID: dev.ID, Hostname: dev.Hostname, Missing: s.Missing, Critical: s.Critical, Failed: s.Failed,
			RebootPending: s.Reboot.Pending, RebootSince: s.Reboot.Since, OldestSecurity: s.OldestSecurity, NotScanned: s.ScannedAt.IsZero()}
		var errs []string
		for _, src := range s.Sources {
			if src.Status == core.ScanError {
				errs = append(errs, src.Source+": "+src.Message.In(lang))
			}
		}
		if len(errs) > 0 {
			pc.ScanErrors++
			pd.ScanError = strings.Join(errs, "; ")
		}
		pc.Behind = append(pc.Behind, pd)
	}
	if pc.Devices == 0 {
		return nil
	}
	pc.Percent = pc.FullyPatched * 100 / pc.Devices
	if pc.Behind == nil {
		pc.Behind = []PatchDevice{}
	}
	slices.SortFunc(pc.Behind, func(a, b PatchDevice) int {
		return cmp.Or(cmp.Compare(b.Critical, a.Critical), cmp.Compare(b.Failed, a.Failed), cmp.Compare(b.Missing, a.Missing),
			strings.Compare(a.Hostname, b.Hostname))
	})
	return &pc
}

// loadPatches reads the patch statuses of d's devices and judges their
// missing updates as the dashboard does: under each device's patch
// policy and the client's decisions.
func loadPatches(ctx context.Context, st Store, d *Data) error {
	if len(d.Devices) == 0 {
		return nil
	}
	ids := make([]int64, len(d.Devices))
	byID := make(map[int64]core.Device, len(d.Devices))
	for i, dev := range d.Devices {
		ids[i], byID[dev.ID] = dev.ID, dev
	}
	var err error
	if d.Patches, err = st.ListDevicePatchStatus(ctx, ids); err != nil {
		return fmt.Errorf("reading patch status of client %d: %w", d.Client.ID, err)
	}
	if len(d.Patches) == 0 {
		return nil
	}
	as, err := st.PatchApprovals(ctx, d.Client.ID)
	if err != nil {
		return fmt.Errorf("reading the patch approvals of client %d: %w", d.Client.ID, err)
	}
	d.PatchApproved = make(map[int64]int, len(d.Patches))
	for _, s := range d.Patches {
		dev, ok := byID[s.DeviceID]
		if !ok || s.Missing == 0 {
			continue
		}
		pp, err := policy.DevicePatchPolicy(ctx, st, dev, nil)
		if err != nil {
			return err
		}
		missing, _, err := policy.JudgePatches(ctx, st, dev, pp, as)
		if err != nil {
			return err
		}
		d.PatchApproved[dev.ID] = patch.ApprovedMissing(missing)
	}
	return nil
}
