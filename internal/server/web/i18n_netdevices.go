package web

// netDeviceCatalog holds the strings of the network device pages; init
// merges them into catalog.
var netDeviceCatalog = map[string]map[string]string{
	langEN: {
		"netdev.title":        "Network device",
		"netdev.new":          "Add network device",
		"netdev.edit":         "Edit network device",
		"netdev.name":         "Name",
		"netdev.address":      "Address",
		"netdev.type":         "Type",
		"netdev.probe":        "Probe",
		"netdev.serverOnly":   "server (website checks only)",
		"netdev.server":       "server",
		"netdev.probeHelp":    "An agent of this site runs the checks; without one, the server runs website checks only.",
		"netdev.rowsHelp":     "One row per check. Choosing the check shows its parameters; checks with a host use the address unless one is set. Secrets (community, passphrases, password, trap communities and users) are stored encrypted and never shown; leave them out to keep the stored value, except after changing a check's URL or host or the probe: then enter them again.",
		"netdev.set":          "set",
		"netdev.notSet":       "not set",
		"netdev.via":          "via",
		"netdev.runsOn":       "Runs on probe",
		"netdev.runsOnServer": "Runs on the server (website checks only)",
		"netdev.retire":       "Retire network device",
		"netdev.retireHelp":   "Its checks stop; its history stays.",
		"netdev.type.router":  "Router",
		"netdev.type.switch":  "Switch",
		"netdev.type.printer": "Printer",
		"netdev.type.nas":     "NAS",
		"netdev.type.ups":     "UPS",
		"netdev.type.website": "Website",
		"netdev.type.other":   "Other",
	},
	langDE: {
		"netdev.title":        "Netzwerkgerät",
		"netdev.new":          "Netzwerkgerät hinzufügen",
		"netdev.edit":         "Netzwerkgerät bearbeiten",
		"netdev.name":         "Name",
		"netdev.address":      "Adresse",
		"netdev.type":         "Typ",
		"netdev.probe":        "Prüf-Agent",
		"netdev.serverOnly":   "Server (nur Website-Prüfungen)",
		"netdev.server":       "Server",
		"netdev.probeHelp":    "Ein Agent dieses Standorts führt die Prüfungen aus; ohne ihn führt der Server nur Website-Prüfungen aus.",
		"netdev.rowsHelp":     "Eine Zeile je Prüfung. Die Wahl der Prüfung zeigt ihre Parameter; Prüfungen mit Host verwenden die Adresse, sofern keiner angegeben ist. Geheimnisse (Community, Passphrasen, Passwort, Trap-Communities und -Benutzer) werden verschlüsselt gespeichert und nie angezeigt; weggelassen bleibt der gespeicherte Wert erhalten, außer nach einer Änderung von URL oder Host einer Prüfung oder des Prüf-Agenten: dann erneut angeben.",
		"netdev.set":          "gesetzt",
		"netdev.notSet":       "nicht gesetzt",
		"netdev.via":          "über",
		"netdev.runsOn":       "Läuft auf Prüf-Agent",
		"netdev.runsOnServer": "Läuft auf dem Server (nur Website-Prüfungen)",
		"netdev.retire":       "Netzwerkgerät außer Betrieb nehmen",
		"netdev.retireHelp":   "Seine Prüfungen enden; sein Verlauf bleibt erhalten.",
		"netdev.type.router":  "Router",
		"netdev.type.switch":  "Switch",
		"netdev.type.printer": "Drucker",
		"netdev.type.nas":     "NAS",
		"netdev.type.ups":     "USV",
		"netdev.type.website": "Website",
		"netdev.type.other":   "Sonstiges",
	},
}

func init() {
	for lang, m := range netDeviceCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}
