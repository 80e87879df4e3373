package inventory

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// spFixture parses testdata/darwin files (captured system_profiler -json
// outputs, see testdata/README.md) into one report, as one call with
// several data types prints them.
func spFixture(t *testing.T, files ...string) spReport {
	t.Helper()
	all := spReport{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join("testdata", "darwin", f))
		if err != nil {
			t.Fatal(err)
		}
		r, err := parseSystemProfiler(b)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for k, v := range r {
			all[k] = v
		}
	}
	return all
}

const spGiB = 1 << 30

func TestSystemProfilerIdentityCPUMemoryOS(t *testing.T) {
	type want struct {
		model, serial, firmware string
		uefi                    bool
		cpu                     core.CPUInfo
		cpuOK                   bool
		mem                     uint64
	}
	for _, tc := range []struct {
		file string
		want want
	}{
		{"sp_hw_sw_intel_mbp16.json", want{"MacBook Pro (MacBookPro16,1)", "C02FD3J4MD6T", "1731.100.130.0.0 (iBridge: 19.16.14242.0.0,0)", true,
			core.CPUInfo{Model: "8-Core Intel Core i9", Sockets: 1, Cores: 8, Threads: 16}, true, 32 * spGiB}},
		{"sp_hardware_m1_air.json", want{"MacBook Air (MacBookAir10,1)", "XXXXXXXXQ6LR", "7429.41.5", false,
			core.CPUInfo{Model: "Apple M1", Sockets: 1, Cores: 8, Threads: 8}, true, 16 * spGiB}},
		{"sp_hardware_imacpro.json", want{"iMac Pro (iMacPro1,1)", "", "1037.60.58.0.0 (iBridge: 17.16.12551.0.0,0)", true,
			core.CPUInfo{Model: "8-Core Intel Xeon W", Sockets: 1, Cores: 8, Threads: 16}, true, 32 * spGiB}},
		{"runner26_hardware.json", want{"Apple Virtual Machine 1 (VirtualMac2,1)", "", "18000.161.10", false,
			core.CPUInfo{Model: "Apple M1 (Virtual)", Sockets: 1, Cores: 3, Threads: 3}, true, 7 * spGiB}},
		{"runner15intel_hardware.json", want{"Mac mini (Macmini6,2)", "", "1.00", true,
			core.CPUInfo{Sockets: 1, Cores: 4, Threads: 4}, false, 14 * spGiB}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := spFixture(t, tc.file)
			var hw core.Hardware
			if err := spReadIdentity(r, &hw); err != nil {
				t.Fatal(err)
			}
			if hw.Manufacturer != "Apple Inc." || hw.Model != tc.want.model || hw.Serial != tc.want.serial ||
				hw.Firmware.Version != tc.want.firmware || hw.Firmware.UEFI != tc.want.uefi {
				t.Errorf("identity = %+v", hw)
			}
			cpu, ok, err := spReadCPU(r)
			if err != nil || ok != tc.want.cpuOK || cpu != tc.want.cpu {
				t.Errorf("cpu = %+v, %v, %v; want %+v, %v", cpu, ok, err, tc.want.cpu, tc.want.cpuOK)
			}
			mem, err := spReadMemory(r)
			if mem.TotalBytes != tc.want.mem {
				t.Errorf("memory = %d, want %d", mem.TotalBytes, tc.want.mem)
			}
			if err == nil || !strings.Contains(err.Error(), "no SPMemoryDataType") {
				t.Errorf("memory without SPMemoryDataType: err = %v", err)
			}
		})
	}

	var s core.SystemInfo
	if err := spReadOS(spFixture(t, "sp_hw_sw_intel_mbp16.json"), &s); err != nil {
		t.Fatal(err)
	}
	if s.OSName != "macOS 12.3" || s.Version != "12.3" || s.Build != "21E230" {
		t.Errorf("os = %+v", s)
	}
	if err := spReadOS(spFixture(t, "sp_hardware_m1_air.json"), &s); err == nil {
		t.Error("a report without SPSoftwareDataType gave no error")
	}
}

