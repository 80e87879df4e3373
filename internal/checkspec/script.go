package checkspec

import "github.com/wacht-rmm/wacht/internal/check"

// Script declares the script check (protocol.CheckScript): a script of
// the library as a check. Exit code 0 is ok, 1 warning, 2 failure, any
// other an error (the Nagios plugin convention); the first line of output
// is the message, a "|name=42;unit" suffix on it the value. It starts a
// program, so only an administrator may set it, and only in policies
// (network devices and probes refuse it). The server sends the agent the
// script version inline (protocol.ScriptCheckParams).
var Script = &check.Spec{
	Name:  "script",
	Label: tx("Script", "Skript"),
	Help: tx("Runs a script of the library as a check: exit code 0 ok, 1 warning, 2 failure, other error; the first line of output is the message, a \"|value=42;unit\" suffix its value.",
		"Führt ein Skript der Bibliothek als Prüfung aus: Exit-Code 0 in Ordnung, 1 Warnung, 2 Fehler, sonst Prüfungsfehler; die erste Ausgabezeile ist die Meldung, ein Anhang \"|wert=42;einheit\" ihr Wert."),
	Params: []check.Param{
		{Name: "script_id", Type: check.Integer, Required: true, Min: lim(1), Privileged: check.Executable,
			Label: tx("Script", "Skript"), Help: tx("The script of the library (its ID).", "Das Skript der Bibliothek (seine ID).")},
		{Name: "script_version", Type: check.Integer, Default: 0, Min: lim(0), Privileged: check.Executable,
			Label: tx("Version", "Version"), Help: tx("0 runs the current version; a number pins that version.", "0 führt die aktuelle Version aus; eine Nummer legt diese Version fest.")},
		{Name: "params", Type: check.Map, Items: text(4096), MaxLen: 32, Privileged: check.Executable,
			Label: tx("Parameters", "Parameter"), Help: tx("The script's parameters by name, as text; secret parameters are not allowed in checks (use a task).",
				"Die Parameter des Skripts nach Namen, als Text; geheime Parameter sind in Prüfungen nicht erlaubt (verwenden Sie eine Aufgabe).")},
	},
}
