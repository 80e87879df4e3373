//go:build unix && !linux && !darwin

package trayipc

import "errors"

// DefaultAddress is where the agent listens for trays.
func DefaultAddress() string { return "/var/run/wacht-agent/tray.sock" }

// peerCred is not implemented here: every peer is refused.
func peerCred(int) (uint32, int, error) { return 0, 0, errors.ErrUnsupported }
