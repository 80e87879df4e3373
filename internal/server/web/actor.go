package web

import "strings"

// actorCatalog names the callers that are not a user; init merges it into
// catalog.
var actorCatalog = map[string]map[string]string{
	langEN: {
		"actor.cli":       "command line",
		"actor.agent":     "agent",
		"actor.server":    "server",
		"actor.anonymous": "nobody signed in",
	},
	langDE: {
		"actor.cli":       "Kommandozeile",
		"actor.agent":     "Agent",
		"actor.server":    "Server",
		"actor.anonymous": "niemand angemeldet",
	},
}

func init() {
	for lang, m := range actorCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}

// Actor shows who did something (service.Actor's "user:<e-mail>", "cli",
// "agent", "server") the way a person reads it: the user's e-mail without
// the technical prefix, the others by name in the language. Only the audit
// page shows the raw actor, as the key it is searched by.
func (l Lang) Actor(actor string) string {
	if email, ok := strings.CutPrefix(actor, "user:"); ok {
		return email
	}
	if s, ok := catalog[l.code]["actor."+actor]; ok {
		return s
	}
	return actor
}
