// Package api serves Wacht's JSON REST API under /api/v1/. Every route needs
// a bearer API token; core sentinel errors map to HTTP status codes here,
// exactly once.
package api

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Commander sends a command to a connected agent and waits for its answer.
type Commander interface {
	// Command returns core.ErrOffline when the device is not connected.
	Command(ctx context.Context, deviceID int64, cmd protocol.Command) (protocol.CommandResult, error)
}

// Deps are the API's collaborators.
type Deps struct {
	Store     core.Store
	Commander Commander
	Log       *slog.Logger
}

// New returns the API handler, to be mounted at /api/v1/.
func New(d Deps) http.Handler {
	return http.NotFoundHandler()
}
