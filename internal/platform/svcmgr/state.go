package svcmgr

import (
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// stateWordsDE are the German words for the managers' own state words
// (Windows SCM, systemd's active and sub states, SysV); words not listed
// (a unit's rarer sub states, result codes) stay as the manager wrote them.
var stateWordsDE = map[string]string{
	"stopped": "beendet", "start pending": "wird gestartet", "stop pending": "wird beendet",
	"running": "läuft", "continue pending": "wird fortgesetzt", "pause pending": "wird angehalten",
	"paused": "angehalten", "unknown": "unbekannt", "delayed start": "verzögerter Start",
	"active": "aktiv", "inactive": "inaktiv", "failed": "fehlgeschlagen", "activating": "wird gestartet",
	"deactivating": "wird beendet", "reloading": "wird neu geladen", "dead": "beendet", "exited": "beendet",
	"no status action": "keine Statusabfrage",
}

// StateText is a State in English (as the manager wrote it) and German:
// "inactive/dead, result exit-code" is "inaktiv/beendet, Ergebnis exit-code".
func StateText(state string) core.Text {
	parts := strings.Split(state, ", ")
	for i, part := range parts {
		if code, ok := strings.CutPrefix(part, "result "); ok {
			parts[i] = "Ergebnis " + code
			continue
		}
		words := strings.Split(part, "/")
		for j, w := range words {
			if de, ok := stateWordsDE[w]; ok {
				words[j] = de
			}
		}
		parts[i] = strings.Join(words, "/")
	}
	return core.Text{EN: state, DE: strings.Join(parts, ", ")}
}
