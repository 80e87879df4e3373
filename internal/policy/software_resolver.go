package policy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// SoftwareDeps are what the Resolver needs from the server to send
// desired software states; zero fields mark the entries that need them
// broken.
type SoftwareDeps struct {
	// Secrets opens a package's sealed secret parameters (core.Package.Sealed).
	Secrets func(sealed []byte) (map[string]string, error)
	// Ticket issues device's download ticket for blob sha256, good until
	// expires (blobs.Tickets.Issue).
	Ticket func(device int64, sha256 string, expires time.Time) string
	// Now is the clock the tickets' expiry follows (nil: time.Now).
	Now func() time.Time
}

// SetSoftware gives r what it needs to send desired software states; call
// it before r is used.
func (r *Resolver) SetSoftware(d SoftwareDeps) *Resolver {
	r.sw = d
	return r
}

// TicketExpiry is when the download tickets inside policies issued at now
// expire: the first day of the month after next, UTC. It changes once a
// month, so that a policy's revision (which covers the tickets) does not
// change at every resolve, and a ticket stays valid at least a month, long
// enough for an agent that enforces the state on its own schedule.
func TicketExpiry(now time.Time) time.Time {
	now = now.UTC()
	return time.Date(now.Year(), now.Month()+2, 1, 0, 0, 0, 0, time.UTC)
}

// embedSoftware adds e's desired software states that apply to d to
// agent, marking those that cannot be sent.
func (r *Resolver) embedSoftware(ctx context.Context, d core.Device, e *Effective, agent *protocol.Policy) error {
	for i := range e.Software {
		sw := &e.Software[i]
		out, err := r.software(ctx, d, sw)
		if err = r.brokenOr(err, sw.Source, "software", sw.Check, &sw.Broken); err != nil {
			return err
		}
		sw.MAC = nil
		if sw.Broken == nil && sw.Skipped == nil {
			agent.Software = append(agent.Software, out)
		}
	}
	return nil
}

// software builds the agent's desired state of an effective entry, or
// sets sw.Skipped for a package that is not for d.
func (r *Resolver) software(ctx context.Context, d core.Device, sw *SoftwareEntry) (protocol.Software, error) {
	if !r.st.PolicySoftwareAuthentic(sw.Source.PolicyID, sw.PolicySoftware) {
		return protocol.Software{}, errEntryMAC
	}
	p, err := r.st.GetPackage(ctx, sw.PackageID)
	switch {
	case errors.Is(err, core.ErrNotFound):
		return protocol.Software{}, broken(fmt.Sprintf("package %d was deleted or does not exist", sw.PackageID),
			fmt.Sprintf("Paket %d wurde gelöscht oder existiert nicht", sw.PackageID))
	case err != nil:
		return protocol.Software{}, fmt.Errorf("reading package %d: %w", sw.PackageID, err)
	}
	sw.PackageName, sw.PackageVersion = p.Name, p.Version
	if !r.st.PackageAuthentic(p) {
		return protocol.Software{}, broken(fmt.Sprintf("package %q does not carry the server's authentication (written into the database directly, or by an older Wacht): check it and save the package again", p.Name),
			fmt.Sprintf("Paket %q trägt nicht die Authentifizierung des Servers (direkt in die Datenbank geschrieben oder von einer älteren Wacht-Version): prüfen Sie es und speichern Sie das Paket erneut", p.Name))
	}
	if why := notFor(p, d); why != nil {
		sw.Skipped = why
		return protocol.Software{}, nil
	}
	var file *protocol.PackageFile
	if p.Kind == core.PkgUpload {
		if file, err = r.packageFile(d, p); err != nil {
			return protocol.Software{}, err
		}
	}
	var secrets map[string]string
	if len(p.Sealed) > 0 {
		if r.sw.Secrets == nil {
			err = errors.New("the server has no secret key")
		} else {
			secrets, err = r.sw.Secrets(p.Sealed)
		}
		if err != nil {
			return protocol.Software{}, broken(fmt.Sprintf("the secret parameters of package %q cannot be opened: %v", p.Name, err),
				fmt.Sprintf("die geheimen Parameter des Pakets %q lassen sich nicht öffnen: %v", p.Name, err))
		}
	}
	a, err := PackageArgs(p, secrets, sw.State == core.SoftwareAbsent, file)
	if err != nil {
		return protocol.Software{}, broken(fmt.Sprintf("package %q cannot be sent: %v", p.Name, err),
			fmt.Sprintf("Paket %q kann nicht gesendet werden: %v", p.Name, err))
	}
	out := protocol.Software{Check: sw.Check, State: sw.State, Package: a}
	if sw.State == core.SoftwarePresent {
		if sw.MinVersion != "" {
			out.Package.Detection.MinVersion = sw.MinVersion // the entry's overrides the rule's
		}
		out.MinVersion = out.Package.Detection.MinVersion
	} else {
		out.Package.Detection.MinVersion = "" // absent means no version at all
	}
	return out, nil
}

