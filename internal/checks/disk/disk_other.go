//go:build !windows

package disk

import "runtime"

const goos = runtime.GOOS

// driveType is only meaningful on Windows; elsewhere the file system type
// and mount point decide.
func driveType(string) string { return "" }

// lostVolumes: gopsutil's list is complete here (a volume it cannot read
// is still listed, and its usage read fails on its own).
func lostVolumes([]partition) []Unread { return nil }
