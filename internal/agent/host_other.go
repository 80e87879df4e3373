//go:build !linux

package agent

// hasDesktop is only consulted on Linux; Windows and macOS tell servers
// apart by edition.
func hasDesktop() bool { return true }

// hasBattery is not probed here yet; such machines enroll as workstations.
func hasBattery() bool { return false }
