package wevtapi

import (
	"errors"
	"strings"
	"syscall"
	"testing"
)

// TestCallErrorNeverSuccess: a failed call whose last-error code is 0 (as
// under Wine) must not be reported as "EvtQuery System: Success." or "The
// operation completed successfully.".
func TestCallErrorNeverSuccess(t *testing.T) {
	for _, in := range []error{syscall.Errno(0), nil} {
		err := callError("EvtQuery System", in)
		if !errors.Is(err, ErrNoErrorCode) || !strings.HasPrefix(err.Error(), "EvtQuery System: failed without an error code") {
			t.Errorf("%v: got %q", in, err)
		}
	}
	real := syscall.Errno(5)
	if err := callError("EvtQuery Security", real); !errors.Is(err, real) || err.Error() != "EvtQuery Security: "+real.Error() {
		t.Errorf("code 5: got %q", err)
	}
}
