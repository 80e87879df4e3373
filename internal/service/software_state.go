package service

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// Software state (issue 17): for each package that concerns a device,
// what its effective policy wants, what its agent last reported of
// enforcing that (the check core.SoftwareCheckName), and how the last
// deployment job of it on the device ended. Status sums these up in the
// check statuses' terms, so that the dashboard colours them alike.

// SoftwarePending is the status of a wanted state the agent has not
// reported yet, or of a deployment that waits or runs.
const SoftwarePending = "pending"

// SoftwareState is one package's state on one device. Status is a
// core.Status value or SoftwarePending; Message says why.
type SoftwareState struct {
	PackageID      int64                 `json:"package_id"`
	Name           string                `json:"name"`
	Version        string                `json:"version"`
	Desired        *policy.SoftwareEntry `json:"desired,omitempty"`
	Reported       *core.CheckState      `json:"reported,omitempty"`
	LastDeployment *core.ScriptRun       `json:"last_deployment,omitempty"`
	Status         string                `json:"status"`
	Message        core.Text             `json:"message"`
}

// DeviceSoftware is the software state of one device, by package name.
type DeviceSoftware struct {
	DeviceID int64           `json:"device_id"`
	Hostname string          `json:"hostname"`
	ClientID int64           `json:"client_id"`
	Packages []SoftwareState `json:"packages"`
}

// softwareRuns is how many of a device's newest runs are searched for
// the last deployment of each package.
const softwareRuns = 500

// DeviceSoftwareState returns the software state of device id.
func (s *Service) DeviceSoftwareState(ctx context.Context, u core.User, id int64) (DeviceSoftware, error) {
	d, err := s.device(ctx, u, id)
	if err != nil {
		return DeviceSoftware{}, err
	}
	pkgs, err := s.packageIndex(ctx)
	if err != nil {
		return DeviceSoftware{}, err
	}
	return s.deviceSoftware(ctx, d, pkgs)
}

// ClientSoftwareState returns the software state of every active device of
// client id, by hostname.
func (s *Service) ClientSoftwareState(ctx context.Context, u core.User, id int64) ([]DeviceSoftware, error) {
	if _, err := s.GetClient(ctx, u, id); err != nil {
		return nil, err
	}
	ds, err := s.ListDevicesFor(ctx, u, DeviceFilter{ClientID: id})
	if err != nil {
		return nil, err
	}
	pkgs, err := s.packageIndex(ctx)
	if err != nil {
		return nil, err
	}
	out := []DeviceSoftware{}
	for _, d := range ds {
		if d.State != core.DeviceActive {
			continue
		}
		sw, err := s.deviceSoftware(ctx, d.Device, pkgs)
		if err != nil {
			return nil, err
		}
		out = append(out, sw)
	}
	slices.SortFunc(out, func(a, b DeviceSoftware) int { return strings.Compare(a.Hostname, b.Hostname) })
	return out, nil
}

func (s *Service) packageIndex(ctx context.Context) (map[int64]core.Package, error) {
	ps, err := s.store.ListPackages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing packages: %w", err)
	}
	idx := make(map[int64]core.Package, len(ps))
	for _, p := range ps {
		idx[p.ID] = p
	}
	return idx, nil
}

