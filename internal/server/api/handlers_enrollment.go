package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/server/httperr"
	"github.com/wacht-rmm/wacht/internal/service"
)

// InstallerSource opens the newest published installer of a kind and
// architecture (*service.Service; tests give a fake).
type InstallerSource interface {
	OpenInstaller(ctx context.Context, kind, arch string) (core.AgentFile, io.ReadSeekCloser, error)
}

// DefaultTokenExpiry is a new enrollment token's validity when the request
// names none.
const DefaultTokenExpiry = 7 * 24 * time.Hour

func (h *handler) enrollmentRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/sites/{id}/enrollment-tokens", authz.Read, h.listSiteTokens)
	rt.HandleFunc("POST /api/v1/sites/{id}/enrollment-tokens", authz.Admin, h.createSiteToken)
	rt.HandleFunc("DELETE /api/v1/enrollment-tokens/{id}", authz.Admin, h.revokeEnrollmentToken)
	rt.HandleFunc("GET /api/v1/installers/{kind}/{arch}", authz.Read, h.userInstaller)
}

// siteToken is a listed token with its state.
type siteToken struct {
	core.EnrollmentToken
	State string `json:"state"`
}

func (h *handler) listSiteTokens(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusOK, func(u core.User, id int64) (any, error) {
		ts, err := h.svc.ListSiteEnrollmentTokens(r.Context(), u, id)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		out := make([]siteToken, len(ts))
		for i, t := range ts {
			out[i] = siteToken{EnrollmentToken: t, State: service.TokenState(t, now)}
		}
		return out, nil
	})
}

// tokenBody is what POST …/enrollment-tokens accepts. Without expires_at
// and expires_in_hours the token is valid for DefaultTokenExpiry;
// never_expires makes one without expiry.
type tokenBody struct {
	Label          string `json:"label"`
	ExpiresAt      string `json:"expires_at"` // RFC 3339
	ExpiresInHours *int   `json:"expires_in_hours"`
	NeverExpires   bool   `json:"never_expires"`
	MaxUses        int    `json:"max_uses"`
}

// siteTokenOf checks the body's expiry fields, naming the refused ones.
func siteTokenOf(b tokenBody, now time.Time) (service.SiteToken, error) {
	st := service.SiteToken{Label: b.Label, MaxUses: b.MaxUses}
	var fs []policy.FieldError
	given := 0
	if b.ExpiresAt != "" {
		given++
		t, err := time.Parse(time.RFC3339, b.ExpiresAt)
		if err != nil {
			fs = append(fs, policy.FieldError{Field: "expires_at", Message: core.Text{
				EN: "must be a date and time as in 2026-12-31T18:00:00Z", DE: "muss ein Zeitpunkt wie 2026-12-31T18:00:00Z sein"}})
		} else {
			st.ExpiresAt = &t
		}
	}
	if b.ExpiresInHours != nil {
		given++
		if *b.ExpiresInHours <= 0 || *b.ExpiresInHours > 24*366*10 {
			fs = append(fs, policy.FieldError{Field: "expires_in_hours", Message: core.Text{
				EN: "must be between 1 and 87840 (ten years)", DE: "muss zwischen 1 und 87840 (zehn Jahre) liegen"}})
		} else {
			t := now.Add(time.Duration(*b.ExpiresInHours) * time.Hour)
			st.ExpiresAt = &t
		}
	}
	if b.NeverExpires {
		given++
	}
	if given > 1 {
		fs = append(fs, policy.FieldError{Field: "expires_at", Message: core.Text{
			EN: "give one of expires_at, expires_in_hours and never_expires", DE: "nur eines von expires_at, expires_in_hours und never_expires angeben"}})
	}
	if given == 0 {
		t := now.Add(DefaultTokenExpiry)
		st.ExpiresAt = &t
	}
	if len(fs) > 0 {
		return st, &policy.ValidationError{Fields: fs}
	}
	return st, nil
}

func (h *handler) createSiteToken(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusCreated, func(u core.User, id int64) (any, error) {
		var b tokenBody
		if err := decodeBody(r, &b); err != nil {
			return nil, err
		}
		st, err := siteTokenOf(b, time.Now())
		if err != nil {
			return nil, err
		}
		w.Header().Set("Cache-Control", "no-store")
		it, err := h.svc.CreateSiteEnrollmentToken(r.Context(), u, id, st)
		if err != nil {
			return nil, err
		}
		return struct {
			service.IssuedToken
			State string `json:"state"`
		}{it, service.TokenState(it.EnrollmentToken, time.Now())}, nil
	})
}

