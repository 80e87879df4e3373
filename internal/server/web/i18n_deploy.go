package web

// deployCatalog holds the strings of deploying packages (the deploy
// dialog, package jobs and runs); init merges them into catalog.
var deployCatalog = map[string]map[string]string{
	langEN: {
		"deploy.title":                 "Deploy package",
		"deploy.button":                "Deploy",
		"deploy.uninstallButton":       "Uninstall from devices",
		"deploy.pageHelp":              "Install or remove this package on devices, sites, clients or tagged devices as a job with live progress. Every run is signed; offline devices run it when they connect, until the job expires.",
		"deploy.action":                "Action",
		"deploy.install":               "Install",
		"deploy.uninstall":             "Uninstall",
		"deploy.help":                  "Devices of another operating system or architecture, or that disabled software installation locally, are skipped. If the package is changed before a device runs the job, that device refuses it.",
		"deploy.submit":                "Deploy",
		"deploy.job.package_install":   "install",
		"deploy.job.package_uninstall": "uninstall",
		"deploy.reboot":                "restart needed",
		"deploy.detected":              "Detected: %s %s",
		"deploy.retryAt":               "Another installation was running; tries again at %s",
		"deploy.state.installed":       "installed",
		"deploy.state.absent":          "absent",
		"deploy.state.older":           "older version",
		"deploy.state.error":           "detection failed",
		"deploy.state.unsupported":     "detection unsupported",
		"package.deleteForce":          "Also cancel deployments still waiting for their devices",
	},
	langDE: {
		"deploy.title":                 "Paket verteilen",
		"deploy.button":                "Verteilen",
		"deploy.uninstallButton":       "Von Geräten deinstallieren",
		"deploy.pageHelp":              "Installieren oder entfernen Sie dieses Paket auf Geräten, Standorten, Kunden oder markierten Geräten als Auftrag mit Live-Fortschritt. Jeder Lauf ist signiert; Geräte, die offline sind, führen ihn aus, sobald sie sich verbinden, bis der Auftrag abläuft.",
		"deploy.action":                "Aktion",
		"deploy.install":               "Installieren",
		"deploy.uninstall":             "Deinstallieren",
		"deploy.help":                  "Geräte mit anderem Betriebssystem oder anderer Architektur oder mit lokal gesperrter Softwareinstallation werden übersprungen. Wird das Paket geändert, bevor ein Gerät den Auftrag ausführt, lehnt dieses Gerät ihn ab.",
		"deploy.submit":                "Verteilen",
		"deploy.job.package_install":   "installieren",
		"deploy.job.package_uninstall": "deinstallieren",
		"deploy.reboot":                "Neustart nötig",
		"deploy.detected":              "Erkannt: %s %s",
		"deploy.retryAt":               "Eine andere Installation lief; neuer Versuch um %s",
		"deploy.state.installed":       "installiert",
		"deploy.state.absent":          "nicht vorhanden",
		"deploy.state.older":           "ältere Version",
		"deploy.state.error":           "Erkennung fehlgeschlagen",
		"deploy.state.unsupported":     "Erkennung nicht unterstützt",
		"package.deleteForce":          "Auch Verteilungen abbrechen, die noch auf ihre Geräte warten",
	},
}

func init() {
	for lang, m := range deployCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}
