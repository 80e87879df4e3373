package service

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/blobs"
)

// Deploying packages on demand: a job like a script run (scripts_jobs.go),
// whose runs the dispatcher sends as the signed package_install or
// package_uninstall action. The job binds the package's MAC when it is
// queued; the dispatcher sends a run only while the package still carries
// a valid MAC equal to that one, so a definition written into the
// database, or edited after queueing, installs nothing.

// Deploy actions of a DeployRequest.
const (
	DeployInstall   = "install"
	DeployUninstall = "uninstall"
)

// DeployRequest installs or removes a package on the devices selected by
// exactly one of Devices, Site, Client and Tag.
type DeployRequest struct {
	Action         string  `json:"action"`
	Devices        []int64 `json:"devices,omitempty"`
	Site           int64   `json:"site,omitempty"`
	Client         int64   `json:"client,omitempty"`
	Tag            string  `json:"tag,omitempty"`
	ExpiresMinutes int     `json:"expires_minutes,omitempty"` // 0: 24 h
}

// Retry back-off of a run whose installer said another installation is
// running (exit code meaning retry, 1618): 1, 2, 4 … minutes, at most
// maxRetryAfter; the job's expiry ends the retries.
const (
	firstRetryAfter = time.Minute
	maxRetryAfter   = 30 * time.Minute
)

func retryAfter(retries int) time.Duration {
	if retries >= 5 {
		return maxRetryAfter
	}
	return min(firstRetryAfter<<retries, maxRetryAfter)
}

// DeployPackage queues package id's install or uninstall on the selected
// devices and returns the job. Authorization is that of running a script
// (Remote, the devices' clients in scope, the 2FA rule). Explicitly named
// devices must all qualify (agent, active, the package's OS and
// architecture, software not disabled locally, not in lock mode, which
// refuses packages); of a site, client or tag the others are skipped and
// listed. A package whose MAC is not valid, or an upload without its
// file, is refused. Audited as "package.deploy".
func (s *Service) DeployPackage(ctx context.Context, u core.User, id int64, req DeployRequest) (RunSubmitted, error) {
	if err := s.scriptAuthor(ctx, u); err != nil { // Remote and the 2FA rule
		return RunSubmitted{}, err
	}
	if err := s.seedPackages(ctx); err != nil {
		return RunSubmitted{}, err
	}
	p, err := s.store.GetPackage(ctx, id)
	if err != nil {
		return RunSubmitted{}, fmt.Errorf("getting package %d: %w", id, err)
	}
	expiry, err := jobExpiry(req.ExpiresMinutes)
	if err != nil {
		return RunSubmitted{}, err
	}
	rule := targetRule{lock: protocol.LockSoftware,
		locked: core.Text{EN: "software installation is disabled on this device (wacht-agent --disable)", DE: "Softwareinstallation ist auf diesem Gerät gesperrt (wacht-agent --disable)"},
		fits:   func(d core.Device) (core.Text, bool) { return packageFits(p, d) },
		signed: s.packagesAllowed,
		none:   core.Text{EN: "no device to deploy the package to", DE: "kein Gerät, auf das das Paket verteilt werden kann"}}
	devices, skipped, what, err := s.runTargets(ctx, u, rule, RunRequest{Devices: req.Devices, Site: req.Site, Client: req.Client, Tag: req.Tag})
	if err != nil {
		return RunSubmitted{}, err
	}
	// The package is judged after the devices' scope: a caller learns
	// nothing about a client not in scope.
	action, err := deployable(p, req.Action, s.store.PackageAuthentic(p))
	if err != nil {
		return RunSubmitted{}, err
	}
	j := core.ScriptJob{Action: action, PackageID: p.ID, PackageName: p.Name, PackageVersion: p.Version, PackageMAC: p.MAC,
		TimeoutSeconds: p.TimeoutSeconds, Params: map[string]string{}, Target: what, CreatedBy: Actor(u), CreatedAt: s.now(), ExpiresAt: s.now().Add(expiry)}
	ids, err := s.queueJob(ctx, &j, core.Script{}, devices)
	if err != nil {
		return RunSubmitted{}, fmt.Errorf("queueing package %d: %w", id, err)
	}
	detail := fmt.Sprintf("job %d: %s %s on %s devices %v", j.ID, req.Action, packageDetail(p), what, ids)
	if err := s.record(ctx, u, "package.deploy", target("package", p.ID), detail, core.AuditOK); err != nil {
		return RunSubmitted{}, err
	}
	s.kickJob(ids)
	return submitted(j, ids, skipped), nil
}

