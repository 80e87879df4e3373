package inventory

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// macOS's `system_profiler -json` report: one key per data type, each an
// array of items (objects) whose keys are Apple's internal names
// ("machine_model", "spdisplays_ndrvs"). Values that are numbers on one
// Mac are strings on another ("number_processors": 8 or "proc 8:4:4"), so
// items stay generic maps read through small accessors.

// Data types the darwin collector asks system_profiler for, in one call.
const (
	spHardware = "SPHardwareDataType"
	spMemory   = "SPMemoryDataType"
	spStorage  = "SPStorageDataType"
	spNVMe     = "SPNVMeDataType"
	spSATA     = "SPSerialATADataType"
	spDisplays = "SPDisplaysDataType"
	spPower    = "SPPowerDataType"
	spSoftware = "SPSoftwareDataType"
)

// spDataTypes are the arguments naming the data types, in report order.
var spDataTypes = []string{spHardware, spMemory, spStorage, spNVMe, spSATA, spDisplays, spPower, spSoftware}

// spItem is one item of a data type.
type spItem map[string]any

// spReport maps a data type to its items.
type spReport map[string][]spItem

// parseSystemProfiler decodes system_profiler's JSON report. Items that are
// not objects are dropped; a report that is not a JSON object of arrays is
// an error.
func parseSystemProfiler(b []byte) (spReport, error) {
	var raw map[string][]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("parsing system_profiler output: %w", err)
	}
	if raw == nil {
		return nil, errors.New("parsing system_profiler output: not a JSON object")
	}
	r := spReport{}
	for k, items := range raw {
		r[k] = []spItem{}
		for _, it := range items {
			if m, ok := it.(map[string]any); ok {
				r[k] = append(r[k], m)
			}
		}
	}
	return r, nil
}

// items returns a data type's items, or an error naming it when
// system_profiler left it out (an unknown type on an old macOS, or a
// reporter that crashed).
func (r spReport) items(dataType string) ([]spItem, error) {
	items, ok := r[dataType]
	if !ok {
		return nil, fmt.Errorf("system_profiler printed no %s", dataType)
	}
	return items, nil
}

