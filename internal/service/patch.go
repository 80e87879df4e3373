package service

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/patch"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Patch management (issue 19): what devices miss, the technicians'
// approvals per client, scans and installs on demand, compliance and
// vulnerabilities. Reading needs any role; approving, scanning and
// installing the Operate permission (like refreshing an inventory: the
// agent installs only updates its own scan found, from the OS's own
// sources, under its policy's exclusions); every change is audited.

// DefaultAttempts is how many install attempts a device view lists.
const DefaultAttempts = 200

// DeviceUpdates is a device's patch state as shown: its last report
// (Status nil: none arrived yet), the effective patch policy (nil: patch
// management is off for it), the missing updates with their approval under
// that policy, those whose install failed, the install history, the
// restart it waits for, end-of-life software found in its inventory, and
// the daily verification's verdict.
type DeviceUpdates struct {
	Device       core.Device              `json:"device"`
	Policy       *core.PatchPolicy        `json:"policy"`
	Status       *core.DevicePatchStatus  `json:"status"`
	Missing      []core.DevicePatch       `json:"missing"`
	Failed       []core.DevicePatch       `json:"failed"`
	Attempts     []core.PatchAttempt      `json:"attempts"`
	Reboot       core.RebootState         `json:"reboot"`
	EndOfLife    []EOLSoftware            `json:"end_of_life"`
	Verification *PatchVerdict            `json:"verification,omitempty"`
	Sources      []core.PatchSourceStatus `json:"sources"`
}

// PatchVerdict is the daily verification's verdict (patch.Verify) as
// shown: the "patches" check's status, value (approved updates missing)
// and message.
type PatchVerdict struct {
	Status  string    `json:"status"`
	Value   float64   `json:"value"`
	Message core.Text `json:"message"`
}

// EOLSoftware is end-of-life software on a device: the derived update
// (Source eol) and whether Wacht can remove it (an MSI product code).
type EOLSoftware struct {
	core.Update
	Program   core.Program `json:"program"`
	Removable bool         `json:"removable"`
}

// DeviceUpdates returns device id's patch state (core.ErrNotFound for a
// device outside u's clients).
func (s *Service) DeviceUpdates(ctx context.Context, u core.User, id int64) (DeviceUpdates, error) {
	if err := need(u, authz.Read); err != nil {
		return DeviceUpdates{}, err
	}
	d, err := s.device(ctx, u, id)
	if err != nil {
		return DeviceUpdates{}, err
	}
	out := DeviceUpdates{Device: d, Missing: []core.DevicePatch{}, Failed: []core.DevicePatch{}, Attempts: []core.PatchAttempt{},
		EndOfLife: []EOLSoftware{}, Sources: []core.PatchSourceStatus{}}
	pp, err := s.devicePatchPolicy(ctx, d)
	if err != nil {
		return DeviceUpdates{}, err
	}
	out.Policy = pp
	st, err := s.store.DevicePatchStatus(ctx, id)
	switch {
	case err == nil:
		out.Status, out.Reboot = &st, st.Reboot
		if st.Sources != nil {
			out.Sources = st.Sources
		}
	case !errors.Is(err, core.ErrNotFound):
		return DeviceUpdates{}, fmt.Errorf("reading the patch status of device %d: %w", id, err)
	}
	as, err := s.store.PatchApprovals(ctx, d.ClientID)
	if err != nil {
		return DeviceUpdates{}, fmt.Errorf("reading the patch approvals of client %d: %w", d.ClientID, err)
	}
	missing, decisions, err := policy.JudgePatches(ctx, s.store, d, pp, as)
	if err != nil {
		return DeviceUpdates{}, err
	}
	out.Missing = missing
	for _, m := range missing {
		if m.State == core.DevicePatchFailed || m.State == core.DevicePatchStuck {
			out.Failed = append(out.Failed, m)
		}
	}
	if out.Attempts, err = s.store.PatchAttempts(ctx, id, DefaultAttempts); err != nil {
		return DeviceUpdates{}, fmt.Errorf("reading the install attempts of device %d: %w", id, err)
	}
	if out.Attempts == nil {
		out.Attempts = []core.PatchAttempt{}
	}
	if out.EndOfLife, err = s.deviceEOL(ctx, id); err != nil {
		return DeviceUpdates{}, err
	}
	if pp != nil && out.Status != nil {
		mu := make([]core.MissingUpdate, len(missing))
		for i, m := range missing {
			mu[i] = m.MissingUpdate
		}
		v := patch.Verify(*pp, decisions, mu, st.Reboot, st.Sources, s.now())
		out.Verification = &PatchVerdict{Status: v.Status.String(), Value: v.Value, Message: v.Message}
	}
	return out, nil
}

