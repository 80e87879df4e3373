package services

// Windows service start types and states (winsvc.h), kept here so that the
// mapping is tested on every OS.
const (
	winStartAuto     = 2 // SERVICE_AUTO_START
	winStateStopped  = 1 // SERVICE_STOPPED
	winStateStarting = 2 // SERVICE_START_PENDING
	winStateRunning  = 4 // SERVICE_RUNNING
)

var winStateNames = map[uint32]string{
	1: "stopped", 2: "start pending", 3: "stop pending", 4: "running",
	5: "continue pending", 6: "pause pending", 7: "paused",
}

// winService maps the service control manager's view of one service.
// "Automatic (Trigger Start)" services run only while their trigger holds
// (a device present, a domain joined) and stop by design, so they do not
// count as automatic.
func winService(name, display string, startType uint32, delayed, triggered bool, state uint32) service {
	s := service{Name: name, Display: display, Auto: startType == winStartAuto && !triggered}
	s.Running = state == winStateRunning || state == winStateStarting
	s.State = winStateNames[state]
	if s.State == "" {
		s.State = "unknown"
	}
	if delayed && s.Auto && !s.Running {
		s.State += ", delayed start"
	}
	return s
}

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
