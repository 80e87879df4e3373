//go:build !linux

package agent

// systemDown cannot tell a machine shutdown from a service stop here yet
// (Windows needs SERVICE_CONTROL_PRESHUTDOWN, macOS launchd's shutdown
// signal); "" makes every clean stop a service stop.
func systemDown() string { return "" }
