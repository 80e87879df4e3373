package web

// historyCatalog holds the strings of the check history page; init merges
// them into catalog. history.capped, history.truncated and history.rollup
// are fmt formats.
var historyCatalog = map[string]map[string]string{
	langEN: {
		"history.title":     "History",
		"history.link":      "Show history",
		"history.range":     "Period",
		"history.range.24h": "24 hours",
		"history.range.7d":  "7 days",
		"history.range.30d": "30 days",
		"history.chart":     "Values over time",
		"history.latest":    "Latest results",
		"history.time":      "Time",
		"history.none":      "No results in this period.",
		"history.noValues":  "This check reports no numbers to chart; its results are listed below.",
		"history.capped":    "Showing the latest %s of %s results in this period.",
		"history.truncated": "The period holds more results than shown; the chart covers the latest %s.",
		"history.rollup":    "Hourly summary of %s result (worst status, mean value); lowest %s, highest %s.|Hourly summary of %s results (worst status, mean value); lowest %s, highest %s.",
	},
	langDE: {
		"history.title":     "Verlauf",
		"history.link":      "Verlauf anzeigen",
		"history.range":     "Zeitraum",
		"history.range.24h": "24 Stunden",
		"history.range.7d":  "7 Tage",
		"history.range.30d": "30 Tage",
		"history.chart":     "Werte im Zeitverlauf",
		"history.latest":    "Neueste Ergebnisse",
		"history.time":      "Zeitpunkt",
		"history.none":      "Keine Ergebnisse in diesem Zeitraum.",
		"history.noValues":  "Diese Prüfung meldet keine Zahlenwerte für ein Diagramm; ihre Ergebnisse stehen unten.",
		"history.capped":    "Angezeigt werden die neuesten %s von %s Ergebnissen in diesem Zeitraum.",
		"history.truncated": "Der Zeitraum enthält mehr Ergebnisse als angezeigt; das Diagramm umfasst die neuesten %s.",
		"history.rollup":    "Stundenzusammenfassung aus %s Ergebnis (schlechtester Status, Mittelwert); niedrigster %s, höchster %s.|Stundenzusammenfassung aus %s Ergebnissen (schlechtester Status, Mittelwert); niedrigster %s, höchster %s.",
	},
}

func init() {
	for lang, m := range historyCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}
