package inventory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/uninstallreg"
	"github.com/wacht-rmm/wacht/internal/platform/wmiq"
)

// WMI namespaces beyond root\cimv2.
const (
	nsStorage   = `root\Microsoft\Windows\Storage`
	nsBitLocker = `root\cimv2\Security\MicrosoftVolumeEncryption`
	nsTPM       = `root\cimv2\Security\MicrosoftTpm`
	nsWMI       = `root\wmi`
)

// dsregcmd tells the Entra (Azure AD) join; Windows 10 and Server 2016
// and later have it.
var dsregcmd = func() string {
	dir, err := windows.GetSystemDirectory()
	if err != nil {
		dir = `C:\Windows\System32`
	}
	return filepath.Join(dir, "dsregcmd.exe")
}()

func init() { check.AllowBuiltin(dsregcmd) }

// collectOS reads the Windows inventory: WMI for hardware and system,
// the registry for software, Secure Boot and the OS version. Each part has
// its own deadline, so a hanging WMI provider costs that part only.
func collectOS(ctx context.Context, c *collector) {
	// Identity, domain and users share one Win32_ComputerSystem.
	var cs win32ComputerSystem
	csCtx, cancel := context.WithTimeout(ctx, partTimeout)
	csErr := wmiFirst(csCtx, "", "SELECT Manufacturer, Model, Domain, Workgroup, UserName, PartOfDomain FROM Win32_ComputerSystem", &cs)
	cancel()
	c.part(ctx, core.PartIdentity, func(ctx context.Context) error { return c.readIdentity(ctx, cs, csErr) })
	c.part(ctx, core.PartCPU, c.readProcessors)
	c.part(ctx, core.PartMemory, c.readMemory)
	c.part(ctx, core.PartDisks, c.readDisks)
	c.part(ctx, core.PartVolumes, c.readVolumes)
	c.part(ctx, core.PartNetwork, c.readAdapters)
	c.part(ctx, core.PartGPUs, c.readGPUs)
	c.part(ctx, core.PartMonitors, c.readMonitors)
	c.part(ctx, core.PartBattery, c.readBatteries)
	c.part(ctx, core.PartSecurity, c.readSecurity)
	c.part(ctx, core.PartOS, c.readOS)
	c.part(ctx, core.PartActivation, c.readActivation)
	c.part(ctx, core.PartDomain, func(ctx context.Context) error { return c.readDomain(ctx, cs, csErr) })
	c.part(ctx, core.PartUsers, func(ctx context.Context) error { return c.readUsers(ctx, cs, csErr) })
	c.part(ctx, core.PartSoftware, func(ctx context.Context) error {
		progs, err := readPrograms(ctx)
		c.inv.Software = progs
		return err
	})
	c.part(ctx, core.PartHotfixes, c.readHotfixes)
}

// wmi runs a WMI query with the part's deadline; the error names the
// query. Every selected property must be readable (Windows 10 and Server
// 2016 have them all), so that instances without values are a gap, not
// an empty inventory.
func wmi(ctx context.Context, namespace, query string, dst any) error {
	if err := wmiq.QueryAll(ctx, namespace, query, dst); err != nil {
		return fmt.Errorf("WMI %s: %w", query, err)
	}
	return nil
}

// wmiFirst reads the first instance of a class (Win32_OperatingSystem
// has one) into dst.
func wmiFirst[T any](ctx context.Context, namespace, query string, dst *T) error {
	var rows []T
	if err := wmi(ctx, namespace, query, &rows); err != nil {
		return err
	}
	if len(rows) == 0 {
		return fmt.Errorf("WMI %s: no instance", query)
	}
	*dst = rows[0]
	return nil
}

