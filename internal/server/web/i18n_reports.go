package web

// reportsCatalog holds the strings of the daily report's settings and
// preview and of the digest choice; init merges them into catalog.
var reportsCatalog = map[string]map[string]string{
	langEN: {
		"report.title":          "Daily report",
		"report.help":           "Every morning the customer's contacts get an e-mail of the last 24 hours: critical events, failed checks, outages and offline devices.",
		"report.preview":        "Preview the report of the last 24 hours",
		"report.enabled":        "Send daily",
		"report.off":            "not sent",
		"report.recipients":     "Recipients",
		"report.recipientsHelp": "E-mail addresses separated by commas; empty: the contact e-mail.",
		"report.hour":           "Time",
		"report.language":       "Language",
		"report.sendsTo":        "Sent to",
		"report.none":           "nobody",
		"report.send":           "Send now",
		"report.sent":           "The report is being sent to its recipients.",
		"report.noRecipients":   "This customer has no report recipient and no contact e-mail.",
		"report.invalid":        "Check the report's recipients (e-mail addresses) and time (HH:MM).",
		"digest.title":          "Reports",
		"digest.label":          "Send me the daily digest of my customers at %s",
		"digest.help":           "The digest lists, per customer, the failing and offline devices and the number of critical events.",
		"digest.notForRole":     "Only administrators and technicians get the daily digest.",
		"digest.saved":          "Saved.",
	},
	langDE: {
		"report.title":          "Tagesbericht",
		"report.help":           "Jeden Morgen erhalten die Kontakte des Kunden eine E-Mail über die letzten 24 Stunden: kritische Ereignisse, fehlgeschlagene Prüfungen, Störungen und Offline-Geräte.",
		"report.preview":        "Bericht der letzten 24 Stunden ansehen",
		"report.enabled":        "Täglich senden",
		"report.off":            "wird nicht gesendet",
		"report.recipients":     "Empfänger",
		"report.recipientsHelp": "E-Mail-Adressen, durch Kommas getrennt; leer: die Kontakt-E-Mail.",
		"report.hour":           "Uhrzeit",
		"report.language":       "Sprache",
		"report.sendsTo":        "Geht an",
		"report.none":           "niemanden",
		"report.send":           "Jetzt senden",
		"report.sent":           "Der Bericht wird an seine Empfänger gesendet.",
		"report.noRecipients":   "Dieser Kunde hat keinen Berichtsempfänger und keine Kontakt-E-Mail.",
		"report.invalid":        "Bitte die Empfänger (E-Mail-Adressen) und die Uhrzeit (HH:MM) des Berichts prüfen.",
		"digest.title":          "Berichte",
		"digest.label":          "Mir täglich um %s die Übersicht meiner Kunden senden",
		"digest.help":           "Die Übersicht nennt je Kunde die gestörten und die Offline-Geräte und die Zahl der kritischen Ereignisse.",
		"digest.notForRole":     "Die tägliche Übersicht erhalten nur Administratoren und Techniker.",
		"digest.saved":          "Gespeichert.",
	},
}

func init() {
	for lang, m := range reportsCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}
