package inventory

import (
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// dmiPlaceholders are values firmware writes where it has none; they
// mean "empty" (a VM without serial numbers has an empty serial, not a
// gap).
var dmiPlaceholders = map[string]bool{
	"": true, "none": true, "unknown": true, "not specified": true, "not available": true,
	"to be filled by o.e.m.": true, "to be filled by oem": true, "default string": true,
	"system serial number": true, "system product name": true, "system manufacturer": true,
	"no dimm": true, "[empty]": true, "<bad index>": true, "<out of spec>": true, "other": true,
	"0": true, "00000000": true, "0000000000000000": true, "0123456789": true, "serial number": true,
	"serialnumber": true, "not applicable": true,
}

// cleanDMI trims an SMBIOS string (from sysfs, dmidecode or WMI) and
// returns "" for a placeholder.
func cleanDMI(s string) string {
	s = strings.TrimSpace(s)
	if dmiPlaceholders[strings.ToLower(s)] {
		return ""
	}
	return s
}

// parseDmidecodeMemory reads `dmidecode -t 17` and returns the populated
// memory slots; empty slots ("No Module Installed") are skipped.
func parseDmidecodeMemory(out string) []core.MemoryModule {
	mods := []core.MemoryModule{}
	for _, block := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n\n") {
		f := map[string]string{}
		device := false
		for _, line := range strings.Split(block, "\n") {
			t := strings.TrimSpace(line)
			if t == "Memory Device" {
				device = true
				continue
			}
			if k, v, ok := strings.Cut(t, ":"); ok {
				f[k] = strings.TrimSpace(v)
			}
		}
		if !device {
			continue
		}
		size := dmiSize(f["Size"])
		if size == 0 {
			continue // "No Module Installed", "Not Installed", "Unknown"
		}
		m := core.MemoryModule{
			Slot:         cleanDMI(f["Locator"]),
			SizeBytes:    size,
			Type:         cleanDMI(f["Type"]),
			Manufacturer: cleanDMI(f["Manufacturer"]),
			Serial:       cleanDMI(f["Serial Number"]),
		}
		// The configured speed is what the module runs at; older
		// dmidecode calls it "Configured Clock Speed".
		for _, k := range []string{"Configured Memory Speed", "Configured Clock Speed", "Speed"} {
			if s := dmiNumber(f[k]); s > 0 {
				m.SpeedMTs = s
				break
			}
		}
		mods = append(mods, m)
	}
	return mods
}

// dmiSize parses "16 GB", "8192 MB", "512 kB"; 0 for anything else.
func dmiSize(s string) uint64 {
	n, unit, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		return 0
	}
	v, err := strconv.ParseUint(n, 10, 64)
	if err != nil {
		return 0
	}
	switch unit {
	case "bytes":
		return v
	case "kB", "KB":
		return v << 10
	case "MB":
		return v << 20
	case "GB":
		return v << 30
	case "TB":
		return v << 40
	}
	return 0
}

// dmiNumber is the leading number of "2400 MT/s" or "1600 MHz", 0 if none.
func dmiNumber(s string) int {
	n, _, _ := strings.Cut(strings.TrimSpace(s), " ")
	v, err := strconv.Atoi(n)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// dmiDate turns the firmware's MM/DD/YYYY into YYYY-MM-DD ("" if it is
// not such a date).
func dmiDate(s string) string {
	p := strings.Split(strings.TrimSpace(s), "/")
	if len(p) != 3 || len(p[0]) != 2 || len(p[1]) != 2 {
		return ""
	}
	y := p[2]
	if len(y) == 2 { // some old firmware writes 06/25/20
		y = "20" + y
	}
	if len(y) != 4 {
		return ""
	}
	for _, s := range []string{p[0], p[1], y} {
		if _, err := strconv.Atoi(s); err != nil {
			return ""
		}
	}
	return y + "-" + p[0] + "-" + p[1]
}
