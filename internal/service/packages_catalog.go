package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/wacht-rmm/wacht/internal/core"
)

// CatalogEntry is a package definition Wacht ships (issue 17 §4): seeded
// at start, read-only, refreshed from this code, duplicated into an
// editable package of the administrators' own. No vendor binary is
// shipped: an entry names a package manager's ID or asks for the upload
// of the installer. Secret parameters have no value here; the copy gets
// them.
type CatalogEntry struct {
	Key    string
	Input  PackageInput
	Source core.PackageSource
}

// psCommand runs one PowerShell command line: for installers that need a
// second step (a configuration after the install) in one argument array.
func psCommand(cmd string) []string {
	return []string{"powershell.exe", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-Command", cmd}
}

// msiInstall and msiUninstall are the Windows Installer's silent command
// lines (msiexec's /i, /x, /qn and /norestart), documented by Microsoft:
// https://learn.microsoft.com/en-us/windows/win32/msi/command-line-options
func msiInstall(props ...string) []string {
	return append([]string{"msiexec.exe", "/i", FilePlaceholder, "/qn", "/norestart"}, props...)
}

func registry(name string) core.Detection {
	return core.Detection{Kind: core.DetectRegistry, DisplayName: name}
}

func winget(key, name, id, display string, src core.PackageSource) CatalogEntry {
	return CatalogEntry{Key: key, Source: src, Input: PackageInput{Name: name, Version: "latest", OS: "windows",
		Kind: core.PkgWinget, ManagerID: id, Detection: registry(display)}}
}

// wingetSource cites a package's manifest in the winget community
// repository, where its ID and its installer's silent switches are.
func wingetSource(id, dir string) core.PackageSource {
	return core.PackageSource{Title: "winget-pkgs manifest " + id, URL: "https://github.com/microsoft/winget-pkgs/tree/master/manifests/" + dir,
		Note: core.Text{EN: "winget installs silently with the switches of the manifest; the newest version.",
			DE: "winget installiert still mit den Schaltern des Manifests; die neueste Version."}}
}

var verifyNote = core.Text{
	EN: "Verify before use: the vendor's switches could not be confirmed in its document when this entry was written; test the copy on one device first.",
	DE: "Vor Gebrauch prüfen: die Schalter des Herstellers ließen sich beim Schreiben dieses Eintrags nicht in seinem Dokument bestätigen; testen Sie die Kopie zuerst auf einem Gerät."}

func upload(key, name string, install, uninstall []string, params []core.PackageParam, d core.Detection, src core.PackageSource) CatalogEntry {
	return CatalogEntry{Key: key, Source: src, Input: PackageInput{Name: name, Version: "upload", OS: "windows", Arch: "",
		Kind: core.PkgUpload, Install: install, Uninstall: uninstall, Params: params, Detection: d}}
}

// command is an entry that needs no file: its command line configures
// what Windows has.
func command(key, name string, install, uninstall []string, params []core.PackageParam, d core.Detection, src core.PackageSource) CatalogEntry {
	e := upload(key, name, install, uninstall, params, d, src)
	e.Input.Kind, e.Input.Version = core.PkgCommand, "1"
	return e
}

// Catalog returns the built-in package definitions.
func Catalog() []CatalogEntry {
	return []CatalogEntry{
		// Remote maintenance.
		upload("rustdesk", "RustDesk",
			psCommand(`$ErrorActionPreference = 'Stop'; Start-Process -Wait -FilePath '{{file}}' -ArgumentList '--silent-install'; `+
				`Start-Sleep -Seconds 20; & "$env:ProgramFiles\RustDesk\rustdesk.exe" --config '{{config}}'`),
			nil, []core.PackageParam{{Name: "config", Secret: true}}, registry("RustDesk"),
			core.PackageSource{Title: "RustDesk — Client Deployment", URL: "https://rustdesk.com/docs/en/self-host/client-deployment/",
				Note: core.Text{
					EN: "Upload rustdesk-<version>-x86_64.exe. config is the configuration string of your RustDesk server (Web console, or Settings → Network → Export on a configured client): it carries your ID/relay server and its key. Installs with --silent-install, then applies --config as the document's PowerShell script does.",
					DE: "Laden Sie rustdesk-<Version>-x86_64.exe hoch. config ist die Konfigurationszeichenkette Ihres RustDesk-Servers (Web-Konsole oder Einstellungen → Netzwerk → Exportieren an einem eingerichteten Client): sie enthält Ihren ID-/Relay-Server und dessen Schlüssel. Installiert mit --silent-install und setzt danach --config wie das PowerShell-Skript des Dokuments."}}),
		upload("meshcentral-agent", "MeshCentral agent", []string{FilePlaceholder, "-fullinstall"}, []string{`C:\Program Files\Mesh Agent\MeshAgent.exe`, "-fulluninstall"},
			nil, registry("Mesh Agent"),
			core.PackageSource{Title: "MeshCentral — User Guide, agent installation", URL: "https://ylianst.github.io/MeshCentral/meshcentral/agents/", Verify: true,
				Note: core.Text{
					EN: "Upload the Windows agent (meshagent64-<group>.exe) that your MeshCentral server offers for the device group: the server and group are inside it. " + verifyNote.EN,
					DE: "Laden Sie den Windows-Agenten (meshagent64-<Gruppe>.exe) hoch, den Ihr MeshCentral-Server für die Gerätegruppe anbietet: Server und Gruppe stecken darin. " + verifyNote.DE}}),
		upload("teamviewer-host", "TeamViewer Host",
			psCommand(`$ErrorActionPreference = 'Stop'; $p = Start-Process -Wait -PassThru msiexec.exe -ArgumentList '/i', '"{{file}}"', '/qn', 'CUSTOMCONFIGID={{config_id}}'; `+
				`if ($p.ExitCode -ne 0) { exit $p.ExitCode }; & "$env:ProgramFiles\TeamViewer\TeamViewer.exe" assignment --id '{{assignment_id}}'; exit $LASTEXITCODE`),
			nil, []core.PackageParam{{Name: "config_id"}, {Name: "assignment_id", Secret: true}}, registry("TeamViewer Host"),
			core.PackageSource{Title: "TeamViewer — Create an assignment configuration; Mass deployment on Windows", Verify: true,
				URL: "https://www.teamviewer.com/en/global/support/knowledge-base/teamviewer-tensor-classic/deployment/create-an-assignment-configuration-7-9",
				Note: core.Text{
					EN: "Upload TeamViewer_Host.msi (Corporate/Tensor licence). config_id is the ID of your custom module, assignment_id the assignment ID copied from Design & Deploy → Assignment. " + verifyNote.EN,
					DE: "Laden Sie TeamViewer_Host.msi hoch (Corporate-/Tensor-Lizenz). config_id ist die ID Ihres angepassten Moduls, assignment_id die unter Design & Deploy → Zuweisung kopierte Zuweisungs-ID. " + verifyNote.DE}}),
		upload("anydesk", "AnyDesk", []string{FilePlaceholder, "--install", `C:\Program Files (x86)\AnyDesk`, "--start-with-win", "--silent"},
			[]string{`C:\Program Files (x86)\AnyDesk\AnyDesk.exe`, "--remove"}, nil, registry("AnyDesk*"),
			core.PackageSource{Title: "AnyDesk — Command Line Interface for Windows", URL: "https://support.anydesk.com/knowledge/command-line-interface-for-windows", Verify: true,
				Note: core.Text{
					EN: "Upload AnyDesk.exe (or your custom client). " + verifyNote.EN,
					DE: "Laden Sie AnyDesk.exe (oder Ihren angepassten Client) hoch. " + verifyNote.DE}}),
		// Antivirus.
		command("defender-configure", "Microsoft Defender: enable and configure",
			psCommand(`$ErrorActionPreference = 'Stop'; Set-MpPreference -DisableRealtimeMonitoring $false -PUAProtection Enabled `+
				`-MAPSReporting Advanced -SubmitSamplesConsent SendSafeSamples; Update-MpSignature`),
			nil, nil, core.Detection{Kind: core.DetectService, Name: "WinDefend"},
			core.PackageSource{Title: "Set-MpPreference (Defender) — Microsoft Learn", URL: "https://learn.microsoft.com/en-us/powershell/module/defender/set-mppreference",
				Note: core.Text{
					EN: "Nothing to upload: Defender is part of Windows. Turns real-time protection, PUA blocking and cloud protection on and updates the signatures (Update-MpSignature). Without a third-party antivirus only.",
					DE: "Nichts hochzuladen: Defender gehört zu Windows. Schaltet Echtzeitschutz, PUA-Sperre und Cloud-Schutz ein und aktualisiert die Signaturen (Update-MpSignature). Nur ohne fremden Virenschutz."}}),
		upload("eset-management-agent", "ESET Management Agent", msiInstall("P_HOSTNAME={{server}}", "P_PORT={{port}}"), nil,
			[]core.PackageParam{{Name: "server"}, {Name: "port", Value: "2222"}}, registry("ESET Management Agent"),
			core.PackageSource{Title: "ESET PROTECT — Agent installation (Windows, command line)", Verify: true,
				URL: "https://help.eset.com/protect_install/latest/en-US/component_installation_agent_windows.html",
				Note: core.Text{
					EN: "Upload agent_x64.msi. server and port are your ESET PROTECT server (agent port 2222 by default); certificate-based installs need the certificate properties of the document. " + verifyNote.EN,
					DE: "Laden Sie agent_x64.msi hoch. server und port sind Ihr ESET-PROTECT-Server (Agenten-Port standardmäßig 2222); Installationen mit Zertifikat brauchen die Zertifikat-Eigenschaften des Dokuments. " + verifyNote.DE}}),
		upload("bitdefender-gravityzone", "Bitdefender GravityZone (BEST)", []string{FilePlaceholder, "/bdparams", "/silent"}, nil, nil,
			registry("Bitdefender Endpoint Security Tools*"),
			core.PackageSource{Title: "Bitdefender GravityZone — Install security agents, command-line parameters", Verify: true,
				URL: "https://www.bitdefender.com/business/support/en/77209-78383-install-security-agents---standard-installation.html",
				Note: core.Text{
					EN: "Upload the installation package downloaded from GravityZone (Network → Packages): your company and policy are inside it. " + verifyNote.EN,
					DE: "Laden Sie das in GravityZone (Netzwerk → Pakete) heruntergeladene Installationspaket hoch: Firma und Richtlinie stecken darin. " + verifyNote.DE}}),
		upload("sophos-endpoint", "Sophos Endpoint (Sophos Central)", []string{FilePlaceholder, "--quiet"}, nil, nil, registry("Sophos Endpoint Agent"),
			core.PackageSource{Title: "Sophos Central — Windows endpoint installer command-line options", Verify: true,
				URL: "https://docs.sophos.com/central/customer/help/en-us/ManageYourProducts/GlobalSettings/Installers/WindowsInstallerCommandLineOptions/",
				Note: core.Text{
					EN: "Upload SophosSetup.exe from Sophos Central (Devices → Installers): your account is inside it. " + verifyNote.EN,
					DE: "Laden Sie SophosSetup.exe aus Sophos Central (Geräte → Installationsprogramme) hoch: Ihr Konto steckt darin. " + verifyNote.DE}}),
		// Backup.
		upload("acronis-cyber-protect", "Acronis Cyber Protect agent",
			[]string{FilePlaceholder, "--quiet", "--registration", "by-token", "--reg_address={{address}}", "--reg_token={{token}}"}, nil,
			[]core.PackageParam{{Name: "address", Value: "https://eu2-cloud.acronis.com"}, {Name: "token", Secret: true}}, registry("Acronis Cyber Protect*"),
			core.PackageSource{Title: "Acronis Cyber Protect Cloud — Unattended installation or uninstallation in Windows; Installation parameters", Verify: true,
				URL: "https://www.acronis.com/en-us/support/documentation/CyberProtectionService/#unattended-installation-or-uninstallation-in-windows.html",
				Note: core.Text{
					EN: "Upload the agent installer (Cyber Protect_AgentForWindows_web.exe). address is your data centre's address, token a registration token generated in the Cyber Protect console (Devices → Add → Generate token). " + verifyNote.EN,
					DE: "Laden Sie das Agenten-Installationsprogramm (Cyber Protect_AgentForWindows_web.exe) hoch. address ist die Adresse Ihres Rechenzentrums, token ein in der Cyber-Protect-Konsole erzeugtes Registrierungstoken (Geräte → Hinzufügen → Token erzeugen). " + verifyNote.DE}}),
		upload("veeam-agent", "Veeam Agent for Microsoft Windows",
			[]string{FilePlaceholder, "/silent", "/accepteula", "/acceptthirdpartylicenses", "/acceptlicensingpolicy", "/acceptrequiredsoftware"}, nil, nil,
			core.Detection{Kind: core.DetectService, Name: "VeeamEndpointBackupSvc"},
			core.PackageSource{Title: "Veeam Agent for Microsoft Windows — Installing Veeam Agent in Unattended Mode", Verify: true,
				URL: "https://helpcenter.veeam.com/docs/agentforwindows/userguide/installation_unattended.html",
				Note: core.Text{
					EN: "Upload VeeamAgentWindows_<version>.exe. " + verifyNote.EN,
					DE: "Laden Sie VeeamAgentWindows_<Version>.exe hoch. " + verifyNote.DE}}),
		// Common tools.
		winget("7zip", "7-Zip", "7zip.7zip", "7-Zip*", wingetSource("7zip.7zip", "7/7zip/7zip")),
		winget("notepad-plus-plus", "Notepad++", "Notepad++.Notepad++", "Notepad++*", wingetSource("Notepad++.Notepad++", "n/Notepad++/Notepad++")),
		upload("chrome-msi", "Google Chrome (MSI)", msiInstall(), nil, nil, registry("Google Chrome"),
			core.PackageSource{Title: "Chrome Enterprise — Manage Chrome updates / Deploy Chrome on Windows (MSI)",
				URL: "https://support.google.com/chrome/a/answer/7650032",
				Note: core.Text{
					EN: "Upload GoogleChromeStandaloneEnterprise64.msi from the Chrome Enterprise bundle; a standard MSI installed with msiexec /qn.",
					DE: "Laden Sie GoogleChromeStandaloneEnterprise64.msi aus dem Chrome-Enterprise-Paket hoch; ein gewöhnliches MSI, installiert mit msiexec /qn."}}),
		upload("firefox-msi", "Mozilla Firefox (MSI)", msiInstall(), nil, nil, registry("Mozilla Firefox*"),
			core.PackageSource{Title: "Mozilla — Customizing Firefox using the MSI installer",
				URL: "https://support.mozilla.org/kb/deploy-firefox-msi-installers",
				Note: core.Text{
					EN: "Upload the Firefox Setup <version>.msi from mozilla.org (the MSI download); installed with msiexec /qn.",
					DE: "Laden Sie Firefox Setup <Version>.msi von mozilla.org (der MSI-Download) hoch; installiert mit msiexec /qn."}}),
		winget("libreoffice", "LibreOffice", "TheDocumentFoundation.LibreOffice", "LibreOffice*", wingetSource("TheDocumentFoundation.LibreOffice", "t/TheDocumentFoundation/LibreOffice")),
		winget("vlc", "VLC media player", "VideoLAN.VLC", "VLC media player", wingetSource("VideoLAN.VLC", "v/VideoLAN/VLC")),
		winget("acrobat-reader", "Adobe Acrobat Reader (64-bit)", "Adobe.Acrobat.Reader.64-bit", "Adobe Acrobat*", wingetSource("Adobe.Acrobat.Reader.64-bit", "a/Adobe/Acrobat/Reader/64-bit")),
	}
}

// catalogActor is who the catalog entries are updated by.
const catalogActor = "wacht"

// packagesSeeded remembers per store that the catalog is in it.
var packagesSeeded sync.Map // core.Store → *seedState

// seedPackages stores the catalog once per process and store. A replica
// seeding at the same moment makes one insert fail; the second pass then
// finds the entry.
func (s *Service) seedPackages(ctx context.Context) error {
	v, _ := packagesSeeded.LoadOrStore(s.store, &seedState{})
	st := v.(*seedState)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return nil
	}
	for _, e := range Catalog() {
		err := s.ensureCatalogPackage(ctx, e)
		if errors.Is(err, core.ErrConflict) {
			err = s.ensureCatalogPackage(ctx, e)
		}
		if err != nil {
			return fmt.Errorf("seeding catalog package %s: %w", e.Key, err)
		}
	}
	st.done = true
	return nil
}

