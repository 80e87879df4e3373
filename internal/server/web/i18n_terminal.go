package web

// terminalCatalog holds the strings of the terminal and the replay of
// recorded sessions; init merges them into catalog.
var terminalCatalog = map[string]map[string]string{
	langEN: {
		"term.title":       "Terminal",
		"term.shell":       "Shell",
		"term.connect":     "Open new session",
		"term.connecting":  "Connecting…",
		"term.open":        "Connected:",
		"term.closed":      "The session has ended.",
		"term.unsupported": "This browser cannot show the terminal.",
		"term.offline":     "The device is not connected; a terminal can be opened while it is online.",
		"term.help":        "The shell runs in the background on the device, invisible to its user, as the agent's account. The session is recorded (input and output) and ends when you close this page. Copy: Ctrl+Shift+C, paste: Ctrl+Shift+V.",
		"rec.title":        "Terminal recording",
		"rec.replay":       "Replay",
		"rec.started":      "Started",
		"rec.ended":        "Ended",
		"rec.running":      "still running or interrupted",
		"rec.size":         "Size",
		"rec.truncated":    "truncated",
		"rec.play":         "Play",
		"rec.speed":        "Speed",
		"rec.end":          "Show all",
		"rec.download":     "Download .cast",
		"rec.done":         "Replay finished.",
		"rec.help":         "Output and the keys typed, as asciicast v2. Opening a recording is logged in the audit log.",
	},
	langDE: {
		"term.title":       "Terminal",
		"term.shell":       "Shell",
		"term.connect":     "Neue Sitzung öffnen",
		"term.connecting":  "Verbinde…",
		"term.open":        "Verbunden:",
		"term.closed":      "Die Sitzung ist beendet.",
		"term.unsupported": "Dieser Browser kann das Terminal nicht anzeigen.",
		"term.offline":     "Das Gerät ist nicht verbunden; ein Terminal lässt sich öffnen, solange es online ist.",
		"term.help":        "Die Shell läuft im Hintergrund auf dem Gerät, unsichtbar für dessen Benutzer, unter dem Konto des Agenten. Die Sitzung wird aufgezeichnet (Ein- und Ausgabe) und endet, wenn Sie diese Seite schließen. Kopieren: Strg+Umschalt+C, Einfügen: Strg+Umschalt+V.",
		"rec.title":        "Terminal-Aufzeichnung",
		"rec.replay":       "Abspielen",
		"rec.started":      "Begonnen",
		"rec.ended":        "Beendet",
		"rec.running":      "läuft noch oder wurde unterbrochen",
		"rec.size":         "Größe",
		"rec.truncated":    "gekürzt",
		"rec.play":         "Abspielen",
		"rec.speed":        "Geschwindigkeit",
		"rec.end":          "Alles zeigen",
		"rec.download":     ".cast herunterladen",
		"rec.done":         "Wiedergabe beendet.",
		"rec.help":         "Ausgabe und getippte Tasten, als asciicast v2. Das Öffnen einer Aufzeichnung wird im Audit-Log vermerkt.",
	},
}

func init() {
	for lang, m := range terminalCatalog {
		for k, v := range m {
			catalog[lang][k] = v
		}
	}
}
