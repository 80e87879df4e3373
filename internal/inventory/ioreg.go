package inventory

import (
	"fmt"

	"github.com/wacht-rmm/wacht/internal/core"
)

// parseIORegBatteries reads `ioreg -r -c AppleSmartBattery -a`: a plist
// array with one dictionary per battery. Capacities are in mAh: design
// capacity is DesignCapacity; full-charge capacity is AppleRawMaxCapacity
// where the Mac has it (Apple silicon, where MaxCapacity is a percentage)
// and MaxCapacity on Intel Macs. Voltage (mV) turns them into mWh; the
// health percentage needs no voltage. An empty array is a Mac without a
// battery.
func parseIORegBatteries(b []byte) ([]core.Battery, error) {
	v, err := parsePlist(b)
	if err != nil {
		return nil, fmt.Errorf("parsing ioreg output: %w", err)
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("parsing ioreg output: %w: top level is %T, not an array", errPlist, v)
	}
	out := []core.Battery{}
	for _, e := range arr {
		d, ok := e.(map[string]any)
		if !ok {
			continue
		}
		if installed, ok := d["BatteryInstalled"].(bool); ok && !installed {
			continue
		}
		design, _ := plistInt(d, "DesignCapacity")
		full, ok := plistInt(d, "AppleRawMaxCapacity")
		if !ok {
			if full, _ = plistInt(d, "MaxCapacity"); full <= 100 {
				full = 0 // a percentage, not a capacity
			}
		}
		bat := core.Battery{Name: plistString(d, "DeviceName"), Manufacturer: plistString(d, "Manufacturer")}
		if s := plistString(d, "Serial", "BatterySerialNumber"); !hiddenID(s) {
			bat.SerialOrModel = s
		}
		if n, ok := plistInt(d, "CycleCount"); ok {
			bat.CycleCount = int(n)
		}
		if design > 0 && full > 0 {
			bat.HealthPercent = int((full*100 + design/2) / design)
		}
		if mv, _ := plistInt(d, "Voltage"); mv > 0 && mv < 100_000 {
			// Pack voltage now, not nominal: the mWh figures are close, the
			// health percentage above is exact.
			bat.DesignMWh, bat.FullChargeMWh = int(design*mv/1000), int(full*mv/1000)
		}
		if pf, _ := plistInt(d, "PermanentFailureStatus"); pf != 0 {
			bat.ConditionNotes = "Permanent failure"
		}
		out = append(out, bat)
	}
	return out, nil
}

// mergeBattery adds what system_profiler tells about a battery to what
// ioreg read: the condition Apple shows ("Normal", "Service Recommended"),
// and its maximum-capacity percentage where ioreg gave no capacities.
func mergeBattery(io []core.Battery, sp []core.Battery) []core.Battery {
	if len(io) == 0 {
		return sp
	}
	if len(sp) == 0 {
		return io
	}
	b, s := &io[0], sp[0]
	if s.ConditionNotes != "" {
		b.ConditionNotes = s.ConditionNotes
	}
	if b.HealthPercent == 0 {
		b.HealthPercent = s.HealthPercent
	}
	if b.CycleCount == 0 {
		b.CycleCount = s.CycleCount
	}
	if b.SerialOrModel == "" {
		b.SerialOrModel = s.SerialOrModel
	}
	return io
}
