package alert

import (
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Presence states shown for a device.
const (
	PresenceOnline    = "online"
	PresenceOffline   = "offline"   // away longer than offline_after; alert pending
	PresenceShutdown  = "shutdown"  // announced a shutdown (or service stop)
	PresenceRebooting = "rebooting" // announced a reboot
	PresenceAlerted   = "offline-alerted"
)

// PresenceDecision is the outcome of looking at one device.
type PresenceDecision struct {
	State        string
	Open         bool // raise an offline outage
	Close        bool // close the open offline outage: the device is back
	ClearGoodbye bool // the device was heard from after its goodbye
}

// OfflineAfter is the silence after which a device of this role is offline.
func (s Settings) OfflineAfter(role string) time.Duration {
	if role == core.DeviceRoleServer {
		return s.OfflineAfterServer.D()
	}
	return s.OfflineAfterWorkstation.D()
}

// EvaluatePresence decides about one device at now. A pure function.
func EvaluatePresence(p core.Presence, s Settings, now time.Time) PresenceDecision {
	var d PresenceDecision
	away := now.Sub(p.LastSeen)
	after := s.OfflineAfter(p.Role)
	goodbye := p.GoodbyeAt != nil
	if goodbye && p.LastSeen.After(*p.GoodbyeAt) {
		goodbye, d.ClearGoodbye = false, true // came back since
	}
	if p.OutageRef != "" {
		if away < after {
			d.Close, d.State = true, PresenceOnline
		} else {
			d.State = PresenceAlerted
		}
		return d
	}
	switch {
	case away < after && !goodbye:
		d.State = PresenceOnline
	case goodbye:
		d.State = PresenceShutdown
		if p.GoodbyeReason == "reboot" {
			d.State = PresenceRebooting
		}
		if now.Sub(*p.GoodbyeAt) >= s.GoodbyeGrace.D() && away >= after {
			d.Open, d.State = true, PresenceAlerted
		}
	case away >= after+s.OfflineAlertDelay.D():
		d.Open, d.State = true, PresenceAlerted
	default:
		d.State = PresenceOffline
	}
	return d
}
