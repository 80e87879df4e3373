//go:build !windows

package disk

import "runtime"

const goos = runtime.GOOS

// driveType is only meaningful on Windows; elsewhere the file system type
// and mount point decide.
func driveType(string) string { return "" }
