package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// healthz answers a load balancer's health check without credentials: 200
// while this node reaches its database, 503 when it does not. It reveals
// nothing else (docs/cluster.md).
func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	// Any cheap read proves the database answers; an unset key is fine.
	if _, err := s.store.GetSetting(ctx, "server_url"); err != nil && !errors.Is(err, core.ErrNotFound) {
		s.log.Warn("health check: database unreachable", "err", err)
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "database unreachable\n")
		return
	}
	io.WriteString(w, "ok\n")
}
