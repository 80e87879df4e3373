package web

// softwareCatalog holds the strings of the desired software states in the
// policy pages (issue 17); init merges them into catalog.
var softwareCatalog = map[string]map[string]string{
	langEN: {
		"policy.software":     "Software",
		"policy.softwareHelp": "One row per package: “present” makes the agent install it (at least in the minimum version, if given; else the package's detection rule decides), “absent” makes it remove it. The agent checks on its schedule, retries with back-off and reports the state as a check. A row with an inherited package overrides it, with “exclude” it removes it.",
		"software.package":    "Package",
		"software.state":      "Desired state",
		"software.present":    "present",
		"software.absent":     "absent",
		"software.minVersion": "Minimum version",
		"software.skipped":    "does not apply",
		"software.none":       "No desired software.",
	},
	langDE: {
		"policy.software":     "Software",
		"policy.softwareHelp": "Eine Zeile je Paket: „installiert“ lässt den Agenten es installieren (mindestens in der Mindestversion, falls angegeben; sonst entscheidet die Erkennungsregel des Pakets), „nicht installiert“ lässt ihn es entfernen. Der Agent prüft nach seinem Zeitplan, wiederholt mit wachsendem Abstand und meldet den Zustand als Prüfung. Eine Zeile mit einem geerbten Paket überschreibt es, mit „ausschließen“ entfernt sie es.",
		"software.package":    "Paket",
		"software.state":      "Sollzustand",
		"software.present":    "installiert",
		"software.absent":     "nicht installiert",
		"software.minVersion": "Mindestversion",
		"software.skipped":    "trifft nicht zu",
		"software.none":       "Keine Soll-Software.",
	},
}

func init() {
	for lang, m := range softwareCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}
