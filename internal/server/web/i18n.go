package web

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/plural"
)

// Languages the dashboard speaks.
const (
	langEN = "en"
	langDE = "de"
)

// catalog holds every UI string per language. Both maps have the same keys
// (a test checks that); a missing key shows as the key itself.
var catalog = map[string]map[string]string{
	langEN: {
		"app.name":           "Wacht",
		"nav.overview":       "Overview",
		"nav.logout":         "Log out",
		"nav.language":       "Language",
		"login.title":        "Sign in",
		"login.email":        "E-mail",
		"login.password":     "Password",
		"login.submit":       "Sign in",
		"login.failed":       "Wrong e-mail or password.",
		"login.expired":      "The sign-in form had expired. Please try again.",
		"login.throttled":    "Too many failed sign-ins. Please wait a few minutes.",
		"overview.title":     "Devices",
		"overview.none":      "No devices enrolled yet. Use “Add device” on a site (Clients) or “wacht token create” to enroll an agent.",
		"overview.noDevice":  "No devices at this site.",
		"col.device":         "Device",
		"col.os":             "Operating system",
		"col.state":          "Connection",
		"col.status":         "Status",
		"col.lastSeen":       "Last seen",
		"col.check":          "Check",
		"col.instance":       "Instance",
		"col.value":          "Value",
		"col.message":        "Message",
		"col.at":             "Latest result",
		"col.since":          "Since",
		"client":             "Client",
		"site":               "Site",
		"online":             "online",
		"offline":            "offline",
		"status.ok":          "OK",
		"status.warning":     "Warning",
		"status.failure":     "Failure",
		"status.error":       "Check error",
		"status.unknown":     "Unknown",
		"status.unsupported": "Not supported",
		"device.facts":       "Facts",
		"device.platform":    "Platform",
		"device.arch":        "Architecture",
		"device.role":        "Role",
		"device.agent":       "Agent version",
		"device.enrolled":    "Enrolled",
		"device.duplicateOf": "Possible duplicate of device",
		"device.duplicateHelp": "This device enrolled with that device's machine ID but without proving that device's key: " +
			"a reinstalled machine that lost its key, a cloned machine, or an impostor. Retire the one that is no longer in use.",
		"device.checks":    "Checks",
		"device.noChecks":  "No check results yet.",
		"device.back":      "All devices",
		"run.button":       "Run checks now",
		"run.ok":           "Checks requested. New results appear below shortly.",
		"run.offline":      "The agent is offline, so it cannot run checks now.",
		"run.failed":       "The agent could not run the checks.",
		"run.forbidden":    "Your role may view devices but not run checks.",
		"live.updated":     "Updated",
		"live.refresh":     "Refresh",
		"never":            "never",
		"error.title":      "Error",
		"error.notFound":   "This page or device does not exist.",
		"error.forbidden":  "This action is not allowed. If you submitted a form, reload the page and try again.",
		"error.invalid":    "The request was not valid.",
		"error.conflict":   "This cannot be done.",
		"error.internal":   "Something went wrong on the server. The error has been logged.",
		"check.cpu":        "CPU",
		"check.memory":     "Memory",
		"check.disk":       "Disk space",
		"check.uptime":     "Uptime",
		"role.server":      "Server",
		"role.workstation": "Workstation",
		"role.notebook":    "Notebook",
		"role.network":     "Network device",
	},
	langDE: {
		"app.name":           "Wacht",
		"nav.overview":       "Übersicht",
		"nav.logout":         "Abmelden",
		"nav.language":       "Sprache",
		"login.title":        "Anmelden",
		"login.email":        "E-Mail",
		"login.password":     "Passwort",
		"login.submit":       "Anmelden",
		"login.failed":       "E-Mail oder Passwort ist falsch.",
		"login.expired":      "Das Anmeldeformular war abgelaufen. Bitte erneut versuchen.",
		"login.throttled":    "Zu viele fehlgeschlagene Anmeldungen. Bitte warten Sie einige Minuten.",
		"overview.title":     "Geräte",
		"overview.none":      "Noch keine Geräte registriert. Registrieren Sie einen Agenten über „Gerät hinzufügen“ bei einem Standort (Kunden) oder mit „wacht token create“.",
		"overview.noDevice":  "Keine Geräte an diesem Standort.",
		"col.device":         "Gerät",
		"col.os":             "Betriebssystem",
		"col.state":          "Verbindung",
		"col.status":         "Status",
		"col.lastSeen":       "Zuletzt gesehen",
		"col.check":          "Prüfung",
		"col.instance":       "Instanz",
		"col.value":          "Wert",
		"col.message":        "Meldung",
		"col.at":             "Letztes Ergebnis",
		"col.since":          "Seit",
		"client":             "Kunde",
		"site":               "Standort",
		"online":             "online",
		"offline":            "offline",
		"status.ok":          "OK",
		"status.warning":     "Warnung",
		"status.failure":     "Fehler",
		"status.error":       "Prüffehler",
		"status.unknown":     "Unbekannt",
		"status.unsupported": "Nicht unterstützt",
		"device.facts":       "Eckdaten",
		"device.platform":    "Plattform",
		"device.arch":        "Architektur",
		"device.role":        "Rolle",
		"device.agent":       "Agent-Version",
		"device.enrolled":    "Registriert",
		"device.duplicateOf": "Mögliches Duplikat von Gerät",
		"device.duplicateHelp": "Dieses Gerät hat sich mit der Maschinen-ID jenes Geräts registriert, ohne dessen Schlüssel nachzuweisen: " +
			"ein neu installierter Rechner ohne seinen Schlüssel, ein geklonter Rechner oder ein Angreifer. Nehmen Sie das nicht mehr genutzte Gerät außer Betrieb.",
		"device.checks":    "Prüfungen",
		"device.noChecks":  "Noch keine Prüfergebnisse.",
		"device.back":      "Alle Geräte",
		"run.button":       "Prüfungen jetzt ausführen",
		"run.ok":           "Prüfungen angefordert. Neue Ergebnisse erscheinen in Kürze unten.",
		"run.offline":      "Der Agent ist offline und kann die Prüfungen jetzt nicht ausführen.",
		"run.failed":       "Der Agent konnte die Prüfungen nicht ausführen.",
		"run.forbidden":    "Ihre Rolle darf Geräte ansehen, aber keine Prüfungen starten.",
		"live.updated":     "Aktualisiert",
		"live.refresh":     "Neu laden",
		"never":            "nie",
		"error.title":      "Fehler",
		"error.notFound":   "Diese Seite oder dieses Gerät gibt es nicht.",
		"error.forbidden":  "Diese Aktion ist nicht erlaubt. Falls Sie ein Formular abgeschickt haben, laden Sie die Seite neu und versuchen Sie es erneut.",
		"error.invalid":    "Die Anfrage war ungültig.",
		"error.conflict":   "Das ist nicht möglich.",
		"error.internal":   "Auf dem Server ist ein Fehler aufgetreten. Er wurde protokolliert.",
		"check.cpu":        "Prozessor",
		"check.memory":     "Arbeitsspeicher",
		"check.disk":       "Speicherplatz",
		"check.uptime":     "Laufzeit",
		"role.server":      "Server",
		"role.workstation": "Arbeitsplatz",
		"role.notebook":    "Notebook",
		"role.network":     "Netzwerkgerät",
	},
}

