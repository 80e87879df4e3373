package core

import (
	"context"
	"time"
)

// Inventory (issue 18) is what an agent found on its machine: hardware,
// system and installed software. A part the agent could not read is
// listed in Missing with the reason; the rest of the inventory is still
// good. protocol.InventoryReport carries it, as a diff against the last
// inventory the server acknowledged.
type Inventory struct {
	CollectedAt time.Time      `json:"collected_at"`
	Hardware    Hardware       `json:"hardware"`
	System      SystemInfo     `json:"system"`
	Software    []Program      `json:"software"`
	Hotfixes    []Hotfix       `json:"hotfixes"`
	Missing     []InventoryGap `json:"missing,omitempty"`
}

// Inventory parts, as InventoryGap.Part names them. A part in Missing
// keeps its last known content and makes no change history.
const (
	PartIdentity   = "hardware.identity" // manufacturer, model, serial, firmware
	PartCPU        = "hardware.cpu"
	PartMemory     = "hardware.memory"
	PartDisks      = "hardware.disks"
	PartVolumes    = "hardware.volumes"
	PartNetwork    = "hardware.network"
	PartGPUs       = "hardware.gpus"
	PartMonitors   = "hardware.monitors"
	PartBattery    = "hardware.battery"
	PartSecurity   = "hardware.security" // TPM, Secure Boot, disk encryption
	PartOS         = "system.os"
	PartActivation = "system.activation"
	PartDomain     = "system.domain"
	PartUsers      = "system.users"
	PartSoftware   = "software"
	PartHotfixes   = "hotfixes"
)

// InventoryGap says why one part is missing: Error is the OS call and its
// failure ("dmidecode: exit status 1: /dev/mem: Permission denied"), or
// "unsupported on darwin".
type InventoryGap struct {
	Part  string `json:"part"`
	Error string `json:"error"`
}

// Hardware is the machine's hardware. Sizes are bytes.
type Hardware struct {
	Manufacturer string    `json:"manufacturer,omitempty"`
	Model        string    `json:"model,omitempty"`
	Serial       string    `json:"serial,omitempty"`
	Firmware     Firmware  `json:"firmware"`
	CPU          CPUInfo   `json:"cpu"`
	Memory       Memory    `json:"memory"`
	Disks        []Disk    `json:"disks"`
	Volumes      []Volume  `json:"volumes"`
	NICs         []NIC     `json:"nics"`
	GPUs         []GPU     `json:"gpus"`
	Monitors     []Monitor `json:"monitors"`
	Batteries    []Battery `json:"batteries"`
	TPM          TPM       `json:"tpm"`
	// SecureBoot is "on", "off" or "" (not known or not applicable).
	SecureBoot string `json:"secure_boot,omitempty"`
}

// Firmware is the BIOS or UEFI firmware. Date is YYYY-MM-DD.
type Firmware struct {
	Vendor  string `json:"vendor,omitempty"`
	Version string `json:"version,omitempty"`
	Date    string `json:"date,omitempty"`
	UEFI    bool   `json:"uefi,omitempty"`
}

// CPUInfo describes the processors, summed over sockets.
type CPUInfo struct {
	Model   string `json:"model,omitempty"`
	Sockets int    `json:"sockets,omitempty"`
	Cores   int    `json:"cores,omitempty"`
	Threads int    `json:"threads,omitempty"`
}

// Memory is the installed memory and its modules, where the OS tells.
type Memory struct {
	TotalBytes uint64         `json:"total_bytes"`
	Modules    []MemoryModule `json:"modules"`
}

// MemoryModule is one populated slot. SpeedMTs is in MT/s.
type MemoryModule struct {
	Slot         string `json:"slot,omitempty"`
	SizeBytes    uint64 `json:"size_bytes"`
	SpeedMTs     int    `json:"speed_mts,omitempty"`
	Type         string `json:"type,omitempty"` // DDR4, LPDDR5…
	Manufacturer string `json:"manufacturer,omitempty"`
	Serial       string `json:"serial,omitempty"`
}

// Disk kinds.
const (
	DiskSSD  = "ssd"
	DiskHDD  = "hdd"
	DiskNVMe = "nvme"
)

// Disk is one physical disk. Kind is DiskSSD, DiskHDD, DiskNVMe or "".
// Health is filled by the server from the S.M.A.R.T. check's state.
type Disk struct {
	Name      string `json:"name"` // sda, \\.\PHYSICALDRIVE0, disk0
	Model     string `json:"model,omitempty"`
	Serial    string `json:"serial,omitempty"`
	SizeBytes uint64 `json:"size_bytes"`
	Kind      string `json:"kind,omitempty"`
	Bus       string `json:"bus,omitempty"` // sata, nvme, usb, virtio…
	Health    string `json:"health,omitempty"`
}

// Volume is one mounted file system. Encryption is "bitlocker",
// "filevault", "luks" or ""; EncryptionState "on", "off", "partial" or "".
type Volume struct {
	Mount           string `json:"mount"`
	Device          string `json:"device,omitempty"`
	FS              string `json:"fs,omitempty"`
	Label           string `json:"label,omitempty"`
	SizeBytes       uint64 `json:"size_bytes"`
	Encryption      string `json:"encryption,omitempty"`
	EncryptionState string `json:"encryption_state,omitempty"`
}

