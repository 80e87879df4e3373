package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

// The single sign-on settings page (administrators): OpenID Connect
// providers. service.Service validates, seals and audits; the client
// secret is write-only.

func init() { pageNames = append(pageNames, "sso") }

const ssoSettingsPath = "/settings/sso"

func (s *server) ssoAdminRoutes(rt *auth.Router) {
	rt.HandleFunc("GET "+ssoSettingsPath, authz.Admin, s.withSession(s.ssoSettings))
	rt.HandleFunc("POST "+ssoSettingsPath, authz.Admin, s.withSession(s.saveSSOProvider))
	rt.HandleFunc("POST "+ssoSettingsPath+"/{id}/delete", authz.Admin, s.withSession(s.deleteSSOProvider))
}

// ssoFields are the provider form's text fields, named like the fields of
// the Service's validation errors.
var ssoFields = []string{"id", "name", "issuer", "client_id", "domains", "default_role", "roles_claim", "role_map"}

type ssoPage struct {
	Providers               []ssoRow
	Values                  map[string]string // the form as shown
	AutoCreate, EnforcesMFA bool
	SecretSet               bool // the edited provider has a secret
	Errors                  map[string]string
	Roles                   []string
}

type ssoRow struct {
	core.OIDCProvider
	Callback string // the redirect URI to register at the provider
}

// ssoForm renders a provider into form values.
func ssoForm(p core.OIDCProvider) map[string]string {
	var lines []string
	for v, role := range p.RoleMap {
		lines = append(lines, v+" = "+role)
	}
	sort.Strings(lines)
	id := ""
	if p.ID != 0 {
		id = strconv.FormatInt(p.ID, 10)
	}
	role := p.DefaultRole
	if role == "" {
		role = core.RoleReadOnly
	}
	return map[string]string{"id": id, "name": p.Name, "issuer": p.Issuer, "client_id": p.ClientID,
		"domains": strings.Join(p.Domains, ", "), "default_role": role, "roles_claim": p.RolesClaim,
		"role_map": strings.Join(lines, "\n")}
}

// formSSO reads the provider form; role map lines that are not
// "value = role" are refused by field.
func formSSO(r *http.Request, lang Lang) (core.OIDCProvider, map[string]string, map[string]string) {
	vals, errs := map[string]string{}, map[string]string{}
	for _, f := range ssoFields {
		vals[f] = strings.TrimSpace(r.PostFormValue(f))
	}
	id, _ := strconv.ParseInt(vals["id"], 10, 64)
	p := core.OIDCProvider{ID: id, Name: vals["name"], Issuer: vals["issuer"], ClientID: vals["client_id"],
		ClientSecret: strings.TrimSpace(r.PostFormValue("client_secret")), DefaultRole: vals["default_role"],
		RolesClaim: vals["roles_claim"], AutoCreate: r.PostFormValue("auto_create") == "on",
		EnforcesMFA: r.PostFormValue("enforces_mfa") == "on",
		Domains:     strings.FieldsFunc(vals["domains"], func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' }),
		RoleMap:     map[string]string{}}
	for _, line := range strings.Split(vals["role_map"], "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		i := strings.LastIndex(line, "=")
		if i < 0 {
			errs["role_map"] = lang.T("sso.roleMapLine")
			continue
		}
		p.RoleMap[strings.TrimSpace(line[:i])] = strings.TrimSpace(line[i+1:])
	}
	return p, vals, errs
}

func (s *server) ssoSettings(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	v := s.view(r, rc.lang, rc)
	switch r.URL.Query().Get("saved") {
	case "provider":
		v.Notice, v.NoticeKind = "sso.saved", "ok"
	case "deleted":
		v.Notice, v.NoticeKind = "sso.deleted", "ok"
	}
	p := &ssoPage{}
	if id, err := strconv.ParseInt(r.URL.Query().Get("edit"), 10, 64); err == nil {
		ps, err := s.svc.ListOIDCProviders(r.Context(), rc.user)
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		found := false
		for _, pr := range ps {
			if pr.ID == id {
				p.Values, p.AutoCreate, p.EnforcesMFA, p.SecretSet = ssoForm(pr), pr.AutoCreate, pr.EnforcesMFA, pr.ClientSecret != ""
				found = true
			}
		}
		if !found {
			s.renderError(w, r, rc.lang, core.ErrNotFound)
			return
		}
	}
	s.renderSSOSettings(w, r, rc, v, http.StatusOK, p)
}

// renderSSOSettings shows the providers and the form p holds (a new
// provider's when empty).
func (s *server) renderSSOSettings(w http.ResponseWriter, r *http.Request, rc *reqCtx, v view, status int, p *ssoPage) {
	ctx := r.Context()
	ps, err := s.svc.ListOIDCProviders(ctx, rc.user)
	if err != nil {
		s.renderError(w, r, rc.lang, err)
		return
	}
	for _, pr := range ps {
		cb, err := s.svc.SSOCallbackURL(ctx, pr.ID)
		if err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
		p.Providers = append(p.Providers, ssoRow{OIDCProvider: pr, Callback: cb})
	}
	if p.Values == nil {
		p.Values = ssoForm(core.OIDCProvider{})
	}
	if p.Errors == nil {
		p.Errors = map[string]string{}
	}
	p.Roles = []string{core.RoleReadOnly, core.RoleTechnician}
	v.Title, v.Page = "sso.title", p
	s.render(w, status, "sso", v)
}

func (s *server) saveSSOProvider(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	p, vals, errs := formSSO(r, rc.lang)
	if len(errs) == 0 {
		_, err := s.svc.SaveOIDCProvider(r.Context(), rc.user, p)
		if err = fieldErrors(err, rc.lang, errs, nil); err != nil {
			s.renderError(w, r, rc.lang, err)
			return
		}
	}
	if len(errs) > 0 {
		v := s.view(r, rc.lang, rc)
		v.Error = "sso.invalid"
		s.renderSSOSettings(w, r, rc, v, http.StatusBadRequest, &ssoPage{Values: vals, Errors: errs,
			AutoCreate: p.AutoCreate, EnforcesMFA: p.EnforcesMFA, SecretSet: p.ID != 0})
		return
	}
	http.Redirect(w, r, ssoSettingsPath+"?saved=provider", http.StatusSeeOther)
}

func (s *server) deleteSSOProvider(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if !s.confirmed(w, r, rc, nil) {
		return
	}
	s.act(w, r, rc, func(id int64) (string, error) {
		return ssoSettingsPath + "?saved=deleted", s.svc.DeleteOIDCProvider(r.Context(), rc.user, id)
	})
}
