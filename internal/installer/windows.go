package installer

import (
	"bytes"
	"context"
	"crypto/sha1"
	_ "embed"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/wacht-rmm/wacht/internal/codesign"
	"github.com/wacht-rmm/wacht/internal/release"
)

// The MSI's identity. UpgradeCode never changes: every Wacht agent MSI
// replaces any earlier one in place. The component GUIDs are fixed too, so
// that an upgrade keeps the service and files owned by the same components.
const (
	UpgradeCode = "{5B6C1E70-3A2D-4F8E-9C41-7D0A2B93E6F5}"
	// ServiceName is the Windows service the MSI installs, the same as
	// cmd/wacht-agent's serviceName.
	ServiceName = "wacht-agent"
	// TrayRunValue is the HKLM Run value starting the tray app at log-on,
	// the same as agent.TrayRunValue (the installer does not import the
	// agent package).
	TrayRunValue = "Wacht Tray"
)

var componentGUIDs = map[string]string{
	"AgentAmd64":   "{A1F04C52-6D3B-4E7A-8B19-2C5D7E90F3A1}",
	"AgentArm64":   "{A1F04C52-6D3B-4E7A-8B19-2C5D7E90F3A2}",
	"TrayAmd64":    "{A1F04C52-6D3B-4E7A-8B19-2C5D7E90F3B1}",
	"TrayArm64":    "{A1F04C52-6D3B-4E7A-8B19-2C5D7E90F3B2}",
	"ServiceStart": "{A1F04C52-6D3B-4E7A-8B19-2C5D7E90F3C1}",
}

// ARM64Condition is true on an ARM64 Windows machine running the x64 MSI:
// the system environment's PROCESSOR_ARCHITECTURE in the registry (read
// through the 64-bit view by AppSearch into NATIVEARCH) or the msiexec
// process's own environment says ARM64. An x64 process emulated on ARM64
// sees PROCESSOR_ARCHITECTURE=AMD64 in its environment, never in the
// registry, so the registry value decides; the environment variables are
// a second witness where the registry could not be read.
const ARM64Condition = `NATIVEARCH="ARM64" OR %PROCESSOR_ARCHITECTURE="ARM64" OR %PROCESSOR_ARCHITEW6432="ARM64"`

// Custom action types (msidbCustomActionType…): an EXE in a directory
// (34), deferred (0x400), run as LocalSystem (no impersonation, 0x800),
// its command line kept out of the log (0x2000, it carries the token),
// and for the purge, its exit code ignored (0x40).
const (
	caExeInDir      = 34
	caInScript      = 0x400
	caNoImpersonate = 0x800
	caHideTarget    = 0x2000
	caContinue      = 0x40
	caEnroll        = caExeInDir | caInScript | caNoImpersonate | caHideTarget
	caPurge         = caExeInDir | caInScript | caNoImpersonate | caContinue
)

//go:embed windows.wxs
var windowsWXS string

var wxsTemplate = template.Must(template.New("wxs").Parse(windowsWXS))

// MSIName is the MSI's file name for a version.
func MSIName(version string) string { return "wacht-agent-" + version + "-x64.msi" }

