// Package web serves the server-rendered dashboard (html/template + htmx).
package web

import (
	"log/slog"
	"net/http"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/api"
)

// Deps are the dashboard's collaborators.
type Deps struct {
	Store     core.Store
	Commander api.Commander
	Log       *slog.Logger
}

// New returns the dashboard handler, to be mounted at /.
func New(d Deps) (http.Handler, error) {
	return http.NotFoundHandler(), nil
}
