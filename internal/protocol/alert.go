package protocol

import "fmt"

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
