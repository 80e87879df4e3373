package web

// softwareCatalog holds the strings of the software state pages
// (software.go); init merges them into catalog.
var softwareCatalog = map[string]map[string]string{
	langEN: {
		"software.title":          "Software",
		"software.link":           "Software",
		"software.help":           "Per package: what the policies want (kept by the agent, which reports it as a check), and how the last deployment ended. A package no policy wants shows its last deployment only.",
		"software.package":        "Package",
		"software.wanted":         "Wanted",
		"software.present":        "installed",
		"software.absent":         "absent",
		"software.pending":        "Pending",
		"software.lastDeployment": "Last deployment",
		"software.none":           "No policy wants software here and none was deployed.",
		"software.noDevices":      "This client has no active devices.",
	},
	langDE: {
		"software.title":          "Software",
		"software.link":           "Software",
		"software.help":           "Je Paket: was die Richtlinien verlangen (vom Agenten durchgesetzt, der es als Prüfung meldet), und wie die letzte Verteilung endete. Ein Paket, das keine Richtlinie verlangt, zeigt nur seine letzte Verteilung.",
		"software.package":        "Paket",
		"software.wanted":         "Soll",
		"software.present":        "installiert",
		"software.absent":         "nicht installiert",
		"software.pending":        "Ausstehend",
		"software.lastDeployment": "Letzte Verteilung",
		"software.none":           "Keine Richtlinie verlangt hier Software, und es wurde keine verteilt.",
		"software.noDevices":      "Dieser Kunde hat keine aktiven Geräte.",
	},
}

func init() {
	for lang, m := range softwareCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}