// No Intel Mac's SPMemoryDataType with slots was found published; these
// items are written for the test with the keys Apple's reporter uses.
func TestSystemProfilerMemoryModules(t *testing.T) {
	r := spFixture(t, "sp_hardware_imacpro.json")
	r[spMemory] = []spItem{{"_items": []any{
		map[string]any{"_name": "DIMM1", "dimm_size": "16 GB", "dimm_speed": "2666 MHz", "dimm_type": "DDR4 ECC", "dimm_manufacturer": "0x802C", "dimm_serial_number": "0x12345678"},
		map[string]any{"_name": "DIMM2", "dimm_size": "empty", "dimm_status": "empty"},
		map[string]any{"_name": "DIMM3", "dimm_size": "16 GB", "dimm_speed": "2666 MHz", "dimm_type": "DDR4 ECC", "dimm_serial_number": "-"},
	}}}
	m, err := spReadMemory(r)
	want := []core.MemoryModule{
		{Slot: "DIMM1", SizeBytes: 16 * spGiB, SpeedMTs: 2666, Type: "DDR4 ECC", Manufacturer: "0x802C", Serial: "0x12345678"},
		{Slot: "DIMM3", SizeBytes: 16 * spGiB, SpeedMTs: 2666, Type: "DDR4 ECC"},
	}
	if err != nil || m.TotalBytes != 32*spGiB || !reflect.DeepEqual(m.Modules, want) {
		t.Errorf("memory = %+v, %v", m, err)
	}
	// Apple silicon: memory in the package, one item with its type.
	r = spFixture(t, "sp_hardware_m1_air.json")
	r[spMemory] = []spItem{{spMemory: "16 GB", "dimm_manufacturer": "Hynix", "dimm_type": "LPDDR4"}}
	m, err = spReadMemory(r)
	if err != nil || !reflect.DeepEqual(m.Modules, []core.MemoryModule{{Slot: "unified", SizeBytes: 16 * spGiB, Type: "LPDDR4", Manufacturer: "Hynix"}}) {
		t.Errorf("unified memory = %+v, %v", m, err)
	}
}

// SPNVMeDataType and SPSerialATADataType with drives, written for the test
// with the keys gopsutil's disk_darwin.go reads from the real reports.
func TestSystemProfilerDisks(t *testing.T) {
	r := spReport{
		spNVMe: {{"_name": "Apple SSD Controller", "_items": []any{map[string]any{"_name": "APPLE SSD AP0512Z", "bsd_name": "disk0",
			"device_model": "APPLE SSD AP0512Z", "device_serial": "0ba0123456789abc", "size_in_bytes": 500277792768.0}}}},
		spSATA: {{"_name": "AHCI", "_items": []any{map[string]any{"_name": "ST2000DM008", "bsd_name": "disk2", "device_model": "ST2000DM008-2FR102",
			"device_serial": "ZFL0ABCD", "size_in_bytes": 2000398934016.0, "spsata_medium_type": "Rotational"},
			map[string]any{"bsd_name": "disk3", "device_model": "Samsung SSD 870", "spsata_medium_type": "Solid State", "device_serial": "Not Available"}}}},
	}
	got, err := spReadDisks(r)
	want := []core.Disk{
		{Name: "disk0", Model: "APPLE SSD AP0512Z", Serial: "0ba0123456789abc", SizeBytes: 500277792768, Kind: core.DiskNVMe, Bus: "nvme"},
		{Name: "disk2", Model: "ST2000DM008-2FR102", Serial: "ZFL0ABCD", SizeBytes: 2000398934016, Kind: core.DiskHDD, Bus: "sata"},
		{Name: "disk3", Model: "Samsung SSD 870", Kind: core.DiskSSD, Bus: "sata"},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("disks = %+v, %v", got, err)
	}
}