func (c *collector) readIdentity(ctx context.Context, cs win32ComputerSystem, csErr error) error {
	if csErr != nil {
		return csErr
	}
	var bios win32BIOS
	if err := wmiFirst(ctx, "", "SELECT Manufacturer, SerialNumber, SMBIOSBIOSVersion, ReleaseDate FROM Win32_BIOS", &bios); err != nil {
		return err
	}
	identity(&c.inv.Hardware, cs, bios)
	// PEFirmwareType: 1 BIOS, 2 UEFI (Windows 8 and later).
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Control`, registry.QUERY_VALUE); err == nil {
		ft, _, err := k.GetIntegerValue("PEFirmwareType")
		k.Close()
		c.inv.Hardware.Firmware.UEFI = err == nil && ft == 2
	}
	return nil
}

func (c *collector) readProcessors(ctx context.Context) error {
	var ps []win32Processor
	if err := wmi(ctx, "", "SELECT Name, NumberOfCores, NumberOfLogicalProcessors FROM Win32_Processor", &ps); err != nil {
		return err
	}
	if len(ps) == 0 {
		return errors.New("WMI Win32_Processor: no processor")
	}
	c.inv.Hardware.CPU = cpuInfo(ps)
	return nil
}

func (c *collector) readMemory(ctx context.Context) error {
	if err := c.readMemoryTotal(ctx); err != nil {
		return err
	}
	var ms []win32PhysicalMemory
	if err := wmi(ctx, "", "SELECT DeviceLocator, Manufacturer, SerialNumber, Capacity, Speed, ConfiguredClockSpeed, SMBIOSMemoryType FROM Win32_PhysicalMemory", &ms); err != nil {
		return err
	}
	c.inv.Hardware.Memory.Modules = memoryModules(ms)
	return nil
}

// readDisks asks the Storage namespace (Windows 8 and later), which tells
// SSD from HDD, and falls back to Win32_DiskDrive.
func (c *collector) readDisks(ctx context.Context) error {
	var ds []msftPhysicalDisk
	err := wmi(ctx, nsStorage, "SELECT DeviceId, FriendlyName, SerialNumber, Size, MediaType, BusType FROM MSFT_PhysicalDisk", &ds)
	if err == nil && len(ds) > 0 {
		c.inv.Hardware.Disks = physicalDisks(ds)
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	var dd []win32DiskDrive
	if err2 := wmi(ctx, "", "SELECT DeviceID, Model, SerialNumber, InterfaceType, Size FROM Win32_DiskDrive", &dd); err2 != nil {
		return errors.Join(err, err2)
	}
	if len(dd) == 0 {
		return errors.Join(err, errors.New("WMI Win32_DiskDrive: no disk"))
	}
	c.inv.Hardware.Disks = diskDrives(dd)
	return nil
}

func (c *collector) readAdapters(ctx context.Context) error {
	var cfgs []win32NetworkAdapterConfiguration
	if err := wmi(ctx, "", "SELECT Index, Description, MACAddress, IPAddress, IPSubnet, DefaultIPGateway, DNSServerSearchOrder "+
		"FROM Win32_NetworkAdapterConfiguration WHERE IPEnabled = TRUE", &cfgs); err != nil {
		return err
	}
	var ads []win32NetworkAdapter
	if err := wmi(ctx, "", "SELECT Index, NetConnectionID, Speed, NetConnectionStatus FROM Win32_NetworkAdapter", &ads); err != nil {
		return err
	}
	c.inv.Hardware.NICs = nics(cfgs, ads)
	return nil
}

func (c *collector) readGPUs(ctx context.Context) error {
	var vs []win32VideoController
	if err := wmi(ctx, "", "SELECT Name, AdapterCompatibility, DriverVersion, AdapterRAM FROM Win32_VideoController", &vs); err != nil {
		return err
	}
	c.inv.Hardware.GPUs = gpus(vs)
	return nil
}

func (c *collector) readMonitors(ctx context.Context) error {
	var ms []wmiMonitorID
	if err := wmi(ctx, nsWMI, "SELECT ManufacturerName, UserFriendlyName, SerialNumberID FROM WmiMonitorID", &ms); err != nil {
		return err
	}
	c.inv.Hardware.Monitors = monitors(ms)
	return nil
}

// readBatteries asks Win32_Battery whether there is one: root\wmi's
// battery classes answer "not supported" on a machine without.
func (c *collector) readBatteries(ctx context.Context) error {
	var present []struct{ DeviceID string }
	if err := wmi(ctx, "", "SELECT DeviceID FROM Win32_Battery", &present); err != nil {
		return err
	}
	if len(present) == 0 {
		c.inv.Hardware.Batteries = []core.Battery{}
		return nil
	}
	var static []batteryStaticData
	var full []batteryFullChargedCapacity
	var cycles []batteryCycleCount
	if err := wmi(ctx, nsWMI, "SELECT InstanceName, DeviceName, ManufactureName, SerialNumber, DesignedCapacity FROM BatteryStaticData", &static); err != nil {
		return err
	}
	if err := wmi(ctx, nsWMI, "SELECT InstanceName, FullChargedCapacity FROM BatteryFullChargedCapacity", &full); err != nil {
		return err
	}
	// Not every battery driver counts cycles.
	_ = wmi(ctx, nsWMI, "SELECT InstanceName, CycleCount FROM BatteryCycleCount", &cycles)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	c.inv.Hardware.Batteries = batteries(static, full, cycles)
	return nil
}

// readSecurity reads Secure Boot from the registry (absent on BIOS
// machines: left ""), the TPM and BitLocker from WMI; both WMI classes
// need an administrator.
func (c *collector) readSecurity(ctx context.Context) error {
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SYSTEM\CurrentControlSet\Control\SecureBoot\State`, registry.QUERY_VALUE); err == nil {
		if on, _, err := k.GetIntegerValue("UEFISecureBootEnabled"); err == nil {
			c.inv.Hardware.SecureBoot = map[bool]string{true: "on", false: "off"}[on == 1]
		}
		k.Close()
	}
	var errs []error
	var tpms []win32Tpm
	if err := wmi(ctx, nsTPM, "SELECT SpecVersion FROM Win32_Tpm", &tpms); err != nil {
		errs = append(errs, err)
	} else if len(tpms) > 0 {
		c.inv.Hardware.TPM = core.TPM{Present: true, Version: tpmVersion(tpms[0].SpecVersion)}
	}
	var evs []win32EncryptableVolume
	if err := wmi(ctx, nsBitLocker, "SELECT DriveLetter, ProtectionStatus, ConversionStatus FROM Win32_EncryptableVolume", &evs); err != nil {
		errs = append(errs, err)
	} else {
		applyBitLocker(c.inv.Hardware.Volumes, evs)
	}
	return errors.Join(errs...)
}

