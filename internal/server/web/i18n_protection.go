package web

// protectionCatalog holds the strings of the protection columns and page;
// init merges them into catalog.
var protectionCatalog = map[string]map[string]string{
	langEN: {
		"protection.title":        "Protection",
		"protection.help":         "Machines whose antivirus or backup is not OK or not monitored, per customer. Antivirus shows the signature age, backup the time since the last successful backup.",
		"protection.antivirus":    "Antivirus",
		"protection.backup":       "Backup",
		"protection.notMonitored": "not monitored",
		"protection.count":        "%d of %d device without current antivirus or backup|%d of %d devices without current antivirus or backup",
		"protection.allClients":   "All customers",
		"protection.filter":       "Show",
		"protection.allGood":      "Every machine has current antivirus and backup.",
		"protection.noDevices":    "No devices.",
		"protection.checkedAt":    "Checked",
	},
	langDE: {
		"protection.title":        "Schutz",
		"protection.help":         "Geräte, deren Virenschutz oder Datensicherung nicht in Ordnung ist oder nicht überwacht wird, je Kunde. Beim Virenschutz steht das Alter der Signaturen, bei der Datensicherung die Zeit seit der letzten erfolgreichen Sicherung.",
		"protection.antivirus":    "Virenschutz",
		"protection.backup":       "Datensicherung",
		"protection.notMonitored": "nicht überwacht",
		"protection.count":        "%d von %d Gerät ohne aktuellen Virenschutz oder aktuelle Datensicherung|%d von %d Geräten ohne aktuellen Virenschutz oder aktuelle Datensicherung",
		"protection.allClients":   "Alle Kunden",
		"protection.filter":       "Anzeigen",
		"protection.allGood":      "Alle Geräte haben aktuellen Virenschutz und eine aktuelle Datensicherung.",
		"protection.noDevices":    "Keine Geräte.",
		"protection.checkedAt":    "Geprüft",
	},
}

func init() {
	for lang, m := range protectionCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}