func (s *Service) ensureCatalogPackage(ctx context.Context, e CatalogEntry) error {
	p, err := CatalogPackage(e)
	if err != nil {
		return err
	}
	return s.store.EnsureBuiltinPackage(ctx, &p)
}

// CatalogPackage validates a catalog entry as the service validates every
// package and returns it as stored.
func CatalogPackage(e CatalogEntry) (core.Package, error) {
	p, _, err := normalizePackage(e.Input, nil, true)
	if err != nil {
		return core.Package{}, fmt.Errorf("catalog package %s: %w", e.Key, err)
	}
	p.Builtin, p.UpdatedBy = e.Key, catalogActor
	return p, nil
}

// DuplicateInput names a package's copy and sets parameters' values in
// it (by name); an empty name is the original's with " (copy)".
type DuplicateInput struct {
	Name   string            `json:"name"`
	Params map[string]string `json:"params"`
}

// DuplicatePackage makes an editable copy of a package (a catalog entry
// or one of the administrators' own), its secret values included; the
// uploaded file is not copied. A secret left without a value is a
// validation error on that parameter.
func (s *Service) DuplicatePackage(ctx context.Context, u core.User, id int64, in DuplicateInput) (core.Package, error) {
	if err := s.packageAuthor(ctx, u); err != nil {
		return core.Package{}, err
	}
	if err := s.seedPackages(ctx); err != nil {
		return core.Package{}, err
	}
	src, err := s.store.GetPackage(ctx, id)
	if err != nil {
		return core.Package{}, fmt.Errorf("getting package %d: %w", id, err)
	}
	sec, err := s.openSecrets(src.Sealed)
	if err != nil {
		return core.Package{}, fmt.Errorf("opening the secrets of package %d: %w", id, err)
	}
	cp := PackageInputOf(src)
	cp.Name = strings.TrimSpace(in.Name)
	if cp.Name == "" {
		cp.Name = src.Name + " (copy)"
	}
	for i, pp := range cp.Params {
		if v, ok := in.Params[pp.Name]; ok {
			cp.Params[i].Value = v
		} else if pp.Secret {
			cp.Params[i].Value = sec[packageSecrets][pp.Name]
		}
	}
	return s.SavePackage(ctx, u, 0, cp)
}

// PackageInputOf is the input that defines p (secret values blank).
func PackageInputOf(p core.Package) PackageInput {
	params := make([]core.PackageParam, len(p.Params))
	for i, pp := range p.Params {
		params[i] = core.PackageParam{Name: pp.Name, Value: pp.Value, Secret: pp.Secret}
		if pp.Secret {
			params[i].Value = ""
		}
	}
	return PackageInput{Name: p.Name, Version: p.Version, OS: p.OS, Arch: p.Arch, Kind: p.Kind, ManagerID: p.ManagerID,
		Install: slices.Clone(p.Install), Uninstall: slices.Clone(p.Uninstall), Params: params, ExitCodes: maps.Clone(p.ExitCodes),
		Detection: p.Detection, RequireAuthenticode: p.RequireAuthenticode, TimeoutSeconds: p.TimeoutSeconds}
}
