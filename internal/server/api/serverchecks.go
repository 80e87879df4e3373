package api

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/netguard"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// The address ranges that website checks run by the server may reach
// besides public addresses (internal/netguard; docs/api.md "Server-run
// checks").

func (h *handler) serverCheckRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /api/v1/settings/server-checks", auth.Admin, h.getServerChecks)
	rt.HandleFunc("PUT /api/v1/settings/server-checks", auth.Admin, h.setServerChecks)
}

// ServerChecks is the setting of the website checks the server runs:
// the address ranges (CIDR prefixes or single addresses) they may reach
// although they are private, loopback or otherwise refused by default.
type ServerChecks struct {
	Allow []string `json:"allow"`
}

func serverChecksOf(ps []netip.Prefix) ServerChecks {
	out := ServerChecks{Allow: []string{}}
	for _, p := range ps {
		out.Allow = append(out.Allow, p.String())
	}
	return out
}

// ServerChecks returns the setting (administrators).
func (s *Service) ServerChecks(ctx context.Context, u core.User) (ServerChecks, error) {
	if err := need(u, auth.Admin); err != nil {
		return ServerChecks{}, err
	}
	g, err := netguard.Load(ctx, s.store)
	if err != nil {
		return ServerChecks{}, err
	}
	return serverChecksOf(g.Allow), nil
}

// SetServerChecks replaces the allowed ranges (administrators), audited
// as settings.server-checks with the ranges in force.
func (s *Service) SetServerChecks(ctx context.Context, u core.User, in ServerChecks) (ServerChecks, error) {
	if err := need(u, auth.Admin); err != nil {
		return ServerChecks{}, err
	}
	ps, err := netguard.ParseAllow(strings.Join(in.Allow, ","))
	var re *netguard.RangeError
	if errors.As(err, &re) {
		return ServerChecks{}, &policy.ValidationError{Fields: []policy.FieldError{{Field: "allow", Message: re.Localized()}}}
	}
	if err != nil {
		return ServerChecks{}, err
	}
	text := netguard.FormatAllow(ps)
	if err := s.store.SetSetting(ctx, netguard.SettingAllow, text); err != nil {
		return ServerChecks{}, err
	}
	return serverChecksOf(ps), s.record(ctx, u, "settings.server-checks", "settings", "allow="+text, core.AuditOK)
}

func (h *handler) getServerChecks(w http.ResponseWriter, r *http.Request) {
	h.serve(w, r, http.StatusOK, func(u core.User) (any, error) { return h.svc.ServerChecks(r.Context(), u) })
}

func (h *handler) setServerChecks(w http.ResponseWriter, r *http.Request) {
	errorWriter(h.policyError).serve(w, r, http.StatusOK, func(u core.User) (any, error) {
		var in ServerChecks
		if err := decodeBody(r, &in); err != nil {
			return nil, err
		}
		return h.svc.SetServerChecks(r.Context(), u, in)
	})
}
