package protocol

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/wacht-rmm/wacht/internal/actionkey"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Actions travel on one path: a TypeCommand envelope (id = request ID)
// whose data is an actionkey.SignedAction of kind TypeCommand, answered by
// a TypeCommandResult with the same ID. Command names the action and its
// arguments on the server side; CommandResult is the reply.
//
// Streams open the same way with a TypeStreamOpen envelope (a StreamOpen,
// signed as kind TypeStreamOpen) and are answered by a TypeCommandResult;
// after an OK answer both sides send binary data frames (StreamHeader bytes
// of channel ID, then data) within the credit the other side granted, grant
// more with TypeStreamWindow and end the stream with TypeStreamClose.
const (
	TypeStreamOpen   = "stream_open"   // server → agent, id = request id
	TypeStreamWindow = "stream_window" // both ways: more credit for a channel
	TypeStreamClose  = "stream_close"  // both ways: the channel ends
)

// ActionTTL is how long a signed action or stream opening stays valid
// (actionkey.MaxTTL is the limit).
const ActionTTL = CommandTTL

// Reply codes of a failed action (CommandResult.Code).
const (
	CodeUnsigned        = "unsigned"
	CodeNoKey           = "no_action_key"
	CodeBadSignature    = "bad_signature"
	CodeOtherDevice     = "other_device"
	CodeExpired         = "expired"
	CodeNotYetValid     = "not_yet_valid"
	CodeReplayed        = "replayed"
	CodeMalformed       = "malformed"
	CodeArgsMismatch    = "args_mismatch"
	CodeUnknownAction   = "unknown_action"
	CodeDisabledLocally = "disabled_locally"
	CodeBadArgs         = "bad_args"
	CodeNotFound        = "not_found"
	CodeUnsupported     = "unsupported" // the device's OS or manager cannot do it
	CodeTimeout         = "timeout"     // the device did not finish in time (a service that does not stop)
	CodeBusy            = "busy"
	CodeFailed          = "failed"
)

// Local locks: capabilities the device's administrator can disable in the
// agent's configuration (wacht-agent install --disable …); the server cannot
// change them.
const (
	LockTerminal  = "terminal"
	LockExec      = "exec"
	LockFiles     = "files"
	LockProcesses = "processes"
	LockServices  = "services"
	LockScripts   = "scripts"
	LockSoftware  = "software"
)

// Locks lists every lock name.
var Locks = []string{LockTerminal, LockExec, LockFiles, LockProcesses, LockServices, LockScripts, LockSoftware, LockPatches, LockSelfUpdate}

// ValidLocks checks a lock list.
func ValidLocks(locks []string) error {
	for _, l := range locks {
		if !slices.Contains(Locks, l) {
			return fmt.Errorf("unknown capability %q to disable (known: %v)", l, Locks)
		}
	}
	return nil
}

// ActionError is a failed action's reply as an error: a machine-readable
// code and the message in English and German.
type ActionError struct {
	Code    string
	Message core.Text
}

func (e *ActionError) Error() string { return e.Code + ": " + e.Message.EN }

// Failed is the reply of a failed action.
func Failed(code string, msg core.Text) CommandResult {
	return CommandResult{Error: msg.EN, Code: code, Message: msg}
}

// Err is a failed reply as an *ActionError, nil for an OK one. A reply of
// an agent too old to set a code has code CodeFailed.
func (r CommandResult) Err() error {
	if r.OK {
		return nil
	}
	e := &ActionError{Code: r.Code, Message: r.Message}
	if e.Code == "" {
		e.Code = CodeFailed
	}
	if e.Message.EN == "" {
		e.Message = core.Text{EN: r.Error, DE: r.Error}
	}
	return e
}

// StreamOpen is a TypeStreamOpen's data: the signed opening (kind
// TypeStreamOpen, name = stream type) and the channel the server chose, with
// the credit the server grants the agent.
type StreamOpen struct {
	Channel uint32 `json:"channel"`
	Window  int    `json:"window"`
	actionkey.SignedAction
}

// StreamOpened is the OK reply's Output for a stream: the agent's credit
// for the server, and what the stream type says before its data (a file's
// size…).
type StreamOpened struct {
	Window int             `json:"window"`
	Meta   json.RawMessage `json:"meta,omitempty"`
}

// StreamWindow grants Bytes more credit on Channel.
type StreamWindow struct {
	Channel uint32 `json:"channel"`
	Bytes   int    `json:"bytes"`
}

// StreamClose ends a channel; an empty Code is a normal end (the reader
// sees EOF after the data before it).
type StreamClose struct {
	Channel uint32    `json:"channel"`
	Code    string    `json:"code,omitempty"`
	Message core.Text `json:"message,omitzero"`
}

// StreamHeader is the length of a binary data frame's header: the channel
// ID, big-endian.
const StreamHeader = 4

// MaxStreamChunk bounds a data frame's payload.
const MaxStreamChunk = 32 << 10

// DataFrame builds a binary data frame.
func DataFrame(channel uint32, data []byte) []byte {
	b := make([]byte, StreamHeader+len(data))
	binary.BigEndian.PutUint32(b, channel)
	copy(b[StreamHeader:], data)
	return b
}

// ParseDataFrame splits a binary data frame.
func ParseDataFrame(b []byte) (channel uint32, data []byte, err error) {
	if len(b) < StreamHeader || len(b) > StreamHeader+MaxStreamChunk {
		return 0, nil, fmt.Errorf("%w: data frame of %d bytes", ErrMalformed, len(b))
	}
	return binary.BigEndian.Uint32(b), b[StreamHeader:], nil
}
