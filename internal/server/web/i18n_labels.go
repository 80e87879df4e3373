package web

// labelCatalog holds display names of check types and user roles and the
// labels of the account navigation; init merges them into catalog. Check
// names are what a technician reads in the checks table, so every
// registered check type has one in both languages (a test checks that).
var labelCatalog = map[string]map[string]string{
	langEN: {
		"check.script":          "Script",
		"check.services":        "Services",
		"check.growth":          "Data growth",
		"check.smart":           "Disk health (S.M.A.R.T.)",
		"check.eventlog":        "Critical events",
		"check.logins":          "Failed log-ins",
		"check.antivirus":       "Antivirus",
		"check.backup":          "Backup",
		"check.ping":            "Ping",
		"check.program":         "Watched program",
		"check.website":         "Website",
		"check.snmp":            "SNMP",
		"check.snmptrap":        "SNMP traps",
		"check.agent":           "Agent",
		"userrole.admin":        "Administrator",
		"userrole.technician":   "Technician",
		"userrole.readonly":     "Read-only",
		"nav.account":           "Account",
		"nav.main":              "Main navigation",
		"device.manage":         "Manage",
		"device.manageHelp":     "Tags are separated by commas.",
		"device.noTags":         "none",
		"device.retireHelp":     "Retiring removes the device from monitoring and tells its agent to uninstall itself. This cannot be undone.",
		"users.2fa":             "2FA",
		"users.2faOn":           "on",
		"users.2faOff":          "off",
		"users.none":            "none",
		"users.require2faHelp":  "When mandatory, users without a second factor must set one up at their next sign-in.",
		"users.security":        "Sign-in security",
		"client.danger":         "Delete client",
		"clients.reportDE":      "German",
		"clients.reportEN":      "English",
		"policy.delete":         "Delete policy",
		"confirm.deleteNow":     "Yes, delete",
		"confirm.missing":       "Nothing was deleted: the deletion was not confirmed. Go back and confirm the question.",
		"policy.deleteQuestion": "Delete the policy “%s”? Clients, sites and devices it is assigned to lose its checks, tasks and software.",
		"tokens.none":           "No API tokens yet.",
	},
	langDE: {
		"check.script":          "Skript",
		"check.services":        "Dienste",
		"check.growth":          "Datenwachstum",
		"check.smart":           "Festplattenzustand (S.M.A.R.T.)",
		"check.eventlog":        "Kritische Ereignisse",
		"check.logins":          "Fehlgeschlagene Anmeldungen",
		"check.antivirus":       "Virenschutz",
		"check.backup":          "Datensicherung",
		"check.ping":            "Ping",
		"check.program":         "Überwachtes Programm",
		"check.website":         "Website",
		"check.snmp":            "SNMP",
		"check.snmptrap":        "SNMP-Traps",
		"check.agent":           "Agent",
		"userrole.admin":        "Administrator",
		"userrole.technician":   "Techniker",
		"userrole.readonly":     "Nur lesen",
		"nav.account":           "Konto",
		"nav.main":              "Hauptnavigation",
		"device.manage":         "Verwalten",
		"device.manageHelp":     "Schlagwörter durch Kommas trennen.",
		"device.noTags":         "keine",
		"device.retireHelp":     "Beim Stilllegen verschwindet das Gerät aus der Überwachung und sein Agent deinstalliert sich. Das lässt sich nicht rückgängig machen.",
		"users.2fa":             "2FA",
		"users.2faOn":           "an",
		"users.2faOff":          "aus",
		"users.none":            "keine",
		"users.require2faHelp":  "Ist sie verpflichtend, müssen Benutzer ohne zweiten Faktor ihn bei der nächsten Anmeldung einrichten.",
		"users.security":        "Anmeldesicherheit",
		"client.danger":         "Kunde löschen",
		"clients.reportDE":      "Deutsch",
		"clients.reportEN":      "Englisch",
		"policy.delete":         "Richtlinie löschen",
		"confirm.deleteNow":     "Ja, löschen",
		"confirm.missing":       "Nichts wurde gelöscht: das Löschen wurde nicht bestätigt. Gehen Sie zurück und bestätigen Sie die Frage.",
		"policy.deleteQuestion": "Die Richtlinie „%s“ löschen? Kunden, Standorte und Geräte, denen sie zugewiesen ist, verlieren ihre Prüfungen, Aufgaben und Software.",
		"tokens.none":           "Noch keine API-Token.",
	},
}

func init() {
	for lang, m := range labelCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}