// NIC is one network adapter. Addresses are CIDR ("192.0.2.5/24").
type NIC struct {
	Name      string   `json:"name"`
	MAC       string   `json:"mac,omitempty"`
	Addresses []string `json:"addresses,omitempty"`
	SpeedMbps int      `json:"speed_mbps,omitempty"`
	Gateways  []string `json:"gateways,omitempty"`
	DNS       []string `json:"dns,omitempty"`
	Up        bool     `json:"up"`
}

// GPU is one display adapter.
type GPU struct {
	Name        string `json:"name"`
	Vendor      string `json:"vendor,omitempty"`
	Driver      string `json:"driver,omitempty"`
	MemoryBytes uint64 `json:"memory_bytes,omitempty"`
}

// Monitor is one connected display, as EDID or WMI tells it.
type Monitor struct {
	Manufacturer string `json:"manufacturer,omitempty"`
	Model        string `json:"model,omitempty"`
	Serial       string `json:"serial,omitempty"`
}

// Battery capacities are mWh; HealthPercent is full-charge over design
// capacity, rounded to a whole percent (0 when either is unknown).
type Battery struct {
	Name           string `json:"name,omitempty"`
	DesignMWh      int    `json:"design_mwh,omitempty"`
	FullChargeMWh  int    `json:"full_charge_mwh,omitempty"`
	HealthPercent  int    `json:"health_percent,omitempty"`
	CycleCount     int    `json:"cycle_count,omitempty"`
	Chemistry      string `json:"chemistry,omitempty"`
	Manufacturer   string `json:"manufacturer,omitempty"`
	SerialOrModel  string `json:"serial_or_model,omitempty"`
	ConditionNotes string `json:"condition,omitempty"` // "Normal", "Service recommended" (macOS)
}

// BatteryHealth is full over design in whole percent, 0 if unknown.
func BatteryHealth(designMWh, fullMWh int) int {
	if designMWh <= 0 || fullMWh <= 0 {
		return 0
	}
	return (fullMWh*100 + designMWh/2) / designMWh
}

// TPM is the Trusted Platform Module. Version is "2.0", "1.2" or "".
type TPM struct {
	Present bool   `json:"present"`
	Version string `json:"version,omitempty"`
}

// SystemInfo is the operating system and who uses it. Dates are
// YYYY-MM-DD; LastBoot is truncated to the minute so that a repeated
// collection does not differ by a second.
type SystemInfo struct {
	Hostname    string    `json:"hostname,omitempty"`
	OSName      string    `json:"os_name,omitempty"` // "Windows 11 Pro", "macOS 14.5", "Debian GNU/Linux 12 (bookworm)"
	Edition     string    `json:"edition,omitempty"` // "Professional", "ServerStandard"
	Version     string    `json:"version,omitempty"` // "23H2", "14.5", "12"
	Build       string    `json:"build,omitempty"`   // "22631.3880", "23F79", kernel "6.1.0-18-amd64"
	InstallDate string    `json:"install_date,omitempty"`
	LastBoot    time.Time `json:"last_boot,omitzero"`
	// Activation is Windows' license state: "licensed", "unlicensed",
	// "grace", "notification" or "" elsewhere.
	Activation string `json:"activation,omitempty"`
	// JoinType is "domain", "workgroup", "entra", "hybrid" or "" (no
	// directory); Domain names it.
	JoinType string      `json:"join_type,omitempty"`
	Domain   string      `json:"domain,omitempty"`
	Users    []LocalUser `json:"users"`
	LoggedOn []string    `json:"logged_on"`
	// PublicIP is the address the server saw the agent connect from; the
	// server sets it, the agent leaves it empty.
	PublicIP string `json:"public_ip,omitempty"`
}

// LocalUser is one local account; Admin says it is in the local
// administrators group (Windows), admin (macOS), sudo or wheel (Linux).
type LocalUser struct {
	Name     string `json:"name"`
	Admin    bool   `json:"admin,omitempty"`
	Disabled bool   `json:"disabled,omitempty"`
}

// Program sources.
const (
	SourceRegistry64 = "registry64" // HKLM uninstall key, 64-bit view
	SourceRegistry32 = "registry32" // HKLM WOW6432Node
	SourceUser       = "user"       // a user hive's uninstall key
	SourceMSIX       = "msix"       // Store/MSIX (AppX) package
	SourceApp        = "app"        // macOS app bundle
	SourcePkg        = "pkg"        // macOS pkg receipt
	SourceDpkg       = "dpkg"
	SourceRPM        = "rpm"
	SourceSnap       = "snap"
	SourceFlatpak    = "flatpak"
)

// Program is one installed program. ID identifies it within its source
// (uninstall key name or product code, bundle ID, package name with
// architecture); InstallDate is YYYY-MM-DD.
type Program struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	Publisher   string `json:"publisher,omitempty"`
	InstallDate string `json:"install_date,omitempty"`
	SizeBytes   int64  `json:"size_bytes,omitempty"`
	Source      string `json:"source"`
	ID          string `json:"id,omitempty"`
}

