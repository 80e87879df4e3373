//go:build linux

package agent

import "path/filepath"

// hasDesktop reports whether a graphical session type is installed.
func hasDesktop() bool {
	for _, g := range []string{"/usr/share/xsessions/*.desktop", "/usr/share/wayland-sessions/*.desktop"} {
		if m, _ := filepath.Glob(g); len(m) > 0 {
			return true
		}
	}
	return false
}

// hasBattery reports whether the kernel knows a battery.
func hasBattery() bool {
	m, _ := filepath.Glob("/sys/class/power_supply/BAT*")
	return len(m) > 0
}
