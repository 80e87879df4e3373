//go:build !windows

package smart

// osWMI is nil: WMI exists on Windows only.
var osWMI wmiReader

// extraPaths are where smartmontools installs outside a service's PATH:
// Debian/RHEL sbin, Homebrew on Intel and Apple silicon, MacPorts, FreeBSD;
// with /usr/bin (Arch, Fedora) they are the allowlist's built-in smartctl.
var extraPaths = []string{"/usr/sbin/smartctl", "/usr/bin/smartctl", "/usr/local/sbin/smartctl", "/opt/homebrew/bin/smartctl", "/usr/local/bin/smartctl", "/opt/local/sbin/smartctl"}
