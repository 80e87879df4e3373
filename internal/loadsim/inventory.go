package loadsim

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// InventoryPrograms is how many programs a simulated inventory lists.
const InventoryPrograms = 300

// common are programs most business PCs have, each on a share of the
// fleet in one of a few versions (the newest most often), as found on
// real Windows machines.
var common = []struct {
	name, publisher string
	share           float64
	versions        []string
}{
	{"7-Zip %s (x64)", "Igor Pavlov", 0.6, []string{"16.04", "19.00", "22.01", "23.01", "24.08"}},
	{"Google Chrome", "Google LLC", 0.8, []string{"120.0.6099.130", "126.0.6478.127", "131.0.6778.86"}},
	{"Mozilla Firefox (x64 de)", "Mozilla", 0.4, []string{"115.12.0", "127.0.2", "133.0"}},
	{"Microsoft Edge", "Microsoft Corporation", 0.95, []string{"126.0.2592.87", "131.0.2903.70"}},
	{"Adobe Acrobat Reader DC - Deutsch", "Adobe Systems Incorporated", 0.5, []string{"23.008.20470", "24.002.20933", "24.005.20307"}},
	{"Microsoft 365 Apps for business - de-de", "Microsoft Corporation", 0.5, []string{"16.0.17726.20160", "16.0.18129.20158"}},
	{"Microsoft Teams", "Microsoft Corporation", 0.6, []string{"24124.2311.2911.3324", "24295.605.3225.8804"}},
	{"TeamViewer", "TeamViewer", 0.3, []string{"15.50.5", "15.60.3"}},
	{"AnyDesk", "AnyDesk Software GmbH", 0.1, []string{"8.0.10", "8.1.0"}},
	{"Notepad++ (64-bit x64)", "Notepad++ Team", 0.3, []string{"8.6.2", "8.6.9", "8.7.1"}},
	{"VLC media player", "VideoLAN", 0.3, []string{"3.0.18", "3.0.20", "3.0.21"}},
	{"Java 8 Update 401 (64-bit)", "Oracle Corporation", 0.2, []string{"8.0.4010.10"}},
	{"Microsoft Visual C++ 2015-2022 Redistributable (x64) - %s", "Microsoft Corporation", 0.9, []string{"14.38.33130", "14.40.33810", "14.42.34433"}},
	{"Microsoft Visual C++ 2015-2022 Redistributable (x86) - %s", "Microsoft Corporation", 0.8, []string{"14.38.33130", "14.40.33810"}},
	{"Microsoft .NET Runtime - %s (x64)", "Microsoft Corporation", 0.7, []string{"6.0.33", "8.0.6", "8.0.11"}},
	{"Microsoft Update Health Tools", "Microsoft Corporation", 0.9, []string{"3.74.0.0", "5.72.0.0"}},
	{"Zoom Workplace (64-bit)", "Zoom Video Communications, Inc.", 0.25, []string{"6.0.11", "6.2.11"}},
	{"KeePass Password Safe 2.57", "Dominik Reichl", 0.15, []string{"2.57"}},
	{"Git", "The Git Development Community", 0.05, []string{"2.45.2", "2.47.1"}},
	{"PDF24 Creator", "PDF24.org", 0.2, []string{"11.17.0", "11.22.0"}},
}

// vendors and products make the long tail of a fleet's software: drivers,
// vendor tools, line-of-business programs; 3,000 distinct names.
var (
	vendors = []string{"Adobe", "Autodesk", "Brother", "Canon", "Cisco", "Citrix", "Corel", "DATEV", "Dell", "Dropbox",
		"Epson", "ESET", "Fujitsu", "G DATA", "HP", "IBM", "Intel(R)", "Lenovo", "Logitech", "Matrix42", "McAfee",
		"NVIDIA", "Oracle", "Realtek", "SAP", "Sophos", "Synaptics", "Veeam", "VMware", "WinZip", "Zebra", "Bitdefender",
		"Kaspersky", "Lexware", "Sage", "Steganos", "Nuance", "Foxit", "Kofax", "Sumatra", "TechSmith", "Jabra",
		"Poly", "Elgato", "Malwarebytes", "Nitro", "Bluebeam", "Wireshark", "Python", "Xerox"}
	products = []string{"Update Service", "Driver Package", "Client", "Connector", "Toolbox", "Agent", "Runtime", "SDK",
		"Viewer", "Manager", "Assistant", "Helper", "Plug-in", "Suite", "Scanner Utility", "Printer Driver",
		"Audio Driver", "Network Driver", "Chipset Software", "Management Engine Components", "Backup Agent",
		"VPN Client", "Remote Desktop", "Firmware Updater", "Diagnostics", "Control Center", "Camera Driver",
		"Bluetooth Driver", "Wi-Fi Driver", "Card Reader Driver", "Hotkey Features", "Power Manager",
		"System Interface Foundation", "Documentation", "Language Pack (German)", "Language Pack (English)",
		"Office Add-in", "Outlook Add-in", "Sync Client", "Tray", "Launcher", "Monitor", "Service Pack", "Toolkit",
		"Player", "Recorder", "Converter", "Editor", "Studio", "Workstation", "Reader", "Desktop", "Professional",
		"Express", "Lite", "Runtime Libraries", "Redistributable", "Security Update", "Licensing Service", "Web Companion"}
	tail = sync.OnceValue(func() []core.Program {
		out := make([]core.Program, 0, len(vendors)*len(products))
		for _, v := range vendors {
			for _, p := range products {
				h := fnv.New32a()
				h.Write([]byte(v + p))
				n := h.Sum32()
				out = append(out, core.Program{Name: v + " " + p, Publisher: v, Source: core.SourceRegistry64,
					Version: fmt.Sprintf("%d.%d.%d", n%30, n/30%20, n/600%5000)})
			}
		}
		return out
	})
)