// str returns the item's string value of key, trimmed; numbers are
// formatted.
func (it spItem) str(key string) string {
	switch v := it[key].(type) {
	case string:
		return strings.TrimSpace(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return ""
}

// num returns the item's numeric value of key: a JSON number, or a string
// holding one: "88", "83%", and as some locales print a percentage,
// "100\u00a0%" (a no-break space) or "%71".
func (it spItem) num(key string) (float64, bool) {
	switch v := it[key].(type) {
	case float64:
		return v, true
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(strings.Trim(strings.TrimSpace(v), "%")), 64)
		return f, err == nil
	}
	return 0, false
}

// sub returns the nested object at key, or nil.
func (it spItem) sub(key string) spItem {
	m, _ := it[key].(map[string]any)
	return m
}

// children returns the nested array of objects at key ("_items",
// "spdisplays_ndrvs").
func (it spItem) children(key string) []spItem {
	a, _ := it[key].([]any)
	var out []spItem
	for _, v := range a {
		if m, ok := v.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// parseSPSize reads a size as system_profiler prints it: "16 GB", "500.28
// GB", "500,28 GB" (a decimal comma in some locales), "1,000.5 GB", "64
// MB", "524288000" or "1 TB". binaryUnits counts a KB as 1024 bytes, as
// macOS does for memory; disks use powers of 1000.
func parseSPSize(s string, binaryUnits bool) (uint64, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' && r != ',' })
	if i < 0 {
		i = len(s)
	}
	num, unit := s[:i], strings.ToUpper(strings.TrimSpace(s[i:]))
	if strings.Contains(num, ".") {
		num = strings.ReplaceAll(num, ",", "") // thousands separators
	} else {
		num = strings.ReplaceAll(num, ",", ".") // a decimal comma
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 {
		return 0, fmt.Errorf("size %q: not a number", s)
	}
	base := 1000.0
	if binaryUnits {
		base = 1024
	}
	exp := map[string]float64{"": 0, "B": 0, "BYTES": 0, "KB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5}
	e, ok := exp[unit]
	if !ok {
		return 0, fmt.Errorf("size %q: unknown unit %q", s, unit)
	}
	v := f * math.Pow(base, e)
	if v >= math.MaxUint64 {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return uint64(math.Round(v)), nil
}

// hiddenID reports an identifier that is absent or was hidden: VMs and
// redacted captures print "XXXX", "Not Available" or asterisks.
func hiddenID(s string) bool {
	t := strings.Trim(strings.ToUpper(s), "X*-")
	return t == "" || strings.EqualFold(s, "Not Available") || strings.Contains(s, "*")
}

// spReadIdentity fills manufacturer, model, serial and firmware from
// SPHardwareDataType.
func spReadIdentity(r spReport, hw *core.Hardware) error {
	items, err := r.items(spHardware)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return fmt.Errorf("system_profiler listed no %s item", spHardware)
	}
	it := items[0]
	hw.Manufacturer = "Apple Inc."
	name, model := it.str("machine_name"), it.str("machine_model")
	switch {
	case name != "" && model != "":
		hw.Model = name + " (" + model + ")"
	default:
		hw.Model = name + model
	}
	if s := it.str("serial_number"); !hiddenID(s) {
		hw.Serial = s
	}
	// Apple silicon Macs boot through iBoot; Intel Macs have EFI firmware
	// (and, on T2 Macs, an "(iBridge: …)" suffix naming the T2's version).
	hw.Firmware = core.Firmware{Vendor: "Apple Inc.", Version: it.str("boot_rom_version"), UEFI: it.str("cpu_type") != ""}
	return nil
}

// procRE matches Apple silicon's "proc 8:4:4" (total:performance:efficiency)
// and "proc 12:0:8:4"; the first number is all cores.
var procRE = regexp.MustCompile(`^proc\s+(\d+)(?::\d+)*$`)

// spReadCPU reads the chip or CPU model and its cores and threads. It returns
// false when system_profiler could not tell (a VM prints "Unknown").
func spReadCPU(r spReport) (core.CPUInfo, bool, error) {
	items, err := r.items(spHardware)
	if err != nil || len(items) == 0 {
		return core.CPUInfo{}, false, err
	}
	it := items[0]
	ci := core.CPUInfo{Model: it.str("chip_type"), Sockets: 1}
	if ci.Model == "" {
		ci.Model = it.str("cpu_type")
	}
	if strings.EqualFold(ci.Model, "Unknown") {
		ci.Model = ""
	}
	if n, ok := it.num("packages"); ok && n >= 1 {
		ci.Sockets = int(n)
	}
	if n, ok := it.num("number_processors"); ok {
		// Intel Macs: cores, with two threads each when Hyper-Threading is on.
		ci.Cores, ci.Threads = int(n), int(n)
		if it.str("platform_cpu_htt") == "htt_enabled" {
			ci.Threads = 2 * ci.Cores
		}
	} else if m := procRE.FindStringSubmatch(it.str("number_processors")); m != nil {
		// Apple silicon has no simultaneous multithreading.
		ci.Cores, _ = strconv.Atoi(m[1])
		ci.Threads = ci.Cores
	}
	return ci, ci.Model != "" && ci.Cores > 0, nil
}

// spReadMemory reads installed memory from SPHardwareDataType and, where the
// Mac has slots (Intel), its modules from SPMemoryDataType. Apple silicon
// has memory in the chip package and lists one item with its type.
func spReadMemory(r spReport) (core.Memory, error) {
	items, err := r.items(spHardware)
	if err != nil {
		return core.Memory{}, err
	}
	m := core.Memory{Modules: []core.MemoryModule{}}
	if len(items) > 0 {
		if m.TotalBytes, err = parseSPSize(items[0].str("physical_memory"), true); err != nil {
			return core.Memory{}, fmt.Errorf("physical_memory: %w", err)
		}
	}
	mem, err := r.items(spMemory)
	if err != nil {
		return m, err
	}
	for _, it := range mem {
		if size := it.str(spMemory); size != "" { // Apple silicon
			b, err := parseSPSize(size, true)
			if err != nil {
				return m, fmt.Errorf("%s: %w", spMemory, err)
			}
			m.Modules = append(m.Modules, core.MemoryModule{Slot: "unified", SizeBytes: b, Type: it.str("dimm_type"), Manufacturer: it.str("dimm_manufacturer")})
			continue
		}
		for _, d := range it.children("_items") {
			size := d.str("dimm_size")
			if size == "" || strings.EqualFold(size, "empty") {
				continue
			}
			b, err := parseSPSize(size, true)
			if err != nil {
				return m, fmt.Errorf("%s %s: %w", spMemory, d.str("_name"), err)
			}
			mod := core.MemoryModule{Slot: d.str("_name"), SizeBytes: b, Type: d.str("dimm_type"), Manufacturer: d.str("dimm_manufacturer")}
			if sp := strings.Fields(d.str("dimm_speed")); len(sp) > 0 {
				mod.SpeedMTs, _ = strconv.Atoi(sp[0]) // "2667 MHz": Apple prints the data rate
			}
			if s := d.str("dimm_serial_number"); !hiddenID(s) && s != "-" {
				mod.Serial = s
			}
			m.Modules = append(m.Modules, mod)
		}
	}
	return m, nil
}

// spReadDisks reads the physical disks: NVMe and SATA drives with model,
// serial and size. A Mac whose disk is on neither bus (a VM's paravirtual
// disk, some Apple Fabric SSDs) is described by SPStorageDataType's
// physical_drive instead, without serial and size.
func spReadDisks(r spReport) ([]core.Disk, error) {
	disks := []core.Disk{}
	var missing []string
	for _, bus := range []string{spNVMe, spSATA} {
		ctrls, err := r.items(bus)
		if err != nil {
			missing = append(missing, bus)
			continue
		}
		for _, c := range ctrls {
			for _, d := range c.children("_items") {
				disk := core.Disk{Name: d.str("bsd_name"), Model: d.str("device_model"), Bus: "nvme", Kind: core.DiskNVMe}
				if disk.Model == "" {
					disk.Model = d.str("_name")
				}
				if s := d.str("device_serial"); !hiddenID(s) {
					disk.Serial = s
				}
				if n, ok := d.num("size_in_bytes"); ok && n > 0 {
					disk.SizeBytes = uint64(n)
				}
				if bus == spSATA {
					disk.Bus, disk.Kind = "sata", core.DiskHDD
					if strings.Contains(strings.ToLower(d.str("spsata_medium_type")), "solid") {
						disk.Kind = core.DiskSSD
					}
				}
				if disk.Name == "" {
					disk.Name = disk.Model
				}
				disks = append(disks, disk)
			}
		}
	}
	if len(missing) == 2 {
		return nil, fmt.Errorf("system_profiler printed neither %s nor %s", spNVMe, spSATA)
	}
	if len(disks) > 0 {
		return disks, nil
	}
	vols, err := r.items(spStorage)
	if err != nil {
		return disks, nil // no NVMe or SATA disk, and nothing else to go by
	}
	seen := map[string]bool{}
	for _, v := range vols {
		pd := v.sub("physical_drive")
		name, proto := pd.str("device_name"), pd.str("protocol")
		if name == "" || proto == "Disk Image" || pd.str("is_internal_disk") != "yes" || seen[name] {
			continue
		}
		seen[name] = true
		d := core.Disk{Name: name, Model: name, Bus: strings.ToLower(proto)}
		switch pd.str("medium_type") {
		case "ssd":
			d.Kind = core.DiskSSD
		case "rotational":
			d.Kind = core.DiskHDD
		}
		disks = append(disks, d)
	}
	return disks, nil
}

// spReadVolumes reads the mounted volumes with their file system and label,
// leaving out disk images (macOS mounts its cryptexes and assets so).
func spReadVolumes(r spReport) ([]core.Volume, error) {
	items, err := r.items(spStorage)
	if err != nil {
		return nil, err
	}
	out := []core.Volume{}
	for _, it := range items {
		mount := it.str("mount_point")
		if mount == "" || it.sub("physical_drive").str("protocol") == "Disk Image" {
			continue
		}
		v := core.Volume{Mount: mount, FS: it.str("file_system"), Label: it.str("_name")}
		if b := it.str("bsd_name"); b != "" {
			v.Device = "/dev/" + b
		}
		if n, ok := it.num("size_in_bytes"); ok && n > 0 {
			v.SizeBytes = uint64(n)
		} else if b, err := parseSPSize(it.str("size"), false); err == nil {
			v.SizeBytes = b
		}
		out = append(out, v)
	}
	return out, nil
}

// spReadDisplays reads the graphics processors and the displays connected to
// them.
func spReadDisplays(r spReport) ([]core.GPU, []core.Monitor, error) {
	items, err := r.items(spDisplays)
	if err != nil {
		return nil, nil, err
	}
	gpus, mons := []core.GPU{}, []core.Monitor{}
	for _, it := range items {
		g := core.GPU{Name: it.str("sppci_model"), Vendor: strings.TrimPrefix(it.str("spdisplays_vendor"), "sppci_vendor_")}
		if g.Name == "" {
			g.Name = it.str("_name")
		}
		for _, k := range []string{"spdisplays_vram", "spdisplays_vram_shared"} {
			if b, err := parseSPSize(it.str(k), true); err == nil && b > 0 {
				g.MemoryBytes = b
				break
			}
		}
		if g.Name != "" {
			gpus = append(gpus, g)
		}
		for _, d := range it.children("spdisplays_ndrvs") {
			m := core.Monitor{Model: d.str("_name"), Manufacturer: pnpVendor(d.str("_spdisplays_display-vendor-id"))}
			if s := d.str("_spdisplays_display-serial-number"); s != "0" {
				m.Serial = s
			}
			mons = append(mons, m)
		}
	}
	return gpus, mons, nil
}

// pnpVendor turns an EDID manufacturer ID, which system_profiler prints as
// hex ("10ac"), into its three-letter PNP ID ("DEL"); other values are
// returned as they are.
func pnpVendor(hex string) string {
	n, err := strconv.ParseUint(hex, 16, 16)
	if err != nil || n == 0 {
		return hex
	}
	var b [3]byte
	for i := range b {
		c := (n >> (10 - 5*i)) & 0x1f
		if c < 1 || c > 26 {
			return hex
		}
		b[i] = byte('A' + c - 1)
	}
	return string(b[:])
}

// spReadBattery reads the battery's health from SPPowerDataType: cycle count,
// condition and, on newer macOS, the maximum capacity in percent. A Mac
// without a battery (a desktop) returns none.
func spReadBattery(r spReport) ([]core.Battery, error) {
	items, err := r.items(spPower)
	if err != nil {
		return nil, err
	}
	out := []core.Battery{}
	for _, it := range items {
		health := it.sub("sppower_battery_health_info")
		if health == nil && it.str("_name") != "spbattery_information" {
			continue
		}
		b := core.Battery{ConditionNotes: health.str("sppower_battery_health")}
		if n, ok := health.num("sppower_battery_cycle_count"); ok {
			b.CycleCount = int(n)
		}
		if n, ok := health.num("sppower_battery_health_maximum_capacity"); ok && n > 0 && n <= 200 {
			b.HealthPercent = int(math.Round(n))
		}
		model := it.sub("sppower_battery_model_info")
		b.Manufacturer = model.str("sppower_battery_manufacturer")
		if s := model.str("sppower_battery_serial_number"); !hiddenID(s) {
			b.SerialOrModel = s
		}
		b.Name = model.str("sppower_battery_device_name")
		out = append(out, b)
	}
	return out, nil
}

// osVersionRE splits "macOS 14.5 (23F79)", "OS X 10.11.6 (15G31)" and,
// with a Rapid Security Response applied, "macOS 13.4.1 (c) (22F770820d)".
var osVersionRE = regexp.MustCompile(`^(.*?)\s*(\d+(?:\.\d+)*(?:\s\([a-z]\))?)\s*\(([^)]+)\)$`)

// spReadOS fills OS name, version and build from SPSoftwareDataType.
func spReadOS(r spReport, s *core.SystemInfo) error {
	items, err := r.items(spSoftware)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		return fmt.Errorf("system_profiler listed no %s item", spSoftware)
	}
	v := items[0].str("os_version")
	m := osVersionRE.FindStringSubmatch(v)
	if m == nil {
		return fmt.Errorf("system_profiler os_version %q: not \"macOS N.N (BUILD)\"", v)
	}
	s.OSName = strings.TrimSpace(m[1] + " " + m[2])
	s.Version, s.Build = m[2], m[3]
	return nil
}
