//go:build !linux && !windows && !darwin

package agent

// hasDesktop is only probed on Linux; elsewhere assume a desktop.
func hasDesktop() bool { return true }

// hasBattery is not probed on this OS; such machines enroll as workstations.
func hasBattery() bool { return false }
