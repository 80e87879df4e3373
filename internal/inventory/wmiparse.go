package inventory

import (
	"cmp"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// The WMI classes the Windows collector reads, as structs the WMI decoder
// fills by property name, and their mapping to core types. Portable, so
// that the mapping is tested on values captured from real systems.

type win32ComputerSystem struct {
	Manufacturer, Model, Domain, Workgroup, UserName string
	PartOfDomain                                     bool
}

type win32BIOS struct {
	Manufacturer, SerialNumber, SMBIOSBIOSVersion string
	ReleaseDate                                   time.Time
}

type win32Processor struct {
	Name                                     string
	NumberOfCores, NumberOfLogicalProcessors uint32
}

type win32PhysicalMemory struct {
	DeviceLocator, Manufacturer, SerialNumber string
	Capacity                                  uint64
	Speed, ConfiguredClockSpeed               uint32
	SMBIOSMemoryType                          uint32
}

type msftPhysicalDisk struct {
	DeviceId, FriendlyName, SerialNumber string
	Size                                 uint64
	MediaType, BusType                   uint16
}

type win32DiskDrive struct {
	DeviceID, Model, SerialNumber, InterfaceType string
	Size                                         uint64
}

type win32EncryptableVolume struct {
	DriveLetter                        string
	ProtectionStatus, ConversionStatus uint32
}

type win32NetworkAdapterConfiguration struct {
	Index                                                       uint32
	Description, MACAddress                                     string
	IPAddress, IPSubnet, DefaultIPGateway, DNSServerSearchOrder []string
}

type win32NetworkAdapter struct {
	Index               uint32
	NetConnectionID     string
	Speed               uint64
	NetConnectionStatus uint16
}

type win32VideoController struct {
	Name, AdapterCompatibility, DriverVersion string
	AdapterRAM                                uint32
}

type wmiMonitorID struct {
	ManufacturerName, UserFriendlyName, SerialNumberID []int32
}

type batteryStaticData struct {
	InstanceName, DeviceName, ManufactureName, SerialNumber string
	DesignedCapacity                                        uint32
}

type batteryFullChargedCapacity struct {
	InstanceName        string
	FullChargedCapacity uint32
}

type batteryCycleCount struct {
	InstanceName string
	CycleCount   uint32
}

type win32Tpm struct {
	SpecVersion string
}

type win32OperatingSystem struct {
	Caption, Version, BuildNumber string
	InstallDate, LastBootUpTime   time.Time
}

type softwareLicensingProduct struct {
	LicenseStatus uint32
}

type win32QuickFixEngineering struct {
	HotFixID, Description, InstalledOn string
}

type win32Account struct {
	Name, SID string
	Disabled  bool
}

// identity fills manufacturer, model, serial and firmware.
func identity(h *core.Hardware, cs win32ComputerSystem, bios win32BIOS) {
	h.Manufacturer, h.Model = strings.TrimSpace(cs.Manufacturer), strings.TrimSpace(cs.Model)
	h.Serial = cleanDMI(bios.SerialNumber)
	h.Firmware.Vendor, h.Firmware.Version = strings.TrimSpace(bios.Manufacturer), strings.TrimSpace(bios.SMBIOSBIOSVersion)
	if !bios.ReleaseDate.IsZero() {
		h.Firmware.Date = bios.ReleaseDate.Format(time.DateOnly)
	}
}

// cpuInfo sums the processors: one Win32_Processor per socket.
func cpuInfo(ps []win32Processor) core.CPUInfo {
	ci := core.CPUInfo{Sockets: len(ps)}
	for _, p := range ps {
		if ci.Model == "" {
			ci.Model = strings.Join(strings.Fields(p.Name), " ")
		}
		ci.Cores += int(p.NumberOfCores)
		ci.Threads += int(p.NumberOfLogicalProcessors)
	}
	return ci
}

// smbiosMemoryTypes names SMBIOS memory types (SMBIOS 3.x, type 17).
var smbiosMemoryTypes = map[uint32]string{
	0x12: "DDR", 0x13: "DDR2", 0x14: "DDR2 FB-DIMM", 0x18: "DDR3", 0x1A: "DDR4", 0x1B: "LPDDR", 0x1C: "LPDDR2",
	0x1D: "LPDDR3", 0x1E: "LPDDR4", 0x20: "HBM", 0x21: "HBM2", 0x22: "DDR5", 0x23: "LPDDR5",
}

// memoryModules maps the populated slots; the configured speed wins over
// the module's rated one.
func memoryModules(ms []win32PhysicalMemory) []core.MemoryModule {
	out := make([]core.MemoryModule, 0, len(ms))
	for _, m := range ms {
		speed := m.ConfiguredClockSpeed
		if speed == 0 {
			speed = m.Speed
		}
		out = append(out, core.MemoryModule{Slot: strings.TrimSpace(m.DeviceLocator), SizeBytes: m.Capacity, SpeedMTs: int(speed),
			Type: smbiosMemoryTypes[m.SMBIOSMemoryType], Manufacturer: strings.TrimSpace(m.Manufacturer), Serial: cleanDMI(m.SerialNumber)})
	}
	return out
}

// storageBusTypes names MSFT_PhysicalDisk.BusType values.
var storageBusTypes = map[uint16]string{
	1: "scsi", 2: "atapi", 3: "ata", 4: "1394", 5: "ssa", 6: "fibre channel", 7: "usb", 8: "raid", 9: "iscsi",
	10: "sas", 11: "sata", 12: "sd", 13: "mmc", 14: "virtual", 15: "file backed virtual", 16: "storage spaces", 17: "nvme",
}

// physicalDisks maps MSFT_PhysicalDisk: MediaType 3 HDD, 4 SSD; an NVMe
// bus makes an NVMe disk whatever the media type says.
func physicalDisks(ds []msftPhysicalDisk) []core.Disk {
	out := make([]core.Disk, 0, len(ds))
	for _, d := range ds {
		disk := core.Disk{Name: `\\.\PHYSICALDRIVE` + d.DeviceId, Model: strings.TrimSpace(d.FriendlyName),
			Serial: cleanDMI(d.SerialNumber), SizeBytes: d.Size, Bus: storageBusTypes[d.BusType]}
		switch {
		case d.BusType == 17:
			disk.Kind = core.DiskNVMe
		case d.MediaType == 4:
			disk.Kind = core.DiskSSD
		case d.MediaType == 3:
			disk.Kind = core.DiskHDD
		}
		out = append(out, disk)
	}
	return out
}

// diskDrives maps Win32_DiskDrive, which Windows 7 and Wine have where
// the Storage namespace is missing; it does not tell SSD from HDD.
func diskDrives(ds []win32DiskDrive) []core.Disk {
	out := make([]core.Disk, 0, len(ds))
	for _, d := range ds {
		out = append(out, core.Disk{Name: d.DeviceID, Model: strings.TrimSpace(d.Model), Serial: cleanDMI(d.SerialNumber),
			SizeBytes: d.Size, Bus: strings.ToLower(d.InterfaceType)})
	}
	return out
}

// applyBitLocker sets each volume's encryption from its
// Win32_EncryptableVolume: ConversionStatus 0 fully decrypted, 1 fully
// encrypted, 2…5 en- or decryption under way or paused.
func applyBitLocker(vols []core.Volume, evs []win32EncryptableVolume) {
	byDrive := map[string]win32EncryptableVolume{}
	for _, ev := range evs {
		byDrive[strings.ToUpper(ev.DriveLetter)] = ev
	}
	for i := range vols {
		ev, ok := byDrive[strings.ToUpper(strings.TrimSuffix(vols[i].Mount, `\`))]
		if !ok {
			continue
		}
		switch ev.ConversionStatus {
		case 0:
			vols[i].Encryption, vols[i].EncryptionState = "", "off"
		case 1:
			vols[i].Encryption, vols[i].EncryptionState = "bitlocker", "on"
		default:
			vols[i].Encryption, vols[i].EncryptionState = "bitlocker", "partial"
		}
	}
}

// nics joins the IP-enabled adapter configurations with their adapters
// (by Index) for name, speed and state. IPSubnet holds a mask for IPv4
// and a prefix length for IPv6.
func nics(cfgs []win32NetworkAdapterConfiguration, ads []win32NetworkAdapter) []core.NIC {
	byIndex := map[uint32]win32NetworkAdapter{}
	for _, a := range ads {
		byIndex[a.Index] = a
	}
	out := make([]core.NIC, 0, len(cfgs))
	for _, c := range cfgs {
		a, ok := byIndex[c.Index]
		n := core.NIC{Name: strings.TrimSpace(c.Description), MAC: strings.ToLower(strings.ReplaceAll(c.MACAddress, "-", ":")),
			Gateways: c.DefaultIPGateway, DNS: c.DNSServerSearchOrder, Up: !ok || a.NetConnectionStatus == 2}
		if ok {
			n.Name = cmp.Or(strings.TrimSpace(a.NetConnectionID), n.Name)
			n.SpeedMbps = int(a.Speed / 1_000_000)
		}
		for i, addr := range c.IPAddress {
			ip := net.ParseIP(addr)
			if ip == nil || ip.IsLinkLocalUnicast() {
				continue
			}
			bits := -1
			if i < len(c.IPSubnet) {
				bits = prefixLen(c.IPSubnet[i])
			}
			if bits < 0 {
				n.Addresses = append(n.Addresses, addr)
				continue
			}
			n.Addresses = append(n.Addresses, fmt.Sprintf("%s/%d", addr, bits))
		}
		out = append(out, n)
	}
	return out
}

// prefixLen reads "255.255.255.0" or "64"; -1 for neither.
func prefixLen(s string) int {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 128 {
		return n
	}
	ip := net.ParseIP(s).To4()
	if ip == nil {
		return -1
	}
	ones, bits := net.IPMask(ip).Size()
	if bits == 0 {
		return -1
	}
	return ones
}

// gpus maps Win32_VideoController. AdapterRAM is a uint32 and so says at
// most 4 GiB.
func gpus(vs []win32VideoController) []core.GPU {
	out := make([]core.GPU, 0, len(vs))
	for _, v := range vs {
		out = append(out, core.GPU{Name: strings.TrimSpace(v.Name), Vendor: strings.TrimSpace(v.AdapterCompatibility),
			Driver: strings.TrimSpace(v.DriverVersion), MemoryBytes: uint64(v.AdapterRAM)})
	}
	return out
}

// monitors maps WmiMonitorID, whose strings are arrays of UTF-16 code
// units padded with zeros.
func monitors(ms []wmiMonitorID) []core.Monitor {
	out := make([]core.Monitor, 0, len(ms))
	for _, m := range ms {
		out = append(out, core.Monitor{Manufacturer: wmiChars(m.ManufacturerName), Model: wmiChars(m.UserFriendlyName),
			Serial: cleanDMI(wmiChars(m.SerialNumberID))})
	}
	return out
}

func wmiChars(cs []int32) string {
	u := make([]rune, 0, len(cs))
	for _, c := range cs {
		if c == 0 {
			break
		}
		u = append(u, rune(c))
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(u), "\uFFFD"))
}

// batteries joins root\wmi's battery classes by instance name;
// capacities are mWh.
func batteries(static []batteryStaticData, full []batteryFullChargedCapacity, cycles []batteryCycleCount) []core.Battery {
	fullBy := map[string]uint32{}
	for _, f := range full {
		fullBy[f.InstanceName] = f.FullChargedCapacity
	}
	cycleBy := map[string]uint32{}
	for _, c := range cycles {
		cycleBy[c.InstanceName] = c.CycleCount
	}
	out := make([]core.Battery, 0, len(static))
	for _, s := range static {
		b := core.Battery{Name: strings.TrimSpace(s.DeviceName), DesignMWh: int(s.DesignedCapacity), FullChargeMWh: int(fullBy[s.InstanceName]),
			CycleCount: int(cycleBy[s.InstanceName]), Manufacturer: strings.TrimSpace(s.ManufactureName), SerialOrModel: cleanDMI(s.SerialNumber)}
		b.HealthPercent = core.BatteryHealth(b.DesignMWh, b.FullChargeMWh)
		out = append(out, b)
	}
	return out
}

// tpmVersion takes the TPM spec version from Win32_Tpm.SpecVersion
// ("2.0, 0, 1.38" → "2.0").
func tpmVersion(spec string) string {
	v, _, _ := strings.Cut(spec, ",")
	return strings.TrimSpace(v)
}

// licenseStates names SoftwareLicensingProduct.LicenseStatus: 0
// unlicensed, 1 licensed, 2 out-of-box grace, 3 out-of-tolerance grace,
// 4 non-genuine grace, 5 notification, 6 extended grace.
var licenseStates = []string{"unlicensed", "licensed", "grace", "grace", "grace", "notification", "grace"}

// activation is the Windows license state of the products with a key: the
// best one counts (a licensed edition beside a leftover grace key).
func activation(ps []softwareLicensingProduct) string {
	best := "unlicensed"
	for _, p := range ps {
		if int(p.LicenseStatus) >= len(licenseStates) {
			continue
		}
		if s := licenseStates[p.LicenseStatus]; s == "licensed" || best == "unlicensed" {
			best = s
		}
	}
	return best
}

// qfeDate reads Win32_QuickFixEngineering.InstalledOn, a string that is
// "M/D/YYYY" on most systems and a hexadecimal FILETIME on some; "" for
// anything else.
func qfeDate(s string) string {
	s = strings.TrimSpace(s)
	if t, err := time.Parse("1/2/2006", s); err == nil {
		return t.Format(time.DateOnly)
	}
	if len(s) == 16 {
		if ft, err := strconv.ParseUint(s, 16, 64); err == nil {
			// 100 ns ticks since 1601-01-01 UTC.
			const epochDiff = 11644473600
			secs := int64(ft/10_000_000) - epochDiff
			if t := time.Unix(secs, 0).UTC(); t.Year() >= 1990 && t.Year() < 2200 {
				return t.Format(time.DateOnly)
			}
		}
	}
	return compactDate(s)
}

// hotfixes maps Win32_QuickFixEngineering; "File 1" is a known empty row
// some systems list.
func hotfixes(qs []win32QuickFixEngineering) []core.Hotfix {
	out := make([]core.Hotfix, 0, len(qs))
	for _, q := range qs {
		id := strings.TrimSpace(q.HotFixID)
		if id == "" || strings.EqualFold(id, "File 1") {
			continue
		}
		out = append(out, core.Hotfix{ID: id, Description: strings.TrimSpace(q.Description), InstalledOn: qfeDate(q.InstalledOn)})
	}
	return out
}

// localUsers marks the accounts whose SID is among the administrators'.
func localUsers(accounts, admins []win32Account) []core.LocalUser {
	isAdmin := map[string]bool{}
	for _, a := range admins {
		isAdmin[a.SID] = true
	}
	out := make([]core.LocalUser, 0, len(accounts))
	for _, a := range accounts {
		out = append(out, core.LocalUser{Name: a.Name, Admin: isAdmin[a.SID], Disabled: a.Disabled})
	}
	return out
}

// osInfo fills the system from Win32_OperatingSystem and the
// CurrentVersion registry values (DisplayVersion "23H2", UBR, EditionID).
func osInfo(s *core.SystemInfo, o win32OperatingSystem, displayVersion, edition string, ubr uint64) {
	s.OSName = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(o.Caption), "Microsoft "))
	s.Edition = edition
	s.Version = cmp.Or(displayVersion, o.Version)
	s.Build = o.BuildNumber
	if ubr > 0 && s.Build != "" {
		s.Build += "." + strconv.FormatUint(ubr, 10)
	}
	if !o.InstallDate.IsZero() {
		s.InstallDate = o.InstallDate.UTC().Format(time.DateOnly)
	}
	if !o.LastBootUpTime.IsZero() {
		s.LastBoot = o.LastBootUpTime.UTC().Truncate(time.Minute)
	}
}
