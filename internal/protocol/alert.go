package protocol

import (
	"encoding/json"
	"fmt"
)

// TypeGoodbye (agent → server) announces that the agent is going away on
// purpose, so the server shows the device as shut down or rebooting and
// does not alert unless it stays away too long. No answer is sent.
const TypeGoodbye = "goodbye"

// Goodbye reasons.
const (
	GoodbyeShutdown    = "shutdown"     // the machine shuts down
	GoodbyeReboot      = "reboot"       // the machine restarts
	GoodbyeServiceStop = "service-stop" // only the agent service stops
)

// Goodbye is the payload of TypeGoodbye.
type Goodbye struct {
	Reason string `json:"reason"`
}

// Validate accepts the known reasons only.
func (g Goodbye) Validate() error {
	switch g.Reason {
	case GoodbyeShutdown, GoodbyeReboot, GoodbyeServiceStop:
		return nil
	}
	return fmt.Errorf("%w: goodbye reason %q", ErrMalformed, g.Reason)
}

// ServerParams are check parameters that the server evaluates and checks
// never see: alert_after (consecutive failures before an outage).
var ServerParams = []string{"alert_after"}

// CheckParams returns a check's parameters without ServerParams, so that a
// check that rejects unknown parameters accepts a policy entry carrying
// them. Anything that is not a JSON object is returned unchanged.
func CheckParams(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return raw
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return raw
	}
	found := false
	for _, k := range ServerParams {
		if _, ok := m[k]; ok {
			delete(m, k)
			found = true
		}
	}
	if !found {
		return raw
	}
	b, err := json.Marshal(m)
	if err != nil {
		return raw
	}
	return b
}

// AlertAfter reads alert_after from a check's parameters (default 1).
func AlertAfter(raw json.RawMessage) int {
	var p struct {
		AlertAfter int `json:"alert_after"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &p) != nil || p.AlertAfter < 1 {
		return 1
	}
	return p.AlertAfter
}
