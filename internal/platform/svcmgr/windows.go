package svcmgr

import "github.com/wacht-rmm/wacht/internal/protocol"

// Windows service start types and states (winsvc.h), kept here so that the
// mapping is tested on every OS.
const (
	winStartAuto     = 2 // SERVICE_AUTO_START
	winStartManual   = 3 // SERVICE_DEMAND_START
	winStartDisabled = 4 // SERVICE_DISABLED
	winStateStopped  = 1 // SERVICE_STOPPED
	winStateStarting = 2 // SERVICE_START_PENDING
	winStateRunning  = 4 // SERVICE_RUNNING
)

var winStateNames = map[uint32]string{
	1: "stopped", 2: "start pending", 3: "stop pending", 4: "running",
	5: "continue pending", 6: "pause pending", 7: "paused",
}

var winStartTypes = map[uint32]string{
	0: "boot", 1: "system", winStartAuto: protocol.StartAutomatic, winStartManual: protocol.StartManual, winStartDisabled: protocol.StartDisabled,
}

// winStartType is the SCM start type for a settable one.
func winStartType(t string) uint32 {
	switch t {
	case protocol.StartAutomatic:
		return winStartAuto
	case protocol.StartDisabled:
		return winStartDisabled
	}
	return winStartManual
}

// winService maps the service control manager's view of one service.
// "Automatic (Trigger Start)" services run only while their trigger holds
// (a device present, a domain joined) and stop by design, so they do not
// count as automatic.
func winService(name, display string, startType uint32, delayed, triggered bool, state uint32) Service {
	s := Service{Name: name, Display: display, Auto: startType == winStartAuto && !triggered, StartType: winStartTypes[startType]}
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
