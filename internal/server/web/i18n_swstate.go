package web

// swstateCatalog holds the strings of the software state pages
// (software.go); init merges them into catalog.
var swstateCatalog = map[string]map[string]string{
	langEN: {
		"swstate.title":          "Software",
		"swstate.link":           "Software",
		"swstate.help":           "Per package: what the policies want (kept by the agent, which reports it as a check), and how the last deployment ended. A package no policy wants shows its last deployment only.",
		"swstate.package":        "Package",
		"swstate.wanted":         "Wanted",
		"swstate.present":        "installed",
		"swstate.absent":         "absent",
		"swstate.pending":        "Pending",
		"swstate.lastDeployment": "Last deployment",
		"swstate.none":           "No policy wants software here and none was deployed.",
		"swstate.noDevices":      "This client has no active devices.",
	},
	langDE: {
		"swstate.title":          "Software",
		"swstate.link":           "Software",
		"swstate.help":           "Je Paket: was die Richtlinien verlangen (vom Agenten durchgesetzt, der es als Prüfung meldet), und wie die letzte Verteilung endete. Ein Paket, das keine Richtlinie verlangt, zeigt nur seine letzte Verteilung.",
		"swstate.package":        "Paket",
		"swstate.wanted":         "Soll",
		"swstate.present":        "installiert",
		"swstate.absent":         "nicht installiert",
		"swstate.pending":        "Ausstehend",
		"swstate.lastDeployment": "Letzte Verteilung",
		"swstate.none":           "Keine Richtlinie verlangt hier Software, und es wurde keine verteilt.",
		"swstate.noDevices":      "Dieser Kunde hat keine aktiven Geräte.",
	},
}

func init() {
	for lang, m := range swstateCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}