// Lang is the language and time zone of one response; templates call its
// methods to translate strings and format dates and numbers. Every time the
// dashboard shows goes through Time, Clock or Zone, so that it is in the
// user's zone.
type Lang struct {
	code string
	zone *time.Location // nil: defaultZone
}

// langOf is the language code in the default time zone.
func langOf(code string) Lang { return Lang{code: code} }

// defaultZoneName is the zone of users who have none yet (until their
// browser tells theirs) and of pages without a user.
const defaultZoneName = core.DefaultMaintenanceZone

// In is l showing times in zone.
func (l Lang) In(zone *time.Location) Lang {
	l.zone = zone
	return l
}

// Zone is the time zone times are shown and entered in.
func (l Lang) Zone() *time.Location {
	if l.zone != nil {
		return l.zone
	}
	if loc, err := core.LoadZone(defaultZoneName); err == nil {
		return loc
	}
	return time.UTC // no zone database on this machine
}

// ZoneName is the IANA name of Zone, for the page footer and scripts.
func (l Lang) ZoneName() string { return l.Zone().String() }

// userZone is the zone u chose or the browser reported; a name this
// machine no longer knows falls back to the default.
func userZone(u core.User) *time.Location {
	if u.TimeZone != "" {
		if loc, err := core.LoadZone(u.TimeZone); err == nil {
			return loc
		}
	}
	return nil
}