func TestSystemProfilerOSVersions(t *testing.T) {
	for in, want := range map[string][3]string{ // forms Apple documents, not captures
		"macOS 14.5 (23F79)":            {"macOS 14.5", "14.5", "23F79"},
		"OS X 10.11.6 (15G31)":          {"OS X 10.11.6", "10.11.6", "15G31"},
		"macOS 26.6.2 (25G83)":          {"macOS 26.6.2", "26.6.2", "25G83"},
		"macOS 13.4.1 (c) (22F770820d)": {"macOS 13.4.1 (c)", "13.4.1 (c)", "22F770820d"},
	} {
		r := spReport{spSoftware: {{"os_version": in}}}
		var s core.SystemInfo
		err := spReadOS(r, &s)
		if err != nil || [3]string{s.OSName, s.Version, s.Build} != want {
			t.Errorf("%q = %q %q %q, %v", in, s.OSName, s.Version, s.Build, err)
		}
	}
}

func TestSystemProfilerStorage(t *testing.T) {
	vols, err := spReadVolumes(spFixture(t, "sp_storage_1tb_usb.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []core.Volume{
		{Mount: "/System/Volumes/Data", Device: "/dev/disk3s5", FS: "APFS", Label: "Macintosh HD - Data", SizeBytes: 994662584320},
		{Mount: "/Volumes/USB_TM_1TB", Device: "/dev/disk7s2", FS: "Case-sensitive APFS", Label: "USB_TM_1TB", SizeBytes: 999995129856},
		{Mount: "/", Device: "/dev/disk3s1s1", FS: "APFS", Label: "Macintosh HD", SizeBytes: 994662584320},
	}
	if !reflect.DeepEqual(vols, want) {
		t.Errorf("volumes = %+v", vols)
	}
	// The cryptex disk images of a macOS 26 runner are left out.
	vols, err = spReadVolumes(spFixture(t, "runner26_storage.json"))
	if err != nil || len(vols) != 2 || vols[0].Mount != "/System/Volumes/Data" || vols[1].Mount != "/" {
		t.Errorf("runner volumes = %+v, %v", vols, err)
	}

	// No NVMe drive (a VM): the disk comes from the volumes' physical drive.
	r := spFixture(t, "runner15intel_storage.json")
	r[spNVMe] = []spItem{}
	disks, err := spReadDisks(r)
	if err != nil || !reflect.DeepEqual(disks, []core.Disk{{Name: "VEERTU ANKA", Model: "VEERTU ANKA", Bus: "sata", Kind: core.DiskHDD}}) {
		t.Errorf("disks = %+v, %v", disks, err)
	}
	disks, err = spReadDisks(spFixture(t, "runner26_nvme.json", "runner26_storage.json"))
	if err != nil || disks == nil || len(disks) != 0 {
		t.Errorf("runner26 disks = %#v, %v", disks, err)
	}
	if _, err := spReadDisks(spFixture(t, "sp_storage_1tb_usb.json")); err == nil {
		t.Error("a report without SPNVMeDataType and SPSerialATADataType gave no error")
	}
}

func TestSystemProfilerDisplays(t *testing.T) {
	gpus, mons, err := spReadDisplays(spFixture(t, "sp_displays_m1pro.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gpus, []core.GPU{{Name: "Apple M1 Pro", Vendor: "Apple"}}) {
		t.Errorf("gpus = %+v", gpus)
	}
	wantMons := []core.Monitor{
		{Manufacturer: "APP", Model: "Color LCD", Serial: "fd626d62"},
		{Manufacturer: "DEL", Model: "DELL U2414H", Serial: "324c4853"},
		{Manufacturer: "DEL", Model: "DELL U2414H", Serial: "3346384c"},
	}
	if !reflect.DeepEqual(mons, wantMons) {
		t.Errorf("monitors = %+v", mons)
	}
	gpus, mons, err = spReadDisplays(spFixture(t, "runner15intel_displays.json"))
	if err != nil || !reflect.DeepEqual(gpus, []core.GPU{{Name: "Apple Paravirtualized Graphics Device", Vendor: "Apple", MemoryBytes: 64 << 20}}) ||
		!reflect.DeepEqual(mons, []core.Monitor{{Manufacturer: "1006", Model: "Unknown Display", Serial: "1"}}) {
		t.Errorf("VM displays = %+v %+v %v", gpus, mons, err)
	}
}

func TestSystemProfilerBattery(t *testing.T) {
	for file, want := range map[string][]core.Battery{
		"sp_power_excerpt_83pct.json":         {{CycleCount: 88, HealthPercent: 83, ConditionNotes: "Good"}},
		"sp_power_excerpt_check_battery.json": {{CycleCount: 745, ConditionNotes: "Check Battery"}},
		"runner26_power.json":                 {},
	} {
		got, err := spReadBattery(spFixture(t, file))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: battery = %+v, %v", file, got, err)
		}
	}
	// Percentages as other parsers' tests quote macOS printing them in
	// other locales.
	for in, want := range map[string]int{"100\u00a0%": 100, "85 %": 85, "%71": 71, "71%": 71, "n/a": 0} {
		r := spReport{spPower: {{"sppower_battery_health_info": map[string]any{"sppower_battery_health_maximum_capacity": in}}}}
		got, err := spReadBattery(r)
		if err != nil || len(got) != 1 || got[0].HealthPercent != want {
			t.Errorf("%q: battery = %+v, %v", in, got, err)
		}
	}
}

func TestParseSPSize(t *testing.T) {
	for _, tc := range []struct {
		in     string
		binary bool
		want   uint64
	}{
		{"16 GB", true, 16 << 30},
		{"500.28 GB", false, 500_280_000_000},
		{"500,28 GB", false, 500_280_000_000},
		{"1,000.5 GB", false, 1_000_500_000_000},
		{"64 MB", true, 64 << 20},
		{"524288000", false, 524288000},
		{"1 TB", false, 1_000_000_000_000},
		{" 7 GB ", true, 7 << 30},
	} {
		got, err := parseSPSize(tc.in, tc.binary)
		if err != nil || got != tc.want {
			t.Errorf("parseSPSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "GB", "12 parsecs", "-1 GB", "1e400 GB", "..", "empty"} {
		if got, err := parseSPSize(bad, false); err == nil {
			t.Errorf("parseSPSize(%q) = %d, want an error", bad, got)
		}
	}
}

func TestSystemProfilerBadInput(t *testing.T) {
	for _, bad := range []string{"", "null", "[]", "{", "<plist/>", `{"SPHardwareDataType": 5}`} {
		if _, err := parseSystemProfiler([]byte(bad)); err == nil {
			t.Errorf("parseSystemProfiler(%q) gave no error", bad)
		}
	}
	// Odd item shapes are skipped or reported, never a panic.
	r, err := parseSystemProfiler([]byte(`{"SPHardwareDataType":[1,"x",{"number_processors":"proc x"}],"SPPowerDataType":[{"sppower_battery_health_info":"x"}],
		"SPDisplaysDataType":[{"spdisplays_ndrvs":[1,{"_name":5}]}],"SPNVMeDataType":[{"_items":{}}],"SPMemoryDataType":[{"_items":[{"dimm_size":"lots"}]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	exerciseSPReport(r)
	if _, err := spReadMemory(r); err == nil {
		t.Error(`dimm_size "lots" gave no error`)
	}
}

// exerciseSPReport runs every reader on r.
func exerciseSPReport(r spReport) {
	var hw core.Hardware
	var s core.SystemInfo
	_ = spReadIdentity(r, &hw)
	_, _, _ = spReadCPU(r)
	_, _ = spReadMemory(r)
	_, _ = spReadDisks(r)
	_, _ = spReadVolumes(r)
	_, _, _ = spReadDisplays(r)
	_, _ = spReadBattery(r)
	_ = spReadOS(r, &s)
}

func FuzzSystemProfiler(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "darwin", "*.json"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseSystemProfiler(b)
		if err != nil {
			return
		}
		exerciseSPReport(r)
	})
}

func BenchmarkSystemProfiler(b *testing.B) {
	in := darwinFixture(b, "sp_displays_m1pro.json")
	for b.Loop() {
		r, err := parseSystemProfiler(in)
		if err != nil {
			b.Fatal(err)
		}
		_, _, _ = spReadDisplays(r)
	}
}
