package web

import (
	"net/http"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/server/auth"
)

func init() { pageNames = append(pageNames, "settings") }

// settingsLink is one entry of the settings index: a page that exists
// elsewhere, its title and what is set there (catalogue keys).
type settingsLink struct {
	ID, Path, Title, Help string
	Admin                 bool // shown to administrators only
}

// settingsLinks are the pages the Settings menu entry leads to, so that
// notification settings are not reachable only through Alerts.
var settingsLinks = []settingsLink{
	{ID: "settings-alerts", Path: alertSettingsPath, Title: "settings.alerts", Help: "settings.alertsHelp", Admin: true},
	{ID: "settings-users", Path: "/users", Title: "users.title", Help: "settings.usersHelp", Admin: true},
	{ID: "settings-sso", Path: ssoSettingsPath, Title: "sso.title", Help: "settings.ssoHelp", Admin: true},
	{ID: "settings-agents", Path: "/agents", Title: "agents.title", Help: "settings.agentsHelp", Admin: true},
	{ID: "settings-branding", Path: "/clients", Title: "settings.branding", Help: "settings.brandingHelp", Admin: true},
	{ID: "settings-2fa", Path: "/account/2fa", Title: "settings.account", Help: "settings.accountHelp"},
	{ID: "settings-tokens", Path: "/account/tokens", Title: "tokens.title", Help: "settings.tokensHelp"},
	{ID: "settings-digest", Path: "/account/reports", Title: "settings.digest", Help: "settings.digestHelp"},
}

func (s *server) settingsRoutes(rt *auth.Router) {
	rt.HandleFunc("GET /settings", authz.Authenticated, s.withSession(s.settingsPage))
	s.ssoAdminRoutes(rt)
}

// settingsPage lists the settings pages the user may open.
func (s *server) settingsPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	admin := rc.user.Role == core.RoleAdmin
	var links []settingsLink
	for _, l := range settingsLinks {
		if admin || !l.Admin {
			links = append(links, l)
		}
	}
	v := s.view(r, rc.lang, rc)
	v.Title, v.Page = "settings.title", links
	s.render(w, http.StatusOK, "settings", v)
}