// T translates a catalog key.
func (l Lang) T(key string) string {
	if s, ok := catalog[l.code][key]; ok {
		return s
	}
	if s, ok := catalog[langEN][key]; ok {
		return s
	}
	return key
}

// Code is the language's code for the html lang attribute.
func (l Lang) Code() string { return l.code }

// Time formats a timestamp the way the language writes dates.
func (l Lang) Time(t time.Time) string {
	if t.IsZero() {
		return l.T("never")
	}
	t = t.In(l.Zone())
	if l.code == langDE {
		return t.Format("02.01.2006, 15:04:05")
	}
	return t.Format("Jan 2, 2006, 3:04:05 PM")
}

// Day is t's date (YYYY-MM-DD) in the zone, for date inputs.
func (l Lang) Day(t time.Time) string { return t.In(l.Zone()).Format(time.DateOnly) }

// ParseTime reads a time entered in a form (date or datetime-local) as a
// time in the zone.
func (l Lang) ParseTime(layout, v string) (time.Time, error) {
	return time.ParseInLocation(layout, v, l.Zone())
}

// Clock formats just the time of day.
func (l Lang) Clock(t time.Time) string {
	t = t.In(l.Zone())
	if l.code == langDE {
		return t.Format("15:04:05")
	}
	return t.Format("3:04:05 PM")
}

// Status names a check status.
func (l Lang) Status(s core.Status) string { return l.T("status." + s.String()) }

// Check names a check type, falling back to its technical name.
func (l Lang) Check(name string) string {
	if s, ok := catalog[l.code]["check."+name]; ok {
		return s
	}
	return name
}

// Role names a device role, falling back to its technical name.
func (l Lang) Role(role string) string {
	if s, ok := catalog[l.code]["role."+role]; ok {
		return s
	}
	return role
}

// Value formats a measured value with its unit (German uses a decimal
// comma); nil gives "–".
func (l Lang) Value(v *float64, unit string) string {
	if v == nil {
		return "–"
	}
	s := strconv.FormatFloat(*v, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if l.code == langDE {
		s = strings.Replace(s, ".", ",", 1)
	}
	if unit == "" {
		return s
	}
	if unit == "%" && l.code == langEN {
		return s + "%"
	}
	return s + " " + plural.Unit(l.code, unit, *v)
}

// N formats the counted phrase key (singular|plural, package plural) in
// the form for n, filled with args (n itself without args): "1 Gerät",
// "4 Geräte".
func (l Lang) N(key string, n int, args ...any) string {
	return plural.Sprintf(l.T(key), n, args...)
}

// JobTarget words what a job runs on, stored as "devices", "tag \"x\"",
// "site 3" or "client 2" (service.runTargets): "Standort 3".
func (l Lang) JobTarget(target string) string {
	kind, rest, _ := strings.Cut(target, " ")
	switch kind {
	case "devices":
		return l.T("jobs.target.devices")
	case "tag":
		return l.T("jobs.target.tag") + " " + rest
	case "site", "client":
		return l.T(kind) + " " + rest
	}
	return target
}

// Message picks a check message in the language.
func (l Lang) Message(t core.Text) string { return t.In(l.code) }

// pickLang chooses the response language: the user's setting if any, else
// the browser's preference between German and English, else English.
func pickLang(userLang, acceptLanguage string) Lang {
	switch userLang {
	case langDE, langEN:
		return langOf(userLang)
	}
	type pref struct {
		lang string
		q    float64
	}
	var prefs []pref
	for _, part := range strings.Split(acceptLanguage, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		primary, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if primary != langDE && primary != langEN {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				continue
			}
			q = f
		}
		if q > 0 {
			prefs = append(prefs, pref{primary, q})
		}
	}
	sort.SliceStable(prefs, func(i, j int) bool { return prefs[i].q > prefs[j].q })
	if len(prefs) > 0 && prefs[0].lang == langDE {
		return langOf(langDE)
	}
	return langOf(langEN)
}
