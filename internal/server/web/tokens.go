package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

// API tokens in the dashboard: each user manages their own (administrators
// see everyone's). A token carries at most its creator's rights; the
// service.Service enforces that.

func (s *server) tokenRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /account/tokens", authz.Authenticated, s.withSession(s.tokens))
	rt.HandleFunc("POST /account/tokens", authz.Authenticated, s.withSession(s.createToken))
	rt.HandleFunc("POST /account/tokens/{id}/revoke", authz.Authenticated, s.withSession(s.revokeToken))
}

type tokensView struct {
	Tokens  []core.APIToken
	Clients []core.Client
	Roles   []string
	Secret  string // a new token's secret, shown once
}

func (s *server) renderTokens(w http.ResponseWriter, r *http.Request, rc *reqCtx, secret string) {
	ts, err := s.svc.ListAPITokens(r.Context(), rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	cs, err := s.svc.ListClients(r.Context(), rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	var roles []string
	for _, role := range []string{core.RoleReadOnly, core.RoleTechnician, core.RoleAdmin} {
		if core.RoleRank(role) <= core.RoleRank(rc.user.Role) {
			roles = append(roles, role)
		}
	}
	v := s.view(r, rc.lang, rc)
	v.Title = "tokens.title"
	v.Page = tokensView{Tokens: ts, Clients: cs, Roles: roles, Secret: secret}
	if secret == "" && r.URL.Query().Get("revoked") != "" {
		v.Notice, v.NoticeKind = "tokens.revokedOK", "ok"
	}
	s.render(w, http.StatusOK, "tokens", v)
}

func (s *server) tokens(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	s.renderTokens(w, r, rc, "")
}

func (s *server) createToken(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	sc, err := formScope(r)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	nt := service.NewToken{Name: r.PostFormValue("name"), Role: r.PostFormValue("role"), Scope: sc}
	if d := r.PostFormValue("days"); d != "" && d != "0" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 || n > 3650 {
			s.renderError(w, r, rc.lang, core.ErrInvalid)
			return
		}
		exp := s.now().Add(time.Duration(n) * 24 * time.Hour).UTC().Truncate(time.Millisecond)
		nt.ExpiresAt = &exp
	}
	ct, err := s.svc.CreateAPIToken(r.Context(), rc.user, nt)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	s.renderTokens(w, r, rc, ct.Secret)
}

func (s *server) revokeToken(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	s.act(w, r, rc, func(id int64) (string, error) {
		return "/account/tokens?revoked=1", s.svc.RevokeAPIToken(r.Context(), rc.user, id)
	})
}
