package checkspec

import (
	"fmt"
	"path"
	"regexp"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

// EventLog declares the eventlog check.
var EventLog = &check.Spec{
	Name:  "eventlog",
	Label: tx("Critical events", "Kritische Ereignisse"),
	Help:  tx("Counts and lists critical and error events since the last run: the Windows event log, the systemd journal or syslog files, the macOS unified log.", "Zählt und listet kritische Ereignisse und Fehler seit dem letzten Lauf: Windows-Ereignisprotokoll, systemd-Journal oder Syslog-Dateien, macOS-Unified-Log."),
	Params: []check.Param{
		logSource,
		{Name: "files", Type: check.List, MaxLen: 20, Items: text(1024), Privileged: check.ReadPath,
			Label: tx("Log files (Linux)", "Protokolldateien (Linux)"), Help: tx("Syslog files to read; default /var/log/syslog, /var/log/messages.", "Zu lesende Syslog-Dateien; Standard /var/log/syslog, /var/log/messages.")},
		{Name: "channels", Type: check.List, MaxLen: 20, Items: text(256), Default: []string{"System", "Application"},
			Label: tx("Channels (Windows)", "Kanäle (Windows)"), Help: tx("Event log channels.", "Kanäle des Ereignisprotokolls.")},
		{Name: "predicate", Type: check.Text, MaxLen: 1024, Default: "messageType == fault",
			Label: tx("Predicate (macOS)", "Prädikat (macOS)"), Help: tx("The `log show` predicate; errors are thousands an hour on a normal Mac.", "Das Prädikat für `log show`; Fehler sind auf einem normalen Mac Tausende pro Stunde.")},
		{Name: "lookback", Type: check.Duration, Default: "24h", Min: lim(0), Max: lim(31 * 24 * 3600),
			Label: tx("First run looks back", "Erster Lauf schaut zurück"), Help: tx("How far the first run reads, before there is a bookmark.", "Wie weit der erste Lauf liest, bevor es ein Lesezeichen gibt.")},
		{Name: "max_events", Type: check.Integer, Default: 20, Min: lim(0), Max: lim(100),
			Label: tx("Events listed", "Gelistete Ereignisse"), Help: tx("At most this many events in the message.", "Höchstens so viele Ereignisse in der Meldung.")},
		{Name: "warn", Type: check.Number, Unit: "events", Default: 0, Min: lim(0),
			Label: tx("Warning at", "Warnung ab"), Help: tx("Event count; 0 means no warning level.", "Anzahl Ereignisse; 0 heißt keine Warnstufe.")},
		{Name: "fail", Type: check.Number, Unit: "events", Default: 1, Min: lim(0),
			Label: tx("Failure at", "Fehler ab"), Help: tx("Event count; 0 takes the default.", "Anzahl Ereignisse; 0 nimmt den Standard.")},
		eventRules("include", tx("Include", "Einschließen"), tx("Also count entries matching a rule (on syslog files, where lines carry no priority).", "Auch passende Einträge zählen (bei Syslog-Dateien, deren Zeilen keine Priorität tragen).")),
		eventRules("exclude", tx("Exclude", "Ausschließen"), tx("Leave out entries matching a rule.", "Passende Einträge auslassen.")),
	},
	Rules: []check.Rule{eventWarnRule, filterRule},
}

// eventRules declares a list of log filter rules (logsrc.Rule).
func eventRules(name string, label, help core.Text) check.Param {
	return check.Param{Name: name, Type: check.List, MaxLen: 100, Label: label, Help: help,
		Items: &check.Param{Type: check.Object, Fields: []check.Param{
			{Name: "source", Type: check.Text, MaxLen: 256, Label: tx("Source", "Quelle"), Help: tx("Program, provider or unit; * and ? match any.", "Programm, Anbieter oder Unit; * und ? passen auf alles.")},
			{Name: "id", Type: check.Text, MaxLen: 32, Label: tx("Event ID", "Ereignis-ID"), Help: tx("Exact event ID (Windows).", "Genaue Ereignis-ID (Windows).")},
			{Name: "text", Type: check.Text, MaxLen: 1024, Label: tx("Text", "Text"), Help: tx("Regular expression searched in the message, any case.", "Regulärer Ausdruck, in der Meldung gesucht, ohne Groß/Klein.")},
		}}}
}

// eventWarnRule refuses a warning level above the failure level, where a
// fail of 0 takes the default of 1 (as the collector does).
func eventWarnRule(v check.Values) *check.FieldError {
	f := v.Num("fail")
	if f > 0 && f < 1 {
		return &check.FieldError{Field: "fail", Message: tx("must be 0 (the default) or at least 1", "muss 0 (der Standard) oder mindestens 1 sein")}
	}
	if f == 0 {
		f = 1
	}
	if w := v.Num("warn"); w > f {
		return &check.FieldError{Field: "warn", Message: tx(fmt.Sprintf("must not be above fail (%v > %v)", w, f), fmt.Sprintf("darf nicht über fail liegen (%v > %v)", w, f))}
	}
	return nil
}

// filterRule refuses empty rules, bad patterns and bad expressions.
func filterRule(v check.Values) *check.FieldError {
	for _, list := range []string{"include", "exclude"} {
		l, _ := v.Raw(list).([]any)
		for i, x := range l {
			r := x.(map[string]any)
			s := func(k string) string { t, _ := r[k].(string); return t }
			at := list + "[" + itoa(i) + "]"
			if s("source") == "" && s("id") == "" && s("text") == "" {
				return &check.FieldError{Field: at, Message: tx("give source, id or text", "geben Sie source, id oder text an")}
			}
			if _, err := path.Match(s("source"), ""); err != nil {
				return &check.FieldError{Field: at + ".source", Message: tx("is not a valid pattern", "ist kein gültiges Muster")}
			}
			if _, err := regexp.Compile("(?i)" + s("text")); err != nil {
				return &check.FieldError{Field: at + ".text", Message: tx("is not a valid regular expression", "ist kein gültiger regulärer Ausdruck")}
			}
		}
	}
	return nil
}

// Logins declares the logins check.
var Logins = &check.Spec{
	Name:  "logins",
	Label: tx("Failed log-ins", "Fehlgeschlagene Anmeldungen"),
	Help:  tx("Counts failed log-ins within a window and names the accounts and addresses most tried.", "Zählt fehlgeschlagene Anmeldungen in einem Fenster und nennt die am meisten versuchten Konten und Adressen."),
	Params: []check.Param{
		logSource,
		{Name: "files", Type: check.List, MaxLen: 20, Items: text(1024), Privileged: check.ReadPath,
			Label: tx("Log files (Linux)", "Protokolldateien (Linux)"), Help: tx("Auth logs; default /var/log/auth.log, /var/log/secure.", "Anmeldeprotokolle; Standard /var/log/auth.log, /var/log/secure.")},
		{Name: "window", Type: check.Duration, Default: "15m", Min: lim(60), Max: lim(7 * 24 * 3600),
			Label: tx("Window", "Fenster"), Help: tx("Failures are counted over this span.", "Fehlschläge werden über diese Spanne gezählt.")},
		{Name: "warn", Type: check.Number, Unit: "log-ins", Default: 10, Min: lim(1),
			Label: tx("Warning at", "Warnung ab"), Help: tx("Failed log-ins within the window.", "Fehlgeschlagene Anmeldungen im Fenster.")},
		{Name: "fail", Type: check.Number, Unit: "log-ins", Default: 30, Min: lim(1),
			Label: tx("Failure at", "Fehler ab"), Help: tx("Failed log-ins within the window.", "Fehlgeschlagene Anmeldungen im Fenster.")},
		{Name: "top", Type: check.Integer, Default: 5, Min: lim(1), Max: lim(100),
			Label: tx("Names listed", "Genannte Namen"), Help: tx("Accounts and addresses the message names.", "Konten und Adressen, die die Meldung nennt.")},
	},
	Rules: []check.Rule{check.NotAbove("warn", "fail")},
}
