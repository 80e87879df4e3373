package invchange

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

var at = time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)

func base() core.Inventory {
	return core.Inventory{
		Hardware: core.Hardware{
			Manufacturer: "Dell Inc.", Model: "Latitude 5520", Serial: "7XK2JH3",
			Firmware: core.Firmware{Vendor: "Dell Inc.", Version: "1.29.0", Date: "2023-08-08"},
			CPU:      core.CPUInfo{Model: "11th Gen Intel(R) Core(TM) i5-1145G7 @ 2.60GHz"},
			Memory: core.Memory{TotalBytes: 16 << 30, Modules: []core.MemoryModule{
				{Slot: "DIMM A", SizeBytes: 8 << 30, SpeedMTs: 3200, Type: "DDR4", Serial: "1A2B"},
				{Slot: "DIMM B", SizeBytes: 8 << 30, SpeedMTs: 3200, Type: "DDR4", Serial: "3C4D"},
			}},
			Disks: []core.Disk{
				{Name: "nvme0n1", Model: "PM991a NVMe Samsung 512GB", Serial: "S660NX0R", SizeBytes: 512110190592},
				{Name: "sda", Model: "USB Stick", SizeBytes: 32 << 30},
			},
			Monitors:  []core.Monitor{{Manufacturer: "DEL", Model: "DELL P2422H", Serial: "CN0ABC"}},
			Batteries: []core.Battery{{Name: "BAT0", DesignMWh: 63000, FullChargeMWh: 50000, SerialOrModel: "DELL 1VX1H"}},
		},
		System: core.SystemInfo{OSName: "Windows 10 Pro", Version: "22H2", Build: "19045.4651"},
		Software: []core.Program{
			{Name: "7-Zip 19.00 (x64)", Version: "19.00", Source: core.SourceRegistry64},
			{Name: "Mozilla Firefox", Version: "127.0", Source: core.SourceRegistry64},
			{Name: "Microsoft Visual C++ 2015-2022 Redistributable (x64)", Version: "14.38.33130", Source: core.SourceRegistry64},
			{Name: "Microsoft Visual C++ 2015-2022 Redistributable (x64)", Version: "14.40.33810", Source: core.SourceRegistry64},
			{Name: "TeamViewer", Version: "15.50.5", Source: core.SourceRegistry32},
		},
		Hotfixes: []core.Hotfix{{ID: "KB5034441"}, {ID: "KB5039211"}},
	}
}

func text(cs []core.InventoryChange) []string {
	var out []string
	for _, c := range cs {
		if !c.At.Equal(at) {
			out = append(out, "wrong time "+c.At.String())
		}
		out = append(out, fmt.Sprintf("%s %s %s: %q → %q", c.Part, c.Kind, c.Item, c.Old, c.New))
	}
	return out
}

func check(t *testing.T, got []core.InventoryChange, want ...string) {
	t.Helper()
	g := text(got)
	if !slices.Equal(g, want) {
		t.Errorf("changes:\n%s\nwant:\n%s", lines(g), lines(want))
	}
}

func lines(ss []string) string {
	out := ""
	for _, s := range ss {
		out += "  " + s + "\n"
	}
	return out
}

func TestFirstInventoryHasNoHistory(t *testing.T) {
	if cs := Diff(nil, base(), at); cs != nil {
		t.Errorf("first inventory: %v", text(cs))
	}
}

func TestNoChange(t *testing.T) {
	old := base()
	check(t, Diff(&old, base(), at))
}

func TestPrograms(t *testing.T) {
	old, cur := base(), base()
	cur.Software = []core.Program{
		{Name: "7-Zip 19.00 (x64)", Version: "23.01", Source: core.SourceRegistry64}, // updated in place
		{Name: "mozilla firefox", Version: "127.0", Source: core.SourceRegistry64},   // same program, other case
		{Name: "Mozilla Firefox", Version: "128.0", Source: core.SourceUser},         // another source: installed
		{Name: "Microsoft Visual C++ 2015-2022 Redistributable (x64)", Version: "14.40.33810", Source: core.SourceRegistry64},
		{Name: "AnyDesk", Version: "8.0.10", Source: core.SourceRegistry32}, // a second remote tool
	}
	check(t, Diff(&old, cur, at),
		`software updated 7-Zip 19.00 (x64): "19.00" → "23.01"`,
		`software installed AnyDesk: "" → "8.0.10"`,
		`software removed Microsoft Visual C++ 2015-2022 Redistributable (x64): "14.38.33130" → ""`,
		`software installed Mozilla Firefox: "" → "128.0"`,
		`software removed TeamViewer: "15.50.5" → ""`,
	)
}

func TestHotfixes(t *testing.T) {
	old, cur := base(), base()
	cur.Hotfixes = []core.Hotfix{{ID: "KB5039211"}, {ID: "KB5040427", InstalledOn: "2024-07-10"}}
	check(t, Diff(&old, cur, at),
		`hotfixes removed KB5034441: "" → ""`,
		`hotfixes installed KB5040427: "" → ""`)
}