// devicePatchPolicy is device d's effective patch policy with defaults,
// nil when patch management is off for it.
func (s *Service) devicePatchPolicy(ctx context.Context, d core.Device) (*core.PatchPolicy, error) {
	ids, err := s.resolver().Seed(ctx)
	if err != nil {
		return nil, err
	}
	return policy.DevicePatchPolicy(ctx, s.store, d, ids)
}

// deviceEOL finds end-of-life software in device id's inventory.
func (s *Service) deviceEOL(ctx context.Context, id int64) ([]EOLSoftware, error) {
	inv, err := s.store.GetInventory(ctx, id)
	if errors.Is(err, core.ErrNotFound) {
		return []EOLSoftware{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the inventory of device %d: %w", id, err)
	}
	out := []EOLSoftware{}
	for _, p := range inv.Inventory.Software {
		for _, u := range patch.FindEOL([]core.Program{p}) {
			out = append(out, EOLSoftware{Update: u, Program: p, Removable: msiProductCode(p.ID) != ""})
		}
	}
	return out, nil
}

// msiProductCode returns id if it is an MSI product code ({GUID}), "".
func msiProductCode(id string) string {
	id = strings.TrimSpace(id)
	if productCodeRE.MatchString(id) {
		return strings.ToUpper(id)
	}
	return ""
}

// patchTarget authorizes u's patch action on device id: the Operate
// permission, the device in u's scope (else core.ErrNotFound) and active.
// It returns the Remote that sends the signed action (core.ErrOffline
// without one).
func (s *Service) patchTarget(ctx context.Context, u core.User, id int64) (core.Device, Remote, error) {
	if err := need(u, authz.Operate); err != nil {
		return core.Device{}, nil, err
	}
	d, err := s.device(ctx, u, id)
	if err != nil {
		return core.Device{}, nil, err
	}
	if d.State != core.DeviceActive {
		return core.Device{}, nil, fmt.Errorf("device %d is %s: %w", id, d.State, core.ErrConflict)
	}
	r, ok := s.cmd.(Remote)
	if !ok {
		return d, nil, fmt.Errorf("device %d: %w", id, core.ErrOffline)
	}
	return d, r, nil
}

// ScanUpdates asks device id's agent to scan for updates now, as the
// signed action updates-scan; the report follows on the agent's session.
// Operate permission; audited as "device.updates-scan". An unconnected
// agent is core.ErrOffline (scans are not queued: the agent scans daily
// and at its next start anyway).
func (s *Service) ScanUpdates(ctx context.Context, u core.User, id int64) error {
	_, r, err := s.patchTarget(ctx, u, id)
	if err != nil && !errors.Is(err, core.ErrOffline) {
		return s.refused(ctx, u, "device.updates-scan", id, "scan", err)
	}
	if err == nil {
		err = r.Do(ctx, id, protocol.ActionUpdatesScan, struct{}{}, nil)
	}
	return s.outcome(ctx, u, "device.updates-scan", id, "scan", err)
}

// InstallRequest names the updates to install now: patch IDs, or none
// with Approved (or nothing at all) for every approved update.
type InstallRequest struct {
	IDs      []int64 `json:"ids,omitempty"`
	Approved bool    `json:"approved,omitempty"`
}

// maxInstallIDs bounds one install request.
const maxInstallIDs = protocol.MaxPatchUpdates

// InstallUpdates asks device id's agent to install updates now, outside
// its schedule, as the signed action updates-install, and returns what it
// started and refused. Operate permission; the device's local patch lock
// refuses it. Patch IDs are mapped to the update keys the device misses;
// an ID it does not miss is a validation error. Audited as
// "device.updates-install" with the keys and the outcome.
func (s *Service) InstallUpdates(ctx context.Context, u core.User, id int64, req InstallRequest) (protocol.UpdatesInstallReply, error) {
	d, r, err := s.patchTarget(ctx, u, id)
	if err != nil && !errors.Is(err, core.ErrOffline) {
		return protocol.UpdatesInstallReply{}, s.refused(ctx, u, "device.updates-install", id, "install", err)
	}
	args := protocol.UpdatesInstallArgs{Approved: len(req.IDs) == 0}
	if len(req.IDs) > maxInstallIDs {
		return protocol.UpdatesInstallReply{}, invalid("ids", fmt.Sprintf("at most %d updates at once", maxInstallIDs),
			fmt.Sprintf("höchstens %d Updates auf einmal", maxInstallIDs))
	}
	if len(req.IDs) > 0 {
		missing, err := s.store.DevicePatches(ctx, d.ID)
		if err != nil {
			return protocol.UpdatesInstallReply{}, fmt.Errorf("reading the missing updates of device %d: %w", id, err)
		}
		byID := make(map[int64]string, len(missing))
		for _, m := range missing {
			byID[m.PatchID] = m.Key
		}
		var unknown []string
		for _, pid := range req.IDs {
			k, ok := byID[pid]
			switch {
			case !ok:
				unknown = append(unknown, strconv.FormatInt(pid, 10))
			case !slices.Contains(args.Keys, k):
				args.Keys = append(args.Keys, k)
			}
		}
		if len(unknown) > 0 {
			list := strings.Join(unknown, ", ")
			return protocol.UpdatesInstallReply{}, invalid("ids", "the device does not miss these updates: "+list,
				"diese Updates fehlen dem Gerät nicht: "+list)
		}
	}
	detail := "all approved"
	if len(args.Keys) > 0 {
		detail = strings.Join(args.Keys, ", ")
	}
	if r != nil {
		if locks, _ := r.Disabled(id); slices.Contains(locks, protocol.LockPatches) {
			err = LockedError(protocol.LockPatches)
		}
	}
	var reply protocol.UpdatesInstallReply
	if err == nil {
		err = r.Do(ctx, id, protocol.ActionUpdatesInstall, args, &reply)
	}
	if err == nil && len(reply.Refused) > 0 {
		refused := slices.Sorted(func(yield func(string) bool) {
			for k := range reply.Refused {
				if !yield(k) {
					return
				}
			}
		})
		detail += " → refused " + strings.Join(refused, ", ")
	}
	if err := s.outcome(ctx, u, "device.updates-install", id, detail, err); err != nil {
		return protocol.UpdatesInstallReply{}, err
	}
	if reply.Started == nil {
		reply.Started = []string{}
	}
	return reply, nil
}

// PatchQuery is the fleet view's filter (GET /api/v1/patches).
type PatchQuery struct {
	ClientID, SiteID int64
	Severity         string // at least this severity
	Classification   string
	Source           string
	CVE              string
	Search           string
	Limit, Offset    int
}

// Fleet view bounds.
const (
	DefaultPatchLimit = 100
	MaxPatchLimit     = 1000
)

// PatchRow is one patch of the fleet view with the technicians' decisions
// on it that the caller may see: the fleet-wide one (client 0) and those of
// the selected client.
type PatchRow struct {
	core.Patch
	Decisions []core.PatchApproval `json:"decisions"`
}

// PatchList is a page of the fleet view with the total before paging.
type PatchList struct {
	Patches []PatchRow `json:"patches"`
	Total   int        `json:"total"`
	Limit   int        `json:"limit"`
	Offset  int        `json:"offset"`
}

// scopeDevices returns the IDs of the devices u may see (of clientID, and
// siteID, if not 0), retired ones excluded; nil with all true when u sees
// every device and no client or site narrows it.
func (s *Service) scopeDevices(ctx context.Context, u core.User, clientID, siteID int64) (ids []int64, all bool, err error) {
	if clientID != 0 && !authz.CanSeeClient(u, clientID) {
		return []int64{}, false, nil
	}
	if !u.Scope.Restricted && clientID == 0 && siteID == 0 {
		return nil, true, nil
	}
	ds, err := s.store.ListDevices(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("listing devices: %w", err)
	}
	ids = []int64{}
	for _, d := range ds {
		if authz.CanSeeClient(u, d.ClientID) && d.State != core.DeviceRetired &&
			(clientID == 0 || d.ClientID == clientID) && (siteID == 0 || d.SiteID == siteID) {
			ids = append(ids, d.ID)
		}
	}
	return ids, false, nil
}

// ListPatches is the fleet view: the patches missing on at least one
// device u may see that q selects, most severe and widespread first.
func (s *Service) ListPatches(ctx context.Context, u core.User, q PatchQuery) (PatchList, error) {
	if err := need(u, authz.Read); err != nil {
		return PatchList{}, err
	}
	var fs []policy.FieldError
	if q.Severity != "" && core.SeverityRank(q.Severity) == 0 {
		fs = append(fs, fieldErr("severity", "one of critical, important, moderate, low", "eine von critical, important, moderate, low"))
	}
	if q.Classification != "" && !slices.Contains(core.Classifications, q.Classification) {
		list := strings.Join(core.Classifications, ", ")
		fs = append(fs, fieldErr("classification", "one of "+list, "eine von "+list))
	}
	if q.Limit < 0 || q.Offset < 0 {
		fs = append(fs, fieldErr("limit", "limit and offset are whole numbers ≥ 0", "limit und offset sind ganze Zahlen ≥ 0"))
	}
	if len(q.CVE) > 64 || len(q.Search) > 200 || len(q.Source) > 32 {
		fs = append(fs, fieldErr("q", "a filter is too long", "ein Filter ist zu lang"))
	}
	if fs != nil {
		return PatchList{}, &policy.ValidationError{Fields: fs}
	}
	limit := cmp.Or(q.Limit, DefaultPatchLimit)
	limit = min(limit, MaxPatchLimit)
	out := PatchList{Patches: []PatchRow{}, Limit: limit, Offset: q.Offset}
	ids, all, err := s.scopeDevices(ctx, u, q.ClientID, q.SiteID)
	if err != nil {
		return PatchList{}, err
	}
	if !all && len(ids) == 0 {
		return out, nil
	}
	f := core.PatchFilter{ClientID: q.ClientID, SiteID: q.SiteID, Source: q.Source, Classification: q.Classification,
		MinSeverity: q.Severity, CVE: strings.ToUpper(strings.TrimSpace(q.CVE)), Search: strings.TrimSpace(q.Search),
		DeviceIDs: ids, Limit: limit, Offset: q.Offset}
	ps, total, err := s.store.ListPatches(ctx, f)
	if err != nil {
		return PatchList{}, fmt.Errorf("listing patches: %w", err)
	}
	as, err := s.store.PatchApprovals(ctx, q.ClientID)
	if err != nil {
		return PatchList{}, fmt.Errorf("reading patch approvals: %w", err)
	}
	byPatch := map[int64][]core.PatchApproval{}
	for _, a := range as {
		if a.ClientID == 0 || authz.CanSeeClient(u, a.ClientID) {
			byPatch[a.PatchID] = append(byPatch[a.PatchID], a)
		}
	}
	for _, p := range ps {
		ds := byPatch[p.ID]
		if ds == nil {
			ds = []core.PatchApproval{}
		}
		out.Patches = append(out.Patches, PatchRow{Patch: p, Decisions: ds})
	}
	out.Total = total
	return out, nil
}

// Approval is a technician's decision request: Client 0 decides for every
// client (administrators and technicians of every client only).
type Approval struct {
	Client   int64 `json:"client"`
	Approved bool  `json:"approved"`
}

// approvalTarget authorizes a decision on patch id for client: the
// Operate permission, the client in u's scope (else core.ErrNotFound); for
// every client (0) a user not restricted to some clients.
func (s *Service) approvalTarget(ctx context.Context, u core.User, id, client int64) (core.Patch, error) {
	if err := need(u, authz.Operate); err != nil {
		return core.Patch{}, err
	}
	switch {
	case client < 0:
		return core.Patch{}, invalid("client", "a client ID, or 0 for every client", "eine Kunden-ID oder 0 für alle Kunden")
	case client == 0 && u.Scope.Restricted:
		return core.Patch{}, fmt.Errorf("deciding for every client needs access to every client: %w", core.ErrForbidden)
	case client != 0:
		if !authz.CanSeeClient(u, client) {
			return core.Patch{}, fmt.Errorf("client %d: %w", client, core.ErrNotFound)
		}
		if _, err := s.store.GetClient(ctx, client); err != nil {
			return core.Patch{}, fmt.Errorf("getting client %d: %w", client, err)
		}
	}
	p, err := s.store.GetPatch(ctx, id)
	if err != nil {
		return core.Patch{}, fmt.Errorf("getting patch %d: %w", id, err)
	}
	return p, nil
}

// approvalDetail names a patch and the client in an audit entry.
func approvalDetail(p core.Patch, client int64) string {
	who := "every client"
	if client != 0 {
		who = "client:" + strconv.FormatInt(client, 10)
	}
	return fmt.Sprintf("%s (%q) for %s", p.Key, p.Title, who)
}

// SetPatchApproval approves or declines patch id for a client (0: every
// client without a decision of its own) and pushes the changed policies
// of the agents that miss it. Audited as "patch.approve" or
// "patch.decline".
func (s *Service) SetPatchApproval(ctx context.Context, u core.User, id int64, a Approval) (core.PatchApproval, error) {
	p, err := s.approvalTarget(ctx, u, id, a.Client)
	if err != nil {
		return core.PatchApproval{}, err
	}
	pa := core.PatchApproval{PatchID: p.ID, ClientID: a.Client, Approved: a.Approved, By: Actor(u), DecidedAt: s.now().UTC().Truncate(time.Second)}
	if err := s.store.SetPatchApproval(ctx, pa); err != nil {
		return core.PatchApproval{}, fmt.Errorf("saving the approval of patch %d: %w", id, err)
	}
	action := "patch.approve"
	if !a.Approved {
		action = "patch.decline"
	}
	if err := s.record(ctx, u, action, target("patch", p.ID), approvalDetail(p, a.Client), core.AuditOK); err != nil {
		return core.PatchApproval{}, err
	}
	s.pushPolicies()
	return pa, nil
}

// DeletePatchApproval removes the decision on patch id for a client (0:
// the fleet-wide one): the policy's rules decide again. Audited as
// "patch.approval-delete".
func (s *Service) DeletePatchApproval(ctx context.Context, u core.User, id, client int64) error {
	p, err := s.approvalTarget(ctx, u, id, client)
	if err != nil {
		return err
	}
	if err := s.store.DeletePatchApproval(ctx, p.ID, client); err != nil {
		return fmt.Errorf("deleting the approval of patch %d: %w", id, err)
	}
	if err := s.record(ctx, u, "patch.approval-delete", target("patch", p.ID), approvalDetail(p, client), core.AuditOK); err != nil {
		return err
	}
	s.pushPolicies()
	return nil
}

// DeviceRef names a device in a figure.
type DeviceRef struct {
	ID       int64  `json:"id"`
	Hostname string `json:"hostname"`
}

// RebootRef is a device waiting for a restart, and since when.
type RebootRef struct {
	DeviceRef
	Since time.Time `json:"since,omitzero"`
}

// ClientCompliance is one client's patch compliance: of the devices that
// reported a patch status, those fully patched (no approved update
// missing, none failed); devices waiting for a restart are listed apart
// (they count as patched when nothing approved is missing).
type ClientCompliance struct {
	ClientID   int64   `json:"client_id"`
	ClientName string  `json:"client_name"`
	Devices    int     `json:"devices"`    // devices with a patch status
	Unreported int     `json:"unreported"` // active devices without one
	Compliant  int     `json:"compliant"`
	Percent    float64 `json:"percent"` // Compliant / Devices × 100, 0 without devices
	// ApprovedMissing, Critical and Failed sum the devices' updates:
	// approved and missing, critical or security among them, failed or
	// stuck.
	ApprovedMissing int            `json:"approved_missing"`
	Critical        int            `json:"critical"`
	Failed          int            `json:"failed"`
	Behind          []DeviceRef    `json:"behind"`
	RebootPending   []RebootRef    `json:"reboot_pending"`
	Vulnerabilities []DeviceVulns  `json:"vulnerabilities"`
	OpenCVEs        map[string]int `json:"open_cves"` // distinct CVEs by severity ("" unrated)
}

// DeviceVulns is a device's open vulnerabilities: the distinct CVEs of the
// updates it misses, counted by the update's severity ("" unrated), and
// the first sighting of its oldest missing critical or security update.
type DeviceVulns struct {
	DeviceRef
	CVEs           map[string]int `json:"cves"`
	Total          int            `json:"total"`
	OldestSecurity time.Time      `json:"oldest_security,omitzero"`
	OldestDays     int            `json:"oldest_days"`
	EndOfLife      int            `json:"end_of_life"`
}

// PatchCompliance returns the compliance of each client u may see (or of
// client alone, if not 0), by client name, with each client's devices'
// open vulnerabilities. Every device's missing updates are judged under
// its own effective patch policy.
func (s *Service) PatchCompliance(ctx context.Context, u core.User, client int64) ([]ClientCompliance, error) {
	if err := need(u, authz.Read); err != nil {
		return nil, err
	}
	if client != 0 && !authz.CanSeeClient(u, client) {
		return nil, fmt.Errorf("client %d: %w", client, core.ErrNotFound)
	}
	clients, err := s.store.ListClients(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing clients: %w", err)
	}
	ds, err := s.store.ListDevices(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}
	byClient := map[int64][]core.Device{}
	var ids []int64
	for _, d := range ds {
		if d.State == core.DeviceActive && authz.CanSeeClient(u, d.ClientID) && (client == 0 || d.ClientID == client) {
			byClient[d.ClientID] = append(byClient[d.ClientID], d)
			ids = append(ids, d.ID)
		}
	}
	out := []ClientCompliance{}
	if client != 0 && len(ids) == 0 {
		found := false
		for _, c := range clients {
			if c.ID == client {
				found = true
				out = append(out, ClientCompliance{ClientID: c.ID, ClientName: c.Name, Behind: []DeviceRef{}, RebootPending: []RebootRef{},
					Vulnerabilities: []DeviceVulns{}, OpenCVEs: map[string]int{}})
			}
		}
		if !found {
			return nil, fmt.Errorf("client %d: %w", client, core.ErrNotFound)
		}
		return out, nil
	}
	if len(ids) == 0 {
		return out, nil
	}
	sts, err := s.store.ListDevicePatchStatus(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("reading patch status: %w", err)
	}
	status := make(map[int64]core.DevicePatchStatus, len(sts))
	for _, st := range sts {
		status[st.DeviceID] = st
	}
	now := s.now()
	for _, c := range clients {
		devs := byClient[c.ID]
		if len(devs) == 0 {
			continue
		}
		cc := ClientCompliance{ClientID: c.ID, ClientName: c.Name, Behind: []DeviceRef{}, RebootPending: []RebootRef{},
			Vulnerabilities: []DeviceVulns{}, OpenCVEs: map[string]int{}}
		as, err := s.store.PatchApprovals(ctx, c.ID)
		if err != nil {
			return nil, fmt.Errorf("reading the patch approvals of client %d: %w", c.ID, err)
		}
		cves := map[string]string{} // CVE → its worst severity in the client
		facts, err := s.complianceFacts(ctx, devs, status, as)
		if err != nil {
			return nil, err
		}
		for i, d := range devs {
			st, ok := status[d.ID]
			if !ok {
				cc.Unreported++
				continue
			}
			cc.Devices++
			missing := facts[i].missing
			ref := DeviceRef{ID: d.ID, Hostname: d.Hostname}
			approved, failed := 0, 0
			dv := DeviceVulns{DeviceRef: ref, CVEs: map[string]int{}, OldestSecurity: st.OldestSecurity}
			seen := map[string]bool{}
			for _, m := range missing {
				if patch.Approved(m.Approval) {
					approved++
					if m.Classification == core.ClassCritical || m.Classification == core.ClassSecurity {
						cc.Critical++
					}
				}
				if m.State == core.DevicePatchFailed || m.State == core.DevicePatchStuck {
					failed++
				}
				for _, cve := range m.CVEs {
					if !seen[cve] {
						seen[cve] = true
						dv.CVEs[m.Severity]++
						dv.Total++
					}
					if old, ok := cves[cve]; !ok || core.SeverityRank(m.Severity) > core.SeverityRank(old) {
						cves[cve] = m.Severity
					}
				}
			}
			cc.ApprovedMissing += approved
			cc.Failed += failed
			if patch.Compliant(st, approved) {
				cc.Compliant++
			} else {
				cc.Behind = append(cc.Behind, ref)
			}
			if st.Reboot.Pending {
				cc.RebootPending = append(cc.RebootPending, RebootRef{DeviceRef: ref, Since: st.Reboot.Since})
			}
			if !st.OldestSecurity.IsZero() {
				dv.OldestDays = int(now.Sub(st.OldestSecurity).Hours() / 24)
			}
			dv.EndOfLife = facts[i].eol
			if dv.Total > 0 || dv.EndOfLife > 0 || !dv.OldestSecurity.IsZero() {
				cc.Vulnerabilities = append(cc.Vulnerabilities, dv)
			}
		}
		for _, sev := range cves {
			cc.OpenCVEs[sev]++
		}
		if cc.Devices > 0 {
			cc.Percent = float64(cc.Compliant) * 100 / float64(cc.Devices)
		}
		slices.SortFunc(cc.Vulnerabilities, func(a, b DeviceVulns) int {
			return cmp.Or(cmp.Compare(b.Total+b.EndOfLife, a.Total+a.EndOfLife), cmp.Compare(b.OldestDays, a.OldestDays), cmp.Compare(a.ID, b.ID))
		})
		out = append(out, cc)
	}
	return out, nil
}

// complianceWorkers bounds the devices PatchCompliance reads at once on
// PostgreSQL, where each device's few queries mostly wait for the
// network; embedded SQLite is CPU-bound in process and reads one device at
// a time (concurrent readers were slower there: docs/benchmarks.md).
const complianceWorkers = 8

// deviceFacts is what PatchCompliance reads per device.
type deviceFacts struct {
	missing []core.DevicePatch // with approvals
	eol     int
}

// complianceFacts reads, for each device of devs with a status, its
// missing updates judged under its effective patch policy and as (its
// client's decisions) and the number of its end-of-life programs, a few
// devices at a time.
func (s *Service) complianceFacts(ctx context.Context, devs []core.Device, status map[int64]core.DevicePatchStatus, as []core.PatchApproval) ([]deviceFacts, error) {
	out := make([]deviceFacts, len(devs))
	errs := make([]error, len(devs))
	next := make(chan int)
	var wg sync.WaitGroup
	workers := 1
	if c, ok := s.store.(interface{ Clustered() bool }); ok && c.Clustered() {
		workers = complianceWorkers
	}
	for range min(workers, len(devs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				d := devs[i]
				pp, err := s.devicePatchPolicy(ctx, d)
				if err == nil {
					out[i].missing, _, err = policy.JudgePatches(ctx, s.store, d, pp, as)
				}
				if err == nil {
					var eol []EOLSoftware
					eol, err = s.deviceEOL(ctx, d.ID)
					out[i].eol = len(eol)
				}
				errs[i] = err
			}
		}()
	}
	for i, d := range devs {
		if _, ok := status[d.ID]; !ok {
			continue
		}
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return out, errors.Join(errs...)
}