// deviceSoftware gathers d's state: the packages its effective policy
// wants (those for another OS left out) and those deployed to it.
func (s *Service) deviceSoftware(ctx context.Context, d core.Device, pkgs map[int64]core.Package) (DeviceSoftware, error) {
	out := DeviceSoftware{DeviceID: d.ID, Hostname: d.Hostname, ClientID: d.ClientID, Packages: []SoftwareState{}}
	_, e, err := s.resolver().Effective(ctx, d.ID)
	if err != nil {
		return out, fmt.Errorf("resolving the policy of device %d: %w", d.ID, err)
	}
	states, err := s.store.ListCheckStates(ctx, d.ID)
	if err != nil {
		return out, fmt.Errorf("listing checks of device %d: %w", d.ID, err)
	}
	runs, err := s.store.ListScriptRuns(ctx, core.ScriptRunFilter{DeviceID: d.ID, Limit: softwareRuns})
	if err != nil {
		return out, fmt.Errorf("listing runs of device %d: %w", d.ID, err)
	}
	byPkg := map[int64]*SoftwareState{}
	state := func(id int64, name, version string) *SoftwareState {
		if st := byPkg[id]; st != nil {
			return st
		}
		st := &SoftwareState{PackageID: id, Name: name, Version: version}
		if p, ok := pkgs[id]; ok {
			st.Name, st.Version = p.Name, p.Version
		}
		byPkg[id] = st
		return st
	}
	for i := range e.Software {
		sw := e.Software[i]
		if sw.Skipped != nil {
			continue
		}
		st := state(sw.PackageID, sw.PackageName, sw.PackageVersion)
		st.Desired = &sw
		if j := slices.IndexFunc(states, func(c core.CheckState) bool { return c.Name == sw.Check }); j >= 0 {
			st.Reported = &states[j]
		}
	}
	for i := range runs { // newest first
		r := runs[i]
		if r.PackageID == 0 {
			continue
		}
		if st := state(r.PackageID, r.PackageName, r.PackageVersion); st.LastDeployment == nil {
			st.LastDeployment = &r
		}
	}
	for _, st := range byPkg {
		st.Status, st.Message = softwareStatus(st)
		out.Packages = append(out.Packages, *st)
	}
	slices.SortFunc(out.Packages, func(a, b SoftwareState) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return int(a.PackageID - b.PackageID)
	})
	return out, nil
}

// softwareStatus sums up st: a wanted state by what the agent reports of
// it, a package no policy wants by its last deployment.
func softwareStatus(st *SoftwareState) (string, core.Text) {
	if w := st.Desired; w != nil {
		switch {
		case w.Broken != nil:
			return core.StatusError.String(), core.Text{EN: "Not sent to the agent: " + w.Broken.EN, DE: "Nicht an den Agenten gesendet: " + w.Broken.DE}
		case st.Reported == nil:
			return SoftwarePending, core.Text{EN: "Wanted: " + stateEN(w.State) + "; the agent has not reported it yet.",
				DE: "Soll: " + stateDE(w.State) + "; der Agent hat noch nichts gemeldet."}
		}
		return st.Reported.Status.String(), st.Reported.Message
	}
	r := st.LastDeployment
	job := strconv.FormatInt(r.JobID, 10)
	removed := strings.HasSuffix(r.Action, "uninstall")
	switch r.State {
	case core.RunQueued, core.RunRunning, core.RunOfflineWaiting:
		return SoftwarePending, core.Text{EN: "Deployment job " + job + " is " + r.State + ".", DE: "Verteilungsauftrag " + job + " ist " + runStateDE(r.State) + "."}
	case core.RunDone:
		what := core.Text{EN: "Installed", DE: "Installiert"}
		if removed {
			what = core.Text{EN: "Removed", DE: "Entfernt"}
		}
		if r.SWVersion != "" {
			what.EN += " (" + r.SWVersion + ")"
			what.DE += " (" + r.SWVersion + ")"
		}
		status := core.StatusOK
		if r.RebootNeeded {
			status = core.StatusWarning
			what.EN += ", restart needed"
			what.DE += ", Neustart nötig"
		}
		return status.String(), core.Text{EN: what.EN + " by deployment job " + job + "; no policy keeps it so.",
			DE: what.DE + " durch Verteilungsauftrag " + job + "; keine Richtlinie hält den Zustand."}
	case core.RunFailed, core.RunInterrupted:
		why := r.Error
		if why.EN == "" && r.ExitCode != nil {
			n := strconv.Itoa(*r.ExitCode)
			why = core.Text{EN: "exit code " + n, DE: "Exit-Code " + n}
		}
		return core.StatusFailure.String(), core.Text{EN: "Deployment job " + job + " failed: " + why.EN, DE: "Verteilungsauftrag " + job + " fehlgeschlagen: " + why.DE}
	}
	return core.StatusUnknown.String(), core.Text{EN: "Deployment job " + job + " was " + r.State + ".", DE: "Verteilungsauftrag " + job + ": " + runStateDE(r.State) + "."}
}

func stateEN(state string) string {
	if state == core.SoftwareAbsent {
		return "absent"
	}
	return "installed"
}

func stateDE(state string) string {
	if state == core.SoftwareAbsent {
		return "nicht installiert"
	}
	return "installiert"
}

func runStateDE(state string) string {
	return map[string]string{core.RunQueued: "eingereiht", core.RunRunning: "in Ausführung", core.RunOfflineWaiting: "wartet auf das Gerät",
		core.RunExpired: "abgelaufen", core.RunCancelled: "abgebrochen"}[state]
}
