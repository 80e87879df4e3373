package httperr

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/service"
)

func TestStatus(t *testing.T) {
	for err, want := range map[error]int{
		core.ErrNotFound:         404,
		core.ErrConflict:         409,
		core.ErrInvalid:          400,
		core.ErrUnauthorized:     401,
		core.ErrForbidden:        403,
		core.ErrOffline:          409,
		context.DeadlineExceeded: 504,
		io.ErrUnexpectedEOF:      500,
	} {
		wrapped := &wrapErr{err}
		if got, _, msg := Status(wrapped); got != want || msg == "" {
			t.Errorf("Status(%v) = %d %q, want %d", err, got, msg, want)
		}
	}
	if _, _, msg := Status(io.ErrUnexpectedEOF); strings.Contains(msg, "EOF") {
		t.Errorf("internal error leaked: %q", msg)
	}
	// The service's refusals keep their own code and say why.
	if st, code, msg := Status(fmt.Errorf("x: %w", service.ErrLastAdmin)); st != 409 || code != "last_admin" || !strings.Contains(msg, "administrator") {
		t.Errorf("last admin: %d %s %q", st, code, msg)
	}
}

type wrapErr struct{ err error }

func (w *wrapErr) Error() string { return "context: " + w.err.Error() }
func (w *wrapErr) Unwrap() error { return w.err }

// An agent's answer keeps its code and reason; its status says whose the
// fault is.
func TestActionErrors(t *testing.T) {
	for code, want := range map[string]int{
		protocol.CodeDisabledLocally: 403,
		protocol.CodeScriptSigner:    403,
		protocol.CodeNotFound:        404,
		protocol.CodeBadArgs:         400,
		protocol.CodeTimeout:         504,
		protocol.CodeUnsupported:     409,
		protocol.CodeFailed:          409,
		protocol.CodeBusy:            429,
		protocol.CodeBadSignature:    502,
		protocol.CodeReplayed:        502,
		// The file browser's refusals.
		protocol.CodeExists:           409,
		protocol.CodeLocked:           409,
		protocol.CodePermissionDenied: 403,
		protocol.CodeHashMismatch:     400,
		protocol.CodeDiskFull:         507,
	} {
		err := fmt.Errorf("wrapped: %w", &protocol.ActionError{Code: code, Message: core.Text{EN: "why", DE: "warum"}})
		if st, c, msg := Status(err); st != want || c != code || msg != "why" {
			t.Errorf("%s: %d %s %q, want %d", code, st, c, msg, want)
		}
	}
	if st, code, _ := Status(service.ErrRemote2FA); st != 403 || code != "remote_2fa_required" {
		t.Errorf("remote 2FA: %d %s", st, code)
	}
}