// deployable checks that p can be deployed with action (install or
// uninstall) and returns the agent action.
func deployable(p core.Package, action string, authentic bool) (string, error) {
	var fs []policy.FieldError
	agentAction := protocol.ActionInstall
	command := p.Install
	switch action {
	case DeployInstall:
	case DeployUninstall:
		agentAction, command = protocol.ActionUninstall, p.Uninstall
	default:
		fs = append(fs, fieldErr("action", "must be install or uninstall", "muss install oder uninstall sein"))
	}
	switch {
	case !authentic:
		fs = append(fs, fieldErr("package",
			"the package's definition does not carry the server's authentication (changed outside Wacht?); save it again to deploy it",
			"die Definition des Pakets trägt nicht die Authentifizierung des Servers (außerhalb von Wacht geändert?); speichern Sie es erneut, um es zu verteilen"))
	case p.Kind == core.PkgUpload && p.SHA256 == "":
		fs = append(fs, fieldErr("package", "the package has no uploaded file yet; upload the installer first",
			"das Paket hat noch keine hochgeladene Datei; laden Sie zuerst das Installationsprogramm hoch"))
	case p.Kind == core.PkgUpload && len(command) == 0 && !strings.EqualFold(fileExt(p.FileName), ".msi"):
		fs = append(fs, fieldErr("action", "the package has no "+action+" command line (only an .msi file runs without one)",
			"das Paket hat keine Befehlszeile für "+action+" (nur eine .msi-Datei läuft ohne)"))
	}
	if len(fs) > 0 {
		return "", &policy.ValidationError{Fields: fs}
	}
	return agentAction, nil
}

func fileExt(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i:]
	}
	return ""
}

// packageFits says whether p can be deployed to d, or why not.
func packageFits(p core.Package, d core.Device) (core.Text, bool) {
	switch {
	case len(d.PublicKey) == 0:
		return core.Text{EN: d.Hostname + " is a network device without an agent", DE: d.Hostname + " ist ein Netzwerkgerät ohne Agent"}, false
	case d.State != core.DeviceActive:
		return core.Text{EN: d.Hostname + " is " + d.State, DE: d.Hostname + " ist " + d.State}, false
	case d.OS != p.OS:
		return core.Text{EN: fmt.Sprintf("the package is for %s, %s runs %s", p.OS, d.Hostname, d.OS),
			DE: fmt.Sprintf("das Paket ist für %s, %s läuft unter %s", p.OS, d.Hostname, d.OS)}, false
	case p.Arch != "" && d.Arch != p.Arch:
		return core.Text{EN: fmt.Sprintf("the package is for %s, %s is %s", p.Arch, d.Hostname, d.Arch),
			DE: fmt.Sprintf("das Paket ist für %s, %s ist %s", p.Arch, d.Hostname, d.Arch)}, false
	}
	return core.Text{}, true
}

// packagesAllowed says whether d's agent takes packages: one in lock mode
// (as it told this node when it connected) runs only signed scripts and
// refuses packages, which carry no script signer's signature.
func (s *Service) packagesAllowed(d core.Device) (core.Text, bool) {
	l, ok := s.cmd.(interface{ ScriptSigner(int64) []byte })
	if !ok || len(l.ScriptSigner(d.ID)) == 0 {
		return core.Text{}, true
	}
	return core.Text{
		EN: d.Hostname + " runs only scripts signed by its script signer (lock mode) and refuses packages",
		DE: d.Hostname + " führt nur Skripte aus, die sein Skript-Signierer signiert hat (Sperrmodus), und lehnt Pakete ab"}, false
}

