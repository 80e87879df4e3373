package wevtapi

import (
	"errors"
	"fmt"
	"syscall"
)

// ErrNoErrorCode stands in for the last-error code of a call that failed
// without setting one (Wine's wevtapi.dll stubs return failure and leave
// the code at 0, which Windows words as "The operation completed
// successfully").
var ErrNoErrorCode = errors.New("failed without an error code (the call may not be implemented on this system)")

// CallError is a failed call: its name (with the channel or provider it
// was about) and its last-error code, or ErrNoErrorCode.
type CallError struct {
	Call string
	Err  error
}

func (e *CallError) Error() string { return fmt.Sprintf("%s: %v", e.Call, e.Err) }

// Unwrap returns the call's error.
func (e *CallError) Unwrap() error { return e.Err }

// callError wraps the last-error code of a failed call with the call's
// name, never a zero code.
func callError(call string, err error) error {
	var errno syscall.Errno
	if err == nil || errors.As(err, &errno) && errno == 0 {
		err = ErrNoErrorCode
	}
	return &CallError{Call: call, Err: err}
}