// Hotfix is one installed Windows update (Win32_QuickFixEngineering).
type Hotfix struct {
	ID          string `json:"id"` // KB5034441
	Description string `json:"description,omitempty"`
	InstalledOn string `json:"installed_on,omitempty"`
}

// StoredInventory is a device's inventory as the server keeps it. Digest
// is protocol.InventoryDigest of Inventory, the base of the agent's next
// diff.
type StoredInventory struct {
	DeviceID   int64     `json:"device_id"`
	Digest     string    `json:"digest"`
	ReceivedAt time.Time `json:"received_at"`
	Inventory  Inventory `json:"inventory"`
}

// Inventory change kinds.
const (
	ChangeInstalled = "installed" // a program or hotfix appeared
	ChangeRemoved   = "removed"   // a program or hotfix is gone
	ChangeUpdated   = "updated"   // a program's version changed
	ChangeAdded     = "added"     // hardware appeared (a disk, a memory module)
	ChangeDropped   = "dropped"   // hardware is gone
	ChangeChanged   = "changed"   // a hardware or system value changed
)

// InventoryChange is one entry of a device's change history. Part is an
// inventory part (PartSoftware, PartMemory…); Item names the program or
// the piece ("DIMM 0", "serial"); Old and New are versions or values.
type InventoryChange struct {
	ID       int64     `json:"id"`
	DeviceID int64     `json:"device_id"`
	At       time.Time `json:"at"`
	Part     string    `json:"part"`
	Kind     string    `json:"kind"`
	Item     string    `json:"item"`
	Old      string    `json:"old,omitempty"`
	New      string    `json:"new,omitempty"`
}

// SoftwareQuery searches programs across the fleet. Name matches
// case-insensitively as a substring; an empty ClientIDs means every
// client (the service narrows it to the user's). VersionBelow is applied
// by the service (version order is not SQL order).
type SoftwareQuery struct {
	Name      string
	ClientIDs []int64
	Limit     int
}

// SoftwareHit is one program on one device.
type SoftwareHit struct {
	DeviceID   int64   `json:"device_id"`
	Hostname   string  `json:"hostname"`
	ClientID   int64   `json:"client_id"`
	ClientName string  `json:"client_name"`
	Program    Program `json:"program"`
}

// InventorySummary is the searchable digest of one device's inventory,
// kept beside it for the fleet search.
type InventorySummary struct {
	DeviceID      int64     `json:"device_id"`
	Hostname      string    `json:"hostname"`
	ClientID      int64     `json:"client_id"`
	ClientName    string    `json:"client_name"`
	OS            string    `json:"os"` // GOOS
	OSName        string    `json:"os_name"`
	OSVersion     string    `json:"os_version"`
	OSBuild       string    `json:"os_build"`
	Manufacturer  string    `json:"manufacturer"`
	Model         string    `json:"model"`
	Serial        string    `json:"serial"`
	CPUModel      string    `json:"cpu_model"`
	MemoryBytes   uint64    `json:"memory_bytes"`
	DiskBytes     uint64    `json:"disk_bytes"`
	BatteryHealth int       `json:"battery_health,omitempty"` // lowest of its batteries; 0 none
	Programs      int       `json:"programs"`
	ReceivedAt    time.Time `json:"received_at"`
}

// DeviceQuery searches device inventories. Zero fields do not filter.
// OS matches os_name as a case-insensitive substring ("windows 10").
type DeviceQuery struct {
	ClientIDs    []int64
	OS           string
	MemoryBelow  uint64 // bytes
	BatteryBelow int    // percent; devices without a battery never match
	Manufacturer string // substring
	Limit        int
}

// InventoryStore keeps device inventories, their search rows and change
// history.
type InventoryStore interface {
	// GetInventory returns a device's stored inventory; ErrNotFound when
	// it never sent one (or the server forgot it).
	GetInventory(ctx context.Context, deviceID int64) (StoredInventory, error)
	// SaveInventory replaces the device's inventory, its summary and
	// program rows, and appends changes, in one transaction. base is the
	// digest the new inventory was built on ("" for a device without a
	// stored one); ErrConflict when the stored digest is another.
	SaveInventory(ctx context.Context, inv StoredInventory, base string, changes []InventoryChange) error
	// ForgetInventory drops the device's stored inventory (not its
	// history), so that its agent sends a whole one next time.
	ForgetInventory(ctx context.Context, deviceID int64) error
	// ListInventoryChanges returns a device's changes, newest first, with
	// IDs below before (0: from the newest), at most limit.
	ListInventoryChanges(ctx context.Context, deviceID int64, before int64, limit int) ([]InventoryChange, error)
	// SearchSoftware returns matching programs by client, hostname, name.
	SearchSoftware(ctx context.Context, q SoftwareQuery) ([]SoftwareHit, error)
	// SearchInventories returns matching device summaries by client and
	// hostname.
	SearchInventories(ctx context.Context, q DeviceQuery) ([]InventorySummary, error)
}