func TestHardware(t *testing.T) {
	old, cur := base(), base()
	cur.Hardware.Serial = ""                 // a board swap without serial
	cur.Hardware.Firmware.Version = "1.30.0" // BIOS update
	cur.Hardware.Memory.TotalBytes = 8 << 30 // one module pulled
	cur.Hardware.Memory.Modules = cur.Hardware.Memory.Modules[:1]
	cur.Hardware.Disks = []core.Disk{
		{Name: "nvme0n1", Model: "WD PC SN740 1TB", Serial: "23154R801234", SizeBytes: 1024209543168}, // replaced
		{Name: "sdb", Model: "USB Stick", SizeBytes: 32 << 30},                                        // replugged: another name
	}
	cur.Hardware.Monitors = nil
	cur.Hardware.Batteries[0].FullChargeMWh = 40000 // wear is no event
	check(t, Diff(&old, cur, at),
		`hardware.identity changed serial: "7XK2JH3" → ""`,
		`hardware.identity changed firmware: "Dell Inc. 1.29.0 2023-08-08" → "Dell Inc. 1.30.0 2023-08-08"`,
		`hardware.memory changed total: "16 GB" → "8 GB"`,
		`hardware.memory dropped DIMM B: "8 GB DDR4 3200 MT/s 3C4D" → ""`,
		`hardware.disks changed nvme0n1: "PM991a NVMe Samsung 512GB S660NX0R 476.9 GB" → "WD PC SN740 1TB 23154R801234 953.9 GB"`,
		`hardware.disks dropped sda: "USB Stick 32 GB" → ""`,
		`hardware.disks added sdb: "" → "USB Stick 32 GB"`,
		`hardware.monitors dropped DEL DELL P2422H: "CN0ABC" → ""`,
	)
}

func TestOS(t *testing.T) {
	old, cur := base(), base()
	cur.System.OSName, cur.System.Version, cur.System.Build = "Windows 11 Pro", "23H2", "22631.3880"
	cur.Hardware.CPU.Model = "Intel(R) Core(TM) Ultra 5 125U"
	check(t, Diff(&old, cur, at),
		`hardware.cpu changed model: "11th Gen Intel(R) Core(TM) i5-1145G7 @ 2.60GHz" → "Intel(R) Core(TM) Ultra 5 125U"`,
		`system.os changed name: "Windows 10 Pro" → "Windows 11 Pro"`,
		`system.os changed version: "22H2" → "23H2"`,
		`system.os changed build: "19045.4651" → "22631.3880"`,
	)
}

func TestSecurity(t *testing.T) {
	old, cur := base(), base()
	old.Hardware.Volumes = []core.Volume{{Mount: "C:", Encryption: "bitlocker", EncryptionState: "on"}, {Mount: "D:"}}
	cur.Hardware.Volumes = []core.Volume{{Mount: "C:", Encryption: "bitlocker", EncryptionState: "off"}, {Mount: "E:"}}
	old.Hardware.TPM, old.Hardware.SecureBoot = core.TPM{Present: true, Version: "2.0"}, "on"
	cur.Hardware.SecureBoot = "off"
	old.Hardware.NICs = []core.NIC{{Name: "Ethernet", MAC: "00:11:22:33:44:55"}}
	cur.Hardware.NICs = []core.NIC{{Name: "Ethernet", MAC: "00:11:22:33:44:55", Addresses: []string{"192.0.2.7/24"}}, {Name: "WLAN", MAC: "66:77:88:99:aa:bb"}}
	old.System.JoinType, old.System.Domain = "domain", "KANZLEI"
	cur.System.JoinType = "workgroup"
	old.System.Users = []core.LocalUser{{Name: "Administrator", Admin: true}, {Name: "buero"}, {Name: "alt"}}
	cur.System.Users = []core.LocalUser{{Name: "Administrator", Admin: true}, {Name: "buero", Admin: true}, {Name: "support$", Admin: true}}
	check(t, Diff(&old, cur, at),
		`hardware.network added WLAN: "" → "66:77:88:99:aa:bb"`,
		`hardware.volumes changed C: encryption: "bitlocker on" → "bitlocker off"`,
		`hardware.security changed tpm: "TPM 2.0" → "none"`,
		`hardware.security changed secure boot: "on" → "off"`,
		`system.domain changed join: "domain KANZLEI" → "workgroup"`,
		`system.users changed buero: "user" → "administrator"`,
		`system.users added support$: "" → "administrator"`,
		`system.users dropped alt: "user" → ""`,
	)
}

// A part missing from either inventory makes no history: the agent could
// not look (dpkg failed, dmidecode without root).
func TestMissingPartsMakeNoChanges(t *testing.T) {
	old, cur := base(), base()
	cur.Software = nil
	cur.Hardware.Serial = ""
	cur.Hardware.Memory = core.Memory{}
	cur.Missing = []core.InventoryGap{{Part: core.PartSoftware, Error: "dpkg-query: exit status 2"}, {Part: core.PartIdentity, Error: "dmidecode: permission denied"}}
	old.Missing = []core.InventoryGap{{Part: core.PartMemory, Error: "WMI: timeout"}}
	cur.Hotfixes = nil
	check(t, Diff(&old, cur, at),
		`hotfixes removed KB5034441: "" → ""`,
		`hotfixes removed KB5039211: "" → ""`)
}

// Windows uninstall entries often carry the version in the name; the
// uninstall key (ID) ties the two together.
func TestProgramRenamedByVersion(t *testing.T) {
	old, cur := base(), base()
	old.Software = []core.Program{{Name: "7-Zip 19.00 (x64)", Version: "19.00", Source: core.SourceRegistry64, ID: "7-Zip"},
		{Name: "Zoom", Version: "5.17.5", Source: core.SourceUser}}
	cur.Software = []core.Program{{Name: "7-Zip 23.01 (x64)", Version: "23.01", Source: core.SourceRegistry64, ID: "7-Zip"},
		{Name: "Zoom Workplace", Version: "6.1.1", Source: core.SourceUser}}
	check(t, Diff(&old, cur, at),
		`software updated 7-Zip 23.01 (x64): "19.00" → "23.01"`,
		`software removed Zoom: "5.17.5" → ""`,
		`software installed Zoom Workplace: "" → "6.1.1"`)
}