// notFor says why package p does not apply to device d, nil if it does.
func notFor(p core.Package, d core.Device) *core.Text {
	switch {
	case d.OS == "":
		return &core.Text{EN: "the device's operating system is not known yet", DE: "das Betriebssystem des Geräts ist noch nicht bekannt"}
	case p.OS != d.OS:
		return &core.Text{EN: fmt.Sprintf("package %q is for %s, this device runs %s", p.Name, p.OS, d.OS),
			DE: fmt.Sprintf("Paket %q ist für %s, dieses Gerät läuft unter %s", p.Name, p.OS, d.OS)}
	case p.Arch != "" && d.Arch != "" && p.Arch != d.Arch:
		return &core.Text{EN: fmt.Sprintf("package %q is for %s, this device is %s", p.Name, p.Arch, d.Arch),
			DE: fmt.Sprintf("Paket %q ist für %s, dieses Gerät ist %s", p.Name, p.Arch, d.Arch)}
	}
	return nil
}

// packageFile is an upload's file with d's download ticket.
func (r *Resolver) packageFile(d core.Device, p core.Package) (*protocol.PackageFile, error) {
	switch {
	case p.SHA256 == "":
		return nil, broken(fmt.Sprintf("package %q has no uploaded file yet", p.Name),
			fmt.Sprintf("für Paket %q wurde noch keine Datei hochgeladen", p.Name))
	case r.sw.Ticket == nil:
		return nil, broken("the server cannot issue download tickets (no secret key)",
			"der Server kann keine Download-Tickets ausstellen (kein geheimer Schlüssel)")
	}
	now := time.Now
	if r.sw.Now != nil {
		now = r.sw.Now
	}
	return &protocol.PackageFile{SHA256: p.SHA256, Size: p.Size, Name: p.FileName,
		Ticket: r.sw.Ticket(d.ID, p.SHA256, TicketExpiry(now()))}, nil
}

// PackageArgs builds the arguments of package p's install (or, with
// uninstall, removal) without a run ID: the parameters, the secret ones'
// values from secrets, the command of an upload or command package
// (placeholders stay; the agent expands them) and an upload's file. Both a
// deployment's action and a policy's desired state are built here. The
// error says why they would not be valid (a secret parameter without a
// value, a command package without command).
func PackageArgs(p core.Package, secrets map[string]string, uninstall bool, file *protocol.PackageFile) (protocol.PackageArgs, error) {
	a := protocol.PackageArgs{PackageID: p.ID, Name: p.Name, Version: p.Version, Kind: p.Kind, ManagerID: p.ManagerID,
		ExitCodes: maps.Clone(p.ExitCodes), TimeoutSeconds: p.TimeoutSeconds, Detection: p.Detection,
		RequireAuthenticode: p.RequireAuthenticode}
	if p.Kind == core.PkgUpload {
		a.File = file
	}
	// A package manager's command the agent builds itself.
	if !core.ManagerKind(p.Kind) {
		a.Command = p.Install
		if uninstall {
			a.Command = p.Uninstall
		}
		if len(a.Command) == 0 {
			a.Command = nil
		}
	}
	for _, pp := range p.Params {
		if !pp.Secret {
			if a.Params == nil {
				a.Params = map[string]string{}
			}
			a.Params[pp.Name] = pp.Value
			continue
		}
		v, ok := secrets[pp.Name]
		if !ok || v == "" {
			return a, fmt.Errorf("the secret parameter %q has no value: set it on the package", pp.Name)
		}
		if a.Secrets == nil {
			a.Secrets = map[string]string{}
		}
		a.Secrets[pp.Name] = v
	}
	check := a
	check.RunID = "x" // the agent names each attempt
	if err := check.Validate(); err != nil {
		return a, err
	}
	return a, nil
}