// packageChanged refuses a run whose package differs from the one queued.
var packageChanged = &refusal{log: "refusing a package run: the package changed after the run was queued, or lost its MAC",
	ae: &protocol.ActionError{Code: protocol.CodeFailed, Message: core.Text{
		EN: "refused: the package's definition or file changed after this deployment was queued (or does not carry the server's authentication); deploy it again",
		DE: "abgelehnt: Definition oder Datei des Pakets wurden geändert, nachdem diese Verteilung eingereiht wurde (oder tragen nicht die Authentifizierung des Servers); verteilen Sie es erneut"}}}

// packageGone refuses a run whose package was deleted (its queued runs
// were cancelled then; this one was running).
var packageGone = &refusal{log: "refusing a package run: the package was deleted",
	ae: &protocol.ActionError{Code: protocol.CodeFailed, Message: core.Text{
		EN: "The package was deleted before the device installed or removed it.",
		DE: "Das Paket wurde gelöscht, bevor das Gerät es installierte oder entfernte."}}}

// packageCall prepares a package run: its MAC checked against the job,
// the package's against the one bound at queueing, the secrets opened,
// a download ticket for the device issued (valid for the timeout and the
// margin beyond it).
func (s *Service) packageCall(r core.ScriptRun, j core.ScriptJob, p core.Package, err error, margin time.Duration) (outgoing, error) {
	var out outgoing
	if s.secrets == nil || !hmac.Equal(r.MAC, runMAC(s.secrets.Derive(runMACPurpose), r, j, core.Script{})) {
		return out, forged
	}
	switch {
	case errors.Is(err, core.ErrNotFound):
		return out, packageGone
	case err != nil:
		return out, err
	case p.ID != j.PackageID || !s.store.PackageAuthentic(p) || !hmac.Equal(p.MAC, j.PackageMAC):
		return out, packageChanged
	}
	sec, err := s.openSecrets(p.Sealed)
	if err != nil {
		return out, fmt.Errorf("opening the secrets of package %d: %w", p.ID, err)
	}
	out.secrets = sec[packageSecrets]
	timeout := time.Duration(p.TimeoutSeconds) * time.Second
	var file *protocol.PackageFile
	if p.Kind == core.PkgUpload {
		ticket := blobs.NewTickets(s.secrets.Derive(blobs.TicketPurpose)).Issue(r.DeviceID, p.SHA256, s.now().Add(timeout+margin))
		file = &protocol.PackageFile{SHA256: p.SHA256, Size: p.Size, Name: p.FileName, Ticket: ticket}
	}
	out.action = protocol.ActionInstall
	if j.Action == protocol.ActionUninstall {
		out.action = protocol.ActionUninstall
	}
	a, err := policy.PackageArgs(p, out.secrets, j.Action == protocol.ActionUninstall, file)
	if err != nil {
		return out, fmt.Errorf("package %q cannot be sent: %w", p.Name, err)
	}
	a.RunID = agentRunID(r)
	out.args, out.res, out.timeout = a, &protocol.PackageResult{}, timeout
	return out, nil
}

// agentRunID is the run ID the agent journals: the run's ID, and for a
// retry (the installer asked to be run again later) a new one, or the
// agent would answer the recorded "retry" of the first.
func agentRunID(r core.ScriptRun) string {
	if r.Retries == 0 {
		return r.ID
	}
	return r.ID + "-r" + strconv.Itoa(r.Retries)
}

// PackageInUseError refuses deleting a package while deployments of it
// wait for their devices. It wraps core.ErrConflict.
type PackageInUseError struct{ Waiting int }

func (e *PackageInUseError) Error() string {
	return fmt.Sprintf("%d deployments of this package wait for their devices; cancel their jobs first, or delete with force (which cancels them)", e.Waiting)
}

// Localized says it in English and German.
func (e *PackageInUseError) Localized() core.Text {
	return core.Text{EN: e.Error(), DE: fmt.Sprintf("%d Verteilungen dieses Pakets warten auf ihre Geräte; brechen Sie zuerst ihre Aufträge ab oder löschen Sie es erzwungen (das bricht sie ab)", e.Waiting)}
}

func (e *PackageInUseError) Unwrap() error { return core.ErrConflict }