func (c *collector) readOS(ctx context.Context) error {
	if err := c.readHost(ctx); err != nil {
		return err
	}
	var o win32OperatingSystem
	if err := wmiFirst(ctx, "", "SELECT Caption, Version, BuildNumber, InstallDate, LastBootUpTime FROM Win32_OperatingSystem", &o); err != nil {
		return err
	}
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows NT\CurrentVersion`, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return fmt.Errorf(`opening HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion: %w`, err)
	}
	defer k.Close()
	display, _, _ := k.GetStringValue("DisplayVersion")
	if display == "" {
		display, _, _ = k.GetStringValue("ReleaseId") // before 20H2
	}
	edition, _, _ := k.GetStringValue("EditionID")
	ubr, _, _ := k.GetIntegerValue("UBR")
	osInfo(&c.inv.System, o, display, edition, ubr)
	return nil
}

func (c *collector) readActivation(ctx context.Context) error {
	var ps []softwareLicensingProduct
	if err := wmi(ctx, "", "SELECT LicenseStatus FROM SoftwareLicensingProduct WHERE ApplicationID = '55c92734-d682-4d71-983e-d6ec3f16059f' "+
		"AND PartialProductKey IS NOT NULL", &ps); err != nil {
		return err
	}
	c.inv.System.Activation = activation(ps)
	return nil
}

// readDomain joins Win32_ComputerSystem's domain or workgroup with
// dsregcmd's Entra join. A Windows without dsregcmd predates Entra join.
func (c *collector) readDomain(ctx context.Context, cs win32ComputerSystem, csErr error) error {
	if csErr != nil {
		return csErr
	}
	var d dsregState
	if _, err := os.Stat(dsregcmd); err == nil {
		out, err := exec.CommandContext(ctx, dsregcmd, "/status").Output()
		if err != nil {
			return fmt.Errorf("%s /status: %w", dsregcmd, err)
		}
		var ok bool
		if d, ok = parseDsreg(string(out)); !ok {
			return fmt.Errorf("%s /status: no AzureAdJoined line in %.200q", dsregcmd, out)
		}
	}
	c.inv.System.JoinType, c.inv.System.Domain = joinType(cs.PartOfDomain, cs.Domain, cs.Workgroup, d)
	return nil
}

// readUsers lists the local accounts, marks the members of the local
// administrators group (found by its well-known SID, whatever its
// localized name) and the console user.
func (c *collector) readUsers(ctx context.Context, cs win32ComputerSystem, csErr error) error {
	var accounts []win32Account
	if err := wmi(ctx, "", "SELECT Name, SID, Disabled FROM Win32_UserAccount WHERE LocalAccount = TRUE", &accounts); err != nil {
		return err
	}
	var groups []struct{ Name, Domain string }
	if err := wmi(ctx, "", "SELECT Name, Domain FROM Win32_Group WHERE LocalAccount = TRUE AND SID = 'S-1-5-32-544'", &groups); err != nil {
		return err
	}
	var admins []win32Account
	for _, g := range groups {
		var members []struct{ Name, SID string } // users and nested groups
		q := fmt.Sprintf("ASSOCIATORS OF {Win32_Group.Domain='%s',Name='%s'} WHERE AssocClass = Win32_GroupUser Role = GroupComponent",
			wqlQuote(g.Domain), wqlQuote(g.Name))
		if err := wmi(ctx, "", q, &members); err != nil {
			return err
		}
		for _, m := range members {
			admins = append(admins, win32Account{Name: m.Name, SID: m.SID})
		}
	}
	c.inv.System.Users = localUsers(accounts, admins)
	if csErr != nil {
		return csErr
	}
	c.inv.System.LoggedOn = []string{}
	if cs.UserName != "" {
		c.inv.System.LoggedOn = []string{cs.UserName}
	}
	return nil
}

// wqlQuote escapes a value for a single-quoted WQL string.
func wqlQuote(s string) string {
	return strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s)
}

// readPrograms lists the uninstall registry (HKLM in both views and every
// loaded user hive) and the Store/MSIX packages.
func readPrograms(ctx context.Context) ([]core.Program, error) {
	machine, err := uninstallreg.Machine(ctx)
	if err != nil {
		return nil, err
	}
	users, usersErr := uninstallreg.Users(ctx)
	out := []core.Program{}
	for _, e := range append(machine, users...) {
		if p, ok := programFromEntry(e); ok {
			out = append(out, p)
		}
	}
	pkgs, pkgErr := appxPackages(ctx)
	out = append(out, pkgs...)
	return out, errors.Join(usersErr, pkgErr)
}

// appxRepository is where each user's registered packages are, below
// HKEY_USERS\<SID>_Classes (HKCU\Software\Classes).
const appxRepository = `Local Settings\Software\Microsoft\Windows\CurrentVersion\AppModel\Repository\Packages`

// appxAllUsers lists the packages installed for all users.
const appxAllUsers = `SOFTWARE\Microsoft\Windows\CurrentVersion\Appx\AppxAllUserStore\Applications`

// appxPackages reads the packages of every loaded user (with their
// DisplayName) and those installed for all users. A Windows before 8 has
// neither key.
func appxPackages(ctx context.Context) ([]core.Program, error) {
	names := map[string]string{} // full name → display name
	hives, err := registry.USERS.ReadSubKeyNames(-1)
	if err != nil {
		return nil, fmt.Errorf("listing HKEY_USERS: %w", err)
	}
	var errs []error
	for _, h := range hives {
		if !strings.HasSuffix(h, "_Classes") {
			continue
		}
		path := h + `\` + appxRepository
		k, err := registry.OpenKey(registry.USERS, path, registry.ENUMERATE_SUB_KEYS)
		if errors.Is(err, registry.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf(`opening HKEY_USERS\%s: %w`, path, err))
			continue
		}
		pkgs, err := k.ReadSubKeyNames(-1)
		if err != nil {
			errs = append(errs, fmt.Errorf(`listing HKEY_USERS\%s: %w`, path, err))
		}
		for _, p := range pkgs {
			if ctx.Err() != nil {
				break
			}
			display := ""
			if pk, err := registry.OpenKey(k, p, registry.QUERY_VALUE); err == nil {
				display, _, _ = pk.GetStringValue("DisplayName")
				pk.Close()
			}
			names[p] = cmp.Or(names[p], display)
		}
		k.Close()
	}
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, appxAllUsers, registry.ENUMERATE_SUB_KEYS|registry.WOW64_64KEY); err == nil {
		pkgs, err := k.ReadSubKeyNames(-1)
		k.Close()
		if err != nil {
			errs = append(errs, fmt.Errorf(`listing HKLM\%s: %w`, appxAllUsers, err))
		}
		for _, p := range pkgs {
			names[p] = cmp.Or(names[p], "")
		}
	} else if !errors.Is(err, registry.ErrNotExist) {
		errs = append(errs, fmt.Errorf(`opening HKLM\%s: %w`, appxAllUsers, err))
	}
	if err := ctx.Err(); err != nil {
		errs = append(errs, fmt.Errorf("reading Store packages: %w", err))
	}
	var out []core.Program
	for full, display := range names {
		if p, ok := programFromPackage(full, display); ok {
			out = append(out, p)
		}
	}
	return out, errors.Join(errs...)
}

func (c *collector) readHotfixes(ctx context.Context) error {
	var qs []win32QuickFixEngineering
	if err := wmi(ctx, "", "SELECT HotFixID, Description, InstalledOn FROM Win32_QuickFixEngineering", &qs); err != nil {
		return err
	}
	if len(qs) == 0 {
		// Every supported Windows lists at least its servicing updates; an
		// empty answer would read as "all updates removed".
		return errors.New("WMI Win32_QuickFixEngineering listed no update")
	}
	c.inv.Hotfixes = hotfixes(qs)
	return nil
}
