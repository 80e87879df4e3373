package web

// checkFormCatalog holds the strings of the check parameter forms
// (checkform.go); init merges them into catalog.
var checkFormCatalog = map[string]map[string]string{
	langEN: {
		"form.required":     "required",
		"form.secretSet":    "set — leave empty to keep",
		"form.default":      "default:",
		"form.key":          "Name",
		"form.value":        "Value",
		"form.onePerLine":   "One entry per line.",
		"form.example":      "e.g.",
		"form.remove":       "Remove this entry",
		"form.add":          "Add an entry",
		"form.locked":       "Only an administrator may change this",
		"form.advanced":     "Advanced: edit as JSON",
		"form.advancedHelp": "When you change this JSON, it is saved instead of the fields above.",
		"unit.days":         "days",
		"unit.events":       "events",
		"unit.log-ins":      "log-ins",
		"unit.h":            "h",
	},
	langDE: {
		"form.required":     "erforderlich",
		"form.secretSet":    "gesetzt — leer lassen, um es zu behalten",
		"form.default":      "Standard:",
		"form.key":          "Name",
		"form.value":        "Wert",
		"form.onePerLine":   "Ein Eintrag pro Zeile.",
		"form.example":      "z. B.",
		"form.remove":       "Diesen Eintrag entfernen",
		"form.add":          "Eintrag hinzufügen",
		"form.locked":       "Nur ein Administrator darf dies ändern",
		"form.advanced":     "Erweitert: als JSON bearbeiten",
		"form.advancedHelp": "Wenn Sie dieses JSON ändern, wird es statt der Felder oben gespeichert.",
		"unit.days":         "Tage",
		"unit.events":       "Ereignisse",
		"unit.log-ins":      "Anmeldungen",
		"unit.h":            "Std.",
	},
}

func init() {
	for lang, m := range checkFormCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}
