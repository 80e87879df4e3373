package service

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"net/url"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/netguard"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// The address ranges that website checks run by the server may reach
// besides public addresses (internal/netguard; docs/api.md "Server-run
// checks").

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
	if err := need(u, authz.Admin); err != nil {
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
	if err := need(u, authz.Admin); err != nil {
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

// refusedURL returns the refusal of a server-run website check whose URL
// names an address (or localhost) that the server's checks may not reach,
// so that the user learns it when saving; host names are checked when the
// check connects.
func (s *Service) refusedURL(ctx context.Context, params json.RawMessage) (*netguard.DeniedError, error) {
	var p struct {
		URL string `json:"url"`
	}
	if json.Unmarshal(params, &p) != nil {
		return nil, nil // refused by the check's own validation
	}
	u, err := url.Parse(p.URL)
	if err != nil {
		return nil, nil
	}
	host := strings.ToLower(u.Hostname())
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		host = "127.0.0.1"
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return nil, nil
	}
	g, err := netguard.Load(ctx, s.store)
	if err != nil {
		return nil, err
	}
	var de *netguard.DeniedError
	if err := g.Check(ip); errors.As(err, &de) {
		return de, nil
	} else if err != nil {
		return nil, err
	}
	return nil, nil
}
