package web

// timeZoneCatalog holds the strings of the user's time zone (account page,
// footer); init merges them into catalog.
var timeZoneCatalog = map[string]map[string]string{
	langEN: {
		"tz.title":   "Time zone",
		"tz.help":    "The dashboard shows every time in this zone, and times you enter (maintenance windows, muting, time entries) are read in it. Enter an IANA name such as Europe/Berlin.",
		"tz.default": "You have not chosen a zone yet: your browser's zone is taken on your next page, until then Europe/Berlin.",
		"tz.label":   "Time zone",
		"tz.saved":   "Time zone saved.",
		"tz.footer":  "Times in",
	},
	langDE: {
		"tz.title":   "Zeitzone",
		"tz.help":    "Das Dashboard zeigt alle Zeiten in dieser Zone, und Zeiten, die Sie eingeben (Wartungsfenster, Stummschalten, Zeiterfassung), gelten in ihr. Geben Sie einen IANA-Namen wie Europe/Berlin ein.",
		"tz.default": "Sie haben noch keine Zone gewählt: Mit der nächsten Seite wird die Zone Ihres Browsers übernommen, bis dahin gilt Europe/Berlin.",
		"tz.label":   "Zeitzone",
		"tz.saved":   "Zeitzone gespeichert.",
		"tz.footer":  "Zeiten in",
	},
}

func init() {
	for lang, m := range timeZoneCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}
