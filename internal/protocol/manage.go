package protocol

// Process and service management actions (issue 15 parts 4 and 5): their
// names and typed arguments and replies, shared by the agent that answers
// them and the server that asks.
const (
	ActionProcesses      = "processes"       // ProcessesArgs → ProcessList
	ActionProcessKill    = "process-kill"    // ProcessKillArgs → ProcessKillResult
	ActionServices       = "services"        // no arguments → ServiceList
	ActionServiceControl = "service-control" // ServiceControlArgs → ServiceControlResult
)

// MaxCmdline bounds a process's command line in a ProcessList (bytes,
// cut at a character boundary).
const MaxCmdline = 4096

// ProcessesArgs are the processes action's arguments (none yet; a struct so
// that filters can be added without breaking older agents).
type ProcessesArgs struct{}

// ProcessList is the processes action's reply. CPU percentages are
// measured over SampleMS milliseconds during the call and are shares of the
// whole machine (all cores busy = 100), as Task Manager shows them.
type ProcessList struct {
	SampleMS  int       `json:"sample_ms"`
	Processes []Process `json:"processes"`
}

// Process is one running process. StartTime (Unix milliseconds, as the OS
// records it) together with PID identifies it: ProcessKillArgs must repeat
// it. Fields the agent could not read (another user's process without
// privileges) are empty.
type Process struct {
	PID              int32   `json:"pid"`
	PPID             int32   `json:"ppid"`
	Name             string  `json:"name"`
	User             string  `json:"user,omitempty"`
	CPUPercent       float64 `json:"cpu_percent"`
	RSSBytes         uint64  `json:"rss_bytes"`
	StartTime        int64   `json:"start_time"`
	Cmdline          string  `json:"cmdline,omitempty"`
	CmdlineTruncated bool    `json:"cmdline_truncated,omitempty"`
}

// Default and highest grace period of process-kill.
const (
	DefaultKillGraceSeconds = 5
	MaxKillGraceSeconds     = 60
)

// ProcessKillArgs ends process PID, which must have started at StartTime
// (as listed) so that a reused PID is never hit (CodeNotFound otherwise).
// Tree ends its descendants first. On Unix every process gets SIGTERM and,
// if still there after GraceSeconds, SIGKILL; on Windows TerminateProcess.
type ProcessKillArgs struct {
	PID          int32 `json:"pid"`
	StartTime    int64 `json:"start_time"`
	Tree         bool  `json:"tree,omitempty"`
	GraceSeconds int   `json:"grace_seconds,omitempty"`
}

// ProcessKillResult lists the processes ended, descendants first; Forced
// are those that needed SIGKILL after ignoring SIGTERM.
type ProcessKillResult struct {
	Ended  []int32 `json:"ended"`
	Forced []int32 `json:"forced,omitempty"`
}

// Start types of a service (Service.StartType, ServiceControlArgs). Other
// values a manager reports are passed through as it words them (systemd
// "static", Windows "boot" and "system").
const (
	StartAutomatic = "automatic"
	StartManual    = "manual"
	StartDisabled  = "disabled"
)

// ServiceList is the services action's reply; Manager names the service
// manager read (scm, systemd, sysv, launchd).
type ServiceList struct {
	Manager  string    `json:"manager"`
	Services []Service `json:"services"`
}

// Service is one service. State is the manager's own word ("running",
// "inactive/dead", "stopped"); Running says whether it is doing what it
// should. Error says why the service could not be read (the rest is then
// unknown).
type Service struct {
	Name        string `json:"name"`
	DisplayName string `json:"display_name,omitempty"`
	Description string `json:"description,omitempty"`
	State       string `json:"state"`
	Running     bool   `json:"running"`
	StartType   string `json:"start_type,omitempty"`
	Error       string `json:"error,omitempty"`
}

// Operations of service-control.
const (
	ServiceStart        = "start"
	ServiceStop         = "stop"
	ServiceRestart      = "restart"
	ServiceSetStartType = "set-start-type"
)

// ServiceControlArgs start, stop or restart service Name, or set its start
// type (StartType: StartAutomatic, StartManual or StartDisabled).
type ServiceControlArgs struct {
	Name      string `json:"name"`
	Op        string `json:"op"`
	StartType string `json:"start_type,omitempty"`
}

// ServiceControlResult is the service as read after the operation.
type ServiceControlResult struct {
	Service Service `json:"service"`
}