// Inventory returns the inventory of simulated agent i, the same for the
// same i: a business PC or server (Windows 11 and 10, Windows Server,
// macOS, Debian) with InventoryPrograms programs — the common ones on
// their share of the fleet (7-Zip on 60 %, in five versions), the rest
// from a long tail of 3,000 names drawn with a Zipf distribution, so that
// a fleet holds a few thousand distinct names — 4 to 64 GB of memory
// (8 % below 8 GB) and, on 45 %, a battery at 55 to 100 % health.
func Inventory(i int) core.Inventory {
	r := rand.New(rand.NewPCG(uint64(i), 18))
	inv := core.Inventory{CollectedAt: time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC)}
	h := &inv.Hardware
	m := pick(r, [][2]string{{"LENOVO", "20XW0055GE"}, {"Dell Inc.", "Latitude 5520"},
		{"HP", "HP EliteBook 840 G8 Notebook PC"}, {"Dell Inc.", "OptiPlex 7090"}, {"Apple Inc.", "MacBookPro18,3"}})
	h.Manufacturer, h.Model = m[0], m[1]
	h.Serial = fmt.Sprintf("SN%08X", r.Uint32())
	h.CPU = core.CPUInfo{Model: pick(r, []string{"11th Gen Intel(R) Core(TM) i5-1145G7 @ 2.60GHz",
		"12th Gen Intel(R) Core(TM) i7-1265U", "AMD Ryzen 5 PRO 5650U with Radeon Graphics", "Apple M1 Pro"}), Sockets: 1, Cores: 4, Threads: 8}
	var gb uint64
	switch x := r.Float64(); {
	case x < 0.08:
		gb = 4
	case x < 0.38:
		gb = 8
	case x < 0.83:
		gb = 16
	case x < 0.98:
		gb = 32
	default:
		gb = 64
	}
	h.Memory.TotalBytes = gb << 30
	h.Disks = []core.Disk{{Name: "nvme0n1", Model: "SAMSUNG MZVL2512HCJQ-00BL7", Serial: fmt.Sprintf("S64K%08X", r.Uint32()),
		SizeBytes: 512110190592, Kind: core.DiskNVMe, Bus: "nvme"}}
	if r.Float64() < 0.45 {
		health := 55 + r.IntN(46)
		h.Batteries = []core.Battery{{Name: "BAT0", DesignMWh: 57000, FullChargeMWh: 570 * health, HealthPercent: health}}
	}
	s := &inv.System
	s.Hostname = fmt.Sprintf("pc-%05d", i)
	switch x := r.Float64(); {
	case x < 0.40:
		s.OSName, s.Version, s.Build = "Windows 11 Pro", "23H2", "22631.4602"
	case x < 0.75:
		s.OSName, s.Version, s.Build = "Windows 10 Pro", "22H2", "19045.5247"
	case x < 0.85:
		s.OSName, s.Version, s.Build = "Windows Server 2019 Standard", "1809", "17763.6659"
	case x < 0.93:
		s.OSName, s.Version, s.Build = "macOS 14.7.1", "14.7.1", "23H222"
	default:
		s.OSName, s.Version, s.Build = "Debian GNU/Linux 12 (bookworm)", "12", "6.1.0-28-amd64"
	}
	seen := map[string]bool{}
	for _, c := range common {
		if r.Float64() >= c.share {
			continue
		}
		v := c.versions[len(c.versions)-1]
		if r.Float64() < 0.5 { // half the fleet lags behind
			v = c.versions[r.IntN(len(c.versions))]
		}
		name := c.name
		if strings.Contains(name, "%s") {
			name = fmt.Sprintf(name, v)
		}
		inv.Software = append(inv.Software, core.Program{Name: name, Version: v, Publisher: c.publisher, Source: core.SourceRegistry64})
		seen[name] = true
	}
	all := tail()
	z := rand.NewZipf(r, 1.05, 20, uint64(len(all)-1))
	for len(inv.Software) < InventoryPrograms {
		p := all[z.Uint64()]
		if !seen[p.Name] {
			seen[p.Name] = true
			inv.Software = append(inv.Software, p)
		}
	}
	return protocol.NormalizeInventory(inv)
}

func pick[T any](r *rand.Rand, from []T) T { return from[r.IntN(len(from))] }