func (h *handler) revokeEnrollmentToken(w http.ResponseWriter, r *http.Request) {
	h.withID(w, r, http.StatusNoContent, func(u core.User, id int64) (any, error) {
		return nil, h.svc.RevokeEnrollmentToken(r.Context(), u, id)
	})
}

func (h *handler) userInstaller(w http.ResponseWriter, r *http.Request) {
	serveInstaller(w, r, h.installers, h.log)
}

// serveInstaller sends the newest installer of the path's kind and arch
// with its name, length and Range support; errors as JSON.
func serveInstaller(w http.ResponseWriter, r *http.Request, src InstallerSource, log *slog.Logger) {
	kind, arch := r.PathValue("kind"), r.PathValue("arch")
	f, rd, err := src.OpenInstaller(r.Context(), kind, arch)
	if err != nil {
		writeInstallerError(w, r, err, log)
		return
	}
	defer rd.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": f.Name}))
	w.Header().Set("ETag", `"`+f.SHA256+`"`)
	w.Header().Set("X-Wacht-Version", f.Version)
	// ServeContent sets Content-Length and answers Range requests.
	http.ServeContent(w, r, "", f.UploadedAt, rd)
}

func writeInstallerError(w http.ResponseWriter, r *http.Request, err error, log *slog.Logger) {
	var ni *service.NoInstallerError
	switch {
	case errors.As(err, &ni):
		writeJSON(w, http.StatusNotFound, protocol.ErrorResponse{Error: ni.Error(), Code: "no_installer"})
	case errors.Is(err, core.ErrInvalid):
		msg := err.Error()
		msg = strings.TrimSuffix(msg, ": "+core.ErrInvalid.Error())
		writeJSON(w, http.StatusBadRequest, protocol.ErrorResponse{Error: msg, Code: "invalid"})
	default:
		status, code, msg := httperr.Status(err)
		if status == http.StatusInternalServerError {
			log.Error("installer download failed", "path", r.URL.Path, "err", err)
		}
		writeJSON(w, status, protocol.ErrorResponse{Error: msg, Code: code})
	}
}

// AgentInstallerPattern is the route an enrollment token's holder
// downloads installers at; it is on auth.PublicAllowlist since the token,
// not a user, authenticates it.
const AgentInstallerPattern = "GET /api/agent/installers/{kind}/{arch}"

// installerFailures bounds failed token checks per source, like failed
// enrollments: then 429 until the window passed.
const (
	installerFailures = 10
	installerWindow   = time.Minute
)

// AgentInstallers serves AgentInstallerPattern: the newest installer of a
// kind and architecture for whoever holds an active enrollment token
// (Authorization: Bearer wacht1_… or the token's bare secret). It does not
// consume a use. A missing or unknown token is 401, an expired, revoked or
// used-up one 403 with its code (token_expired…); a source with too many
// failures gets 429.
func AgentInstallers(svc *service.Service, src InstallerSource, log *slog.Logger) http.Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "installers")
	limit := auth.NewLimiter(installerFailures, installerWindow)
	rt := auth.NewRouter(func(_ authz.Perm, next http.Handler) http.Handler { return next })
	rt.HandleFunc(AgentInstallerPattern, authz.Public, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		from := auth.Source(clientIP(r))
		if !limit.Allow(from) {
			w.Header().Set("Retry-After", fmt.Sprint(int(installerWindow.Seconds())))
			writeJSON(w, http.StatusTooManyRequests, protocol.ErrorResponse{Error: "too many failed attempts; try again later", Code: "too_many_attempts"})
			return
		}
		t, err := svc.ActiveToken(r.Context(), r.Header.Get("Authorization"))
		if err != nil {
			limit.Fail(from)
			if errors.Is(err, core.ErrUnauthorized) {
				w.Header().Set("WWW-Authenticate", `Bearer realm="wacht-enrollment"`)
				writeJSON(w, http.StatusUnauthorized, protocol.ErrorResponse{
					Error: "an active enrollment token is required (Authorization: Bearer wacht1_…)", Code: protocol.EnrollTokenUnknown})
				return
			}
			writeInstallerError(w, r, err, log)
			return
		}
		log.Info("installer download", "kind", r.PathValue("kind"), "arch", r.PathValue("arch"), "token", t.ID, "remote", clientIP(r))
		serveInstaller(w, r, src, log)
	})
	return rt
}

// AgentInstallerRoutes lists AgentInstallers' routes for the authorization
// tests.
func AgentInstallerRoutes() []auth.Route {
	return AgentInstallers(service.New(service.Deps{}), nil, nil).(*auth.Router).Routes()
}

// clientIP is the TCP peer; forwarded headers are not trusted.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