var (
	semverRe   = regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)(?:-(\d+)-g[0-9a-f]+)?(?:[-+][0-9A-Za-z.+-]*)?$`)
	untaggedRe = regexp.MustCompile(`^0\.(\d+)\.0\+g[0-9a-z]+$`)
)

// ProductVersion maps a Wacht version to the MSI's ProductVersion, a.b.c
// with a, b ≤ 255 and c ≤ 65535 (Windows Installer compares only these
// three fields), keeping the order of versions:
//
//   - make's untagged 0.<commits>.0+g<hash> becomes 0.<commits/65536>.<commits%65536>
//     (0.1165.0+g26226e3 → 0.0.1165), below every tagged release;
//   - a tag v1.2.3 or 1.2.3 becomes 1.2.3; git describe's v1.2.3-5-gabc
//     (five commits after the tag) becomes 1.2.3.5: the fourth field is
//     shown in Programs and Features but Windows Installer ignores it, so
//     such a build replaces 1.2.3 and any other build of 1.2.3 in place;
//   - a suffix such as -dirty or -rc1 is dropped.
//
// Anything else, or a field out of range, is an error.
func ProductVersion(v string) (string, error) {
	if m := untaggedRe.FindStringSubmatch(v); m != nil {
		n, err := strconv.ParseUint(m[1], 10, 32)
		if err != nil || n > 255*65536+65535 {
			return "", fmt.Errorf("installer: version %q: commit count out of the MSI's range", v)
		}
		return fmt.Sprintf("0.%d.%d", n/65536, n%65536), nil
	}
	m := semverRe.FindStringSubmatch(v)
	if m == nil {
		return "", fmt.Errorf("installer: version %q is neither a tag like v1.2.3 nor make's 0.<commits>.0+g<hash>", v)
	}
	var f [4]uint64
	limits := [4]uint64{255, 255, 65535, 65535}
	for i := range 4 {
		if m[i+1] == "" {
			continue
		}
		n, err := strconv.ParseUint(m[i+1], 10, 32)
		if err != nil || n > limits[i] {
			return "", fmt.Errorf("installer: version %q: field %d must be at most %d for an MSI", v, i+1, limits[i])
		}
		f[i] = n
	}
	if m[4] != "" {
		return fmt.Sprintf("%d.%d.%d.%d", f[0], f[1], f[2], f[3]), nil
	}
	return fmt.Sprintf("%d.%d.%d", f[0], f[1], f[2]), nil
}

// ProductCode is the MSI's ProductCode for a version: a name-based UUID
// (version 5 layout, SHA-1) of the UpgradeCode and the version, so the
// same build always has the same code and every other build another.
func ProductCode(version string) string {
	h := sha1.Sum([]byte(UpgradeCode + "\x00" + version))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("{%x-%x-%x-%x-%x}", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16]))
}

type wxsFile struct{ ID, Guid, Source string }

type wxsData struct {
	ProductCode, ProductVersion, UpgradeCode, Version, FileName string
	Service, TrayRunValue                                       string
	StartGuid                                                   string
	Agents, Trays                                               []wxsFile
}

// Windows builds wacht-agent-<version>-x64.msi from dist's
// wacht-agent-windows-amd64.exe (required), wacht-agent-windows-arm64.exe
// and wacht-tray-windows-<arch>.exe (optional) with wixl and msibuild,
// and signs it with osslsigncode when Options.CodeSignCert is set.
// docs/installers.md describes what the MSI does.
func Windows(o Options) ([]Built, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if o.Version == "" {
		return nil, errors.New("installer: no version for the MSI")
	}
	pv, err := ProductVersion(o.Version)
	if err != nil {
		return nil, err
	}
	for _, tool := range []string{"wixl", "msibuild"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("installer: the MSI needs %s (Debian packages wixl and msitools): %w", tool, err)
		}
	}
	d := wxsData{
		ProductCode: ProductCode(o.Version), ProductVersion: pv, UpgradeCode: UpgradeCode,
		Version: o.Version, FileName: MSIName(o.Version), Service: ServiceName, TrayRunValue: TrayRunValue,
		StartGuid: componentGUIDs["ServiceStart"],
	}
	tmp, err := os.MkdirTemp("", "wacht-msi-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	for _, b := range []struct {
		prog, arch, id string
		required       bool
		into           *[]wxsFile
	}{
		{"wacht-agent", "amd64", "AgentAmd64", true, &d.Agents},
		{"wacht-agent", "arm64", "AgentArm64", false, &d.Agents},
		{"wacht-tray", "amd64", "TrayAmd64", false, &d.Trays},
		{"wacht-tray", "arm64", "TrayArm64", false, &d.Trays},
	} {
		p, err := filepath.Abs(filepath.Join(o.Dist, b.prog+"-windows-"+b.arch+".exe"))
		if err != nil {
			return nil, err
		}
		if err := checkPE(p, b.arch); err != nil {
			if errors.Is(err, fs.ErrNotExist) && !b.required {
				continue
			}
			return nil, err
		}
		// wixl takes only sources relative to its folder.
		name := b.prog + "-" + b.arch + ".exe"
		if err := copyFile(p, filepath.Join(tmp, name)); err != nil {
			return nil, err
		}
		*b.into = append(*b.into, wxsFile{ID: b.id, Guid: componentGUIDs[b.id], Source: name})
	}
	d.Version = xmlEscape(d.Version)
	d.FileName = xmlEscape(d.FileName)

	var wxs bytes.Buffer
	if err := wxsTemplate.Execute(&wxs, d); err != nil {
		return nil, fmt.Errorf("installer: writing the .wxs: %w", err)
	}
	src, msi := filepath.Join(tmp, "wacht-agent.wxs"), filepath.Join(tmp, "wacht-agent.msi")
	if err := os.WriteFile(src, wxs.Bytes(), 0o644); err != nil {
		return nil, err
	}
	if err := runTool(ctx, tmp, "wixl", "-a", "x64", "-o", msi, src); err != nil {
		return nil, err
	}
	if err := finishMSI(ctx, tmp, msi, d); err != nil {
		return nil, err
	}
	out := filepath.Join(o.Dist, MSIName(o.Version))
	if o.CodeSignCert != "" {
		cs := codesign.Config{Cert: o.CodeSignCert, Key: o.CodeSignKey}
		if err := cs.SignMSI(ctx, msi, out); err != nil {
			return nil, err
		}
	} else if err := copyFile(msi, out); err != nil {
		return nil, err
	}
	return []Built{{Path: out, Kind: release.KindMSI, OS: "windows", Arch: "amd64"}}, nil
}

// finishMSI adds to the database what wixl 0.101 cannot author: the
// components' processor conditions (wixl turns a Component's Condition
// into a launch condition), the search for an earlier enrollment, the two
// custom actions as type 34 with a hidden command line, the service's
// recovery and delayed start, the secure properties, and an upgrade that
// also replaces a build of the same ProductVersion.
func finishMSI(ctx context.Context, dir, msi string, d wxsData) error {
	data := `"[CommonAppDataFolder]Wacht"`
	agent := `"[INSTALLDIR]wacht-agent.exe"`
	// The agent's own words on a failed enrollment: an EXE custom action
	// cannot write into the MSI log.
	enrollLog := `"[CommonAppDataFolder]Wacht\enroll.log"`
	var q []string
	if len(d.Agents) == 2 {
		q = append(q,
			"UPDATE `Component` SET `Condition` = 'NOT ("+ARM64Condition+")' WHERE `Component` = 'AgentAmd64'",
			"UPDATE `Component` SET `Condition` = '"+ARM64Condition+"' WHERE `Component` = 'AgentArm64'")
	}
	q = append(q, "UPDATE `Component` SET `Condition` = 'NOT (NOSTART=\"1\")' WHERE `Component` = 'ServiceStart'")
	var trays []string
	for _, t := range d.Trays {
		trays = append(trays, t.ID)
	}
	if len(trays) == 2 {
		q = append(q,
			"UPDATE `Component` SET `Condition` = 'NOT ("+ARM64Condition+")' WHERE `Component` = 'TrayAmd64'",
			"UPDATE `Component` SET `Condition` = '"+ARM64Condition+"' WHERE `Component` = 'TrayArm64'")
	}
	q = append(q,
		// ENROLLED: the agent's configuration exists already (an earlier
		// install or `wacht-agent enroll`).
		"CREATE TABLE `Signature` (`Signature` CHAR(72) NOT NULL, `FileName` CHAR(255) NOT NULL, `MinVersion` CHAR(20), `MaxVersion` CHAR(20), `MinSize` LONG, `MaxSize` LONG, `MinDate` LONG, `MaxDate` LONG, `Languages` CHAR(255) PRIMARY KEY `Signature`)",
		"CREATE TABLE `DrLocator` (`Signature_` CHAR(72) NOT NULL, `Parent` CHAR(72), `Path` CHAR(255), `Depth` SHORT PRIMARY KEY `Signature_`, `Parent`, `Path`)",
		"INSERT INTO `Signature` (`Signature`, `FileName`) VALUES ('AgentConfig', 'agent.json')",
		"INSERT INTO `DrLocator` (`Signature_`, `Path`, `Depth`) VALUES ('AgentConfig', '[CommonAppDataFolder]Wacht', 0)",
		"INSERT INTO `AppSearch` (`Property`, `Signature_`) VALUES ('ENROLLED', 'AgentConfig')",
		fmt.Sprintf("INSERT INTO `CustomAction` (`Action`, `Type`, `Source`, `Target`) VALUES ('EnrollAgent', %d, 'INSTALLDIR', '%s enroll --token \"[TOKEN]\" --data %s --log %s')", caEnroll, agent, data, enrollLog),
		fmt.Sprintf("INSERT INTO `CustomAction` (`Action`, `Type`, `Source`, `Target`) VALUES ('PurgeData', %d, 'INSTALLDIR', '%s uninstall --purge --data %s')", caPurge, agent, data),
		"UPDATE `Property` SET `Value` = 'WIX_DOWNGRADE_DETECTED;WIX_UPGRADE_DETECTED;TOKEN;PURGE;NOSTART' WHERE `Property` = 'SecureCustomProperties'",
		// msidbUpgradeAttributesMigrateFeatures | VersionMaxInclusive: a
		// rebuild with the same ProductVersion is replaced as well.
		// (Attributes is part of the key: delete and insert.)
		"DELETE FROM `Upgrade` WHERE `ActionProperty` = 'WIX_UPGRADE_DETECTED'",
		fmt.Sprintf("INSERT INTO `Upgrade` (`UpgradeCode`, `VersionMax`, `Attributes`, `ActionProperty`) VALUES ('%s', '%s', 513, 'WIX_UPGRADE_DETECTED')", d.UpgradeCode, d.ProductVersion),
		// Recovery: restart after 10 s, 10 s and 60 s; the count resets
		// after a day. Delayed automatic start as `wacht-agent install`.
		"CREATE TABLE `MsiServiceConfigFailureActions` (`MsiServiceConfigFailureActions` CHAR(72) NOT NULL, `Name` CHAR(255) NOT NULL, `Event` SHORT NOT NULL, `ResetPeriod` LONG, `RebootMessage` CHAR(255), `Command` CHAR(255), `Actions` CHAR(255), `DelayActions` CHAR(255), `Component_` CHAR(72) NOT NULL PRIMARY KEY `MsiServiceConfigFailureActions`)",
		"CREATE TABLE `MsiServiceConfig` (`MsiServiceConfig` CHAR(72) NOT NULL, `Name` CHAR(255) NOT NULL, `Event` SHORT NOT NULL, `ConfigType` LONG NOT NULL, `Argument` CHAR(0), `Component_` CHAR(72) NOT NULL PRIMARY KEY `MsiServiceConfig`)",
	)
	for _, a := range d.Agents {
		q = append(q,
			fmt.Sprintf("INSERT INTO `MsiServiceConfigFailureActions` (`MsiServiceConfigFailureActions`, `Name`, `Event`, `ResetPeriod`, `Actions`, `DelayActions`, `Component_`) VALUES ('%sRecovery', '%s', 5, 86400, '1[~]1[~]1', '10000[~]10000[~]60000', '%s')", a.ID, d.Service, a.ID),
			fmt.Sprintf("INSERT INTO `MsiServiceConfig` (`MsiServiceConfig`, `Name`, `Event`, `ConfigType`, `Argument`, `Component_`) VALUES ('%sDelayed', '%s', 5, 3, '1', '%s')", a.ID, d.Service, a.ID))
	}
	// After InstallServices (5800), before EnrollAgent (5850) and
	// StartServices (5900).
	q = append(q, "INSERT INTO `InstallExecuteSequence` (`Action`, `Sequence`) VALUES ('MsiConfigureServices', 5810)")
	tables, err := exec.CommandContext(ctx, "msiinfo", "tables", msi).Output()
	if err != nil {
		return fmt.Errorf("installer: msiinfo tables %s: %w", msi, err)
	}
	have := map[string]bool{}
	for _, t := range strings.Fields(string(tables)) {
		have[t] = true
	}
	for _, s := range q {
		// wixl creates some standard tables empty, not others.
		if t, ok := strings.CutPrefix(s, "CREATE TABLE `"); ok && have[t[:strings.IndexByte(t, '`')]] {
			continue
		}
		if err := runTool(ctx, dir, "msibuild", msi, "-q", s); err != nil {
			return fmt.Errorf("%w (query %s)", err, s)
		}
	}
	return nil
}

// checkPE makes sure path is a Windows executable for arch.
func checkPE(path, arch string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("installer: %w", err)
	}
	defer f.Close()
	goos, goarch, err := release.Platform(f)
	if err != nil {
		return fmt.Errorf("installer: %s: %w", path, err)
	}
	if goos != "windows" || goarch != arch {
		return fmt.Errorf("installer: %s is a %s/%s program, not windows/%s", path, goos, goarch, arch)
	}
	return nil
}

func runTool(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("installer: %s: %w: %s", name, err, bytes.TrimSpace(out))
	}
	return nil
}

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	tmp := to + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, to)
}
