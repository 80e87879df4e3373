//go:build windows

package agent

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// hasDesktop: Windows servers are told apart by edition, not by desktop.
func hasDesktop() bool { return true }

var procGetSystemPowerStatus = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetSystemPowerStatus")

// systemPowerStatus is SYSTEM_POWER_STATUS.
type systemPowerStatus struct {
	ACLineStatus        byte
	BatteryFlag         byte
	BatteryLifePercent  byte
	SystemStatusFlag    byte
	BatteryLifeTime     uint32
	BatteryFullLifeTime uint32
}

// hasBattery asks Windows whether a system battery exists (BatteryFlag 128
// means none, 255 unknown).
func hasBattery() bool {
	var s systemPowerStatus
	if r, _, _ := procGetSystemPowerStatus.Call(uintptr(unsafe.Pointer(&s))); r == 0 {
		return false
	}
	return s.BatteryFlag&128 == 0 && s.BatteryFlag != 255
}
