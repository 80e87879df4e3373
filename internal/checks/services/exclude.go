package services

import "runtime"

// defaultExclude are this OS's services that mode auto leaves out unless
// no_default_exclude is set.
var defaultExclude = map[string][]string{
	"windows": windowsExclude,
	"linux":   append(append([]string(nil), systemdExclude...), sysvExclude...),
}[runtime.GOOS]

// windowsExclude are services set to "Automatic" that stop by design once
// their work is done (updaters, on-demand platform services), as RMM tools
// commonly exclude them.
var windowsExclude = []string{
	"gupdate", "gupdatem", "GoogleUpdater*", "edgeupdate", "edgeupdatem", "MozillaMaintenance",
	"AdobeARMservice", "BITS", "DoSvc", "sppsvc", "RemoteRegistry", "MapsBroker", "TrustedInstaller",
	"ShellHWDetection", "tiledatamodelsvc", "CDPSvc", "WbioSrvc", "UsoSvc", "wuauserv", "WaaSMedicSvc",
	"clr_optimization_*", "stisvc", "IntelAudioService", "OneSyncSvc_*", "CDPUserSvc_*", "WpnUserService_*",
	"sysmain", "TabletInputService", "ClickToRunSvc", "Intel(R) TPM Provisioning Service",
}

// sysvExclude are boot-time SysV scripts that do their work and exit.
var sysvExclude = []string{"hwclock.sh", "procps", "kmod", "udev", "x11-common", "keyboard-setup.sh", "console-setup.sh", "networking", "urandom", "checkroot*.sh", "mount*.sh", "bootlogs", "rc.local", "sendsigs", "umount*", "halt", "reboot", "single", "killprocs", "bootmisc.sh", "hostname.sh", "brightness", "plymouth*", "apparmor", "cryptdisks*", "lvm2*", "mdadm-waitidle", "screen-cleanup"}

// systemdExclude are enabled units that are not long-running by design
// beyond what the oneshot and condition rules already cover.
var systemdExclude = []string{"systemd-networkd-wait-online.service", "NetworkManager-wait-online.service", "getty@*.service", "serial-getty@*.service"}
