package web

// settingsCatalog holds the strings of the settings index (/settings) and
// of why nothing is notified; init merges them into catalog.
var settingsCatalog = map[string]map[string]string{
	langEN: {
		"nav.settings":                      "Settings",
		"settings.title":                    "Settings",
		"settings.alerts":                   "Notifications",
		"settings.alertsHelp":               "Mail server (SMTP), who is notified, office hours, test mail, undelivered mails and the report logo.",
		"settings.usersHelp":                "Technicians and administrators, their roles and clients, two-factor sign-in for everyone.",
		"settings.agentsHelp":               "Agent builds and installers, updates of the agents.",
		"settings.branding":                 "Branding",
		"settings.brandingHelp":             "Each client's tray icon, product name and support contact: on the client's page.",
		"settings.account":                  "Two-factor sign-in",
		"settings.accountHelp":              "Your own account: sign-in with a one-time code.",
		"settings.tokensHelp":               "Your API tokens for scripts and integrations.",
		"settings.digest":                   "Daily digest",
		"settings.digestHelp":               "Whether you get the morning e-mail about your customers.",
		"alertset.mailOff":                  "No mail server configured: no e-mail is sent or queued — no alerts, daily or monthly reports, digests.",
		"alerts.notNotified.no_recipient":   "Not notified: no recipient",
		"alerts.notNotified.no_mail_server": "Not notified: no mail server configured",
	},
	langDE: {
		"nav.settings":                      "Einstellungen",
		"settings.title":                    "Einstellungen",
		"settings.alerts":                   "Benachrichtigungen",
		"settings.alertsHelp":               "Mailserver (SMTP), wer benachrichtigt wird, Bürozeiten, Testmail, nicht zugestellte Mails und das Berichtslogo.",
		"settings.usersHelp":                "Techniker und Administratoren, ihre Rollen und Kunden, Zwei-Faktor-Anmeldung für alle.",
		"settings.agentsHelp":               "Agent-Versionen und Installationspakete, Aktualisierung der Agenten.",
		"settings.branding":                 "Branding",
		"settings.brandingHelp":             "Tray-Symbol, Produktname und Support-Kontakt je Kunde: auf der Seite des Kunden.",
		"settings.account":                  "Zwei-Faktor-Anmeldung",
		"settings.accountHelp":              "Ihr eigenes Konto: Anmeldung mit Einmalcode.",
		"settings.tokensHelp":               "Ihre API-Token für Skripte und Anbindungen.",
		"settings.digest":                   "Tagesübersicht",
		"settings.digestHelp":               "Ob Sie morgens die E-Mail über Ihre Kunden bekommen.",
		"alertset.mailOff":                  "Kein Mailserver eingerichtet: Es wird keine E-Mail gesendet oder vorgemerkt – keine Alarme, Tages- und Monatsberichte, Tagesübersichten.",
		"alerts.notNotified.no_recipient":   "Nicht benachrichtigt: kein Empfänger",
		"alerts.notNotified.no_mail_server": "Nicht benachrichtigt: kein Mailserver eingerichtet",
	},
}

func init() {
	for lang, m := range settingsCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}
