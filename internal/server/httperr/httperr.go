// Package httperr maps the errors of the service layer to HTTP, exactly
// once, for both transports: the JSON API and the dashboard.
package httperr

import (
	"context"
	"errors"
	"net/http"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/service"
)

// refusals are the service's refusals with a status and code of their own;
// their message is the English reason (service.Reason).
var refusals = []struct {
	err    error
	status int
	code   string
}{
	{service.ErrTOTPRequired, http.StatusForbidden, "2fa_required"},
	{service.ErrRemote2FA, http.StatusForbidden, "remote_2fa_required"},
	{service.ErrLastAdmin, http.StatusConflict, "last_admin"},
	{service.ErrSelf, http.StatusConflict, "self"},
	{service.ErrPackageTooLarge, http.StatusRequestEntityTooLarge, "too_large"},
	{service.ErrDiskFull, http.StatusInsufficientStorage, "disk_full"},
}

// Status maps an error to its HTTP status code, a stable code for clients and
// a message that is safe to show: the one place where core sentinel errors
// become HTTP.
func Status(err error) (status int, code, msg string) {
	for _, rf := range refusals {
		if errors.Is(err, rf.err) {
			text, _ := service.Reason(rf.err)
			return rf.status, rf.code, text.EN
		}
	}
	if ae := (*protocol.ActionError)(nil); errors.As(err, &ae) {
		return actionStatus(ae.Code), ae.Code, ae.Message.EN
	}
	switch {
	case errors.Is(err, core.ErrTokenExpired):
		return http.StatusForbidden, protocol.EnrollTokenExpired, core.ErrTokenExpired.Error()
	case errors.Is(err, core.ErrTokenRevoked):
		return http.StatusForbidden, protocol.EnrollTokenRevoked, core.ErrTokenRevoked.Error()
	case errors.Is(err, core.ErrTokenUsedUp):
		return http.StatusForbidden, protocol.EnrollTokenUsedUp, core.ErrTokenUsedUp.Error()
	case errors.Is(err, core.ErrNotFound):
		return http.StatusNotFound, "not_found", "not found"
	case errors.Is(err, core.ErrOffline):
		return http.StatusConflict, "offline", "the device's agent is offline"
	case errors.Is(err, core.ErrConflict):
		return http.StatusConflict, "conflict", "conflict"
	case errors.Is(err, core.ErrInvalid):
		return http.StatusBadRequest, "invalid", "invalid input"
	case errors.Is(err, core.ErrUnauthorized):
		return http.StatusUnauthorized, "unauthorized", "a valid API token is required"
	case errors.Is(err, core.ErrForbidden):
		return http.StatusForbidden, "forbidden", "your role does not allow this"
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout, "timeout", "the agent did not answer in time"
	default:
		return http.StatusInternalServerError, "internal", "internal server error"
	}
}

// actionStatus maps an agent's answer code (protocol.Code…) to HTTP: what
// the device refused or could not find is the client's to fix, a refused
// signature is the server's (502), a device that did not finish is 504.
func actionStatus(code string) int {
	switch code {
	case protocol.CodeDisabledLocally, protocol.CodeScriptSigner:
		return http.StatusForbidden
	case protocol.CodeNotFound:
		return http.StatusNotFound
	case protocol.CodePermissionDenied:
		return http.StatusForbidden // the device's OS refused access
	case protocol.CodeExists, protocol.CodeLocked:
		return http.StatusConflict
	case protocol.CodeDiskFull:
		return http.StatusInsufficientStorage
	case protocol.CodeBadArgs, protocol.CodeMalformed, protocol.CodeHashMismatch:
		return http.StatusBadRequest
	case protocol.CodeTimeout:
		return http.StatusGatewayTimeout
	case protocol.CodeBusy:
		return http.StatusTooManyRequests
	case protocol.CodeUnsupported, protocol.CodeUnknownAction, protocol.CodeFailed:
		// The device's OS or agent version cannot do it, or it tried and
		// failed (a locked file, a service that refuses to stop).
		return http.StatusConflict
	}
	// unsigned, bad_signature, expired, replayed, other_device…: the agent
	// refused what the server signed.
	return http.StatusBadGateway
}
