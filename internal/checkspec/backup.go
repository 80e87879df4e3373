package checkspec

import (
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
)

var backupDays = check.Param{Name: "expected_days", Type: check.List, MaxLen: 7, Items: text(16),
	Label: tx("Backup days", "Sicherungstage"),
	Help:  tx("Weekdays a backup is expected: mon … sun (or mo … so); empty: every day.", "Wochentage, an denen eine Sicherung erwartet wird: mon … sun (oder mo … so); leer: jeden Tag.")}

var backupMaxAge = check.Param{Name: "max_age_hours", Type: check.Number, Unit: "h", Min: lim(1), Max: lim(24 * 366),
	Label: tx("Newest backup at most", "Neueste Sicherung höchstens"),
	Help:  tx("Fail when the last good backup is older.", "Fehlschlagen, wenn die letzte gute Sicherung älter ist.")}

var backupMinSuccesses = check.Param{Name: "min_successes", Type: check.Integer, Min: lim(1), Max: lim(1000),
	Label: tx("Good jobs per day", "Gute Sicherungen pro Tag"),
	Help:  tx("How many jobs must succeed on a backup day.", "Wie viele Sicherungen an einem Sicherungstag gelingen müssen.")}

var backupWarningsOK = check.Param{Name: "warnings_ok", Type: check.Boolean, Default: true,
	Label: tx("Warnings count as success", "Warnungen zählen als Erfolg"),
	Help:  tx("A job that completed with warnings counts as good.", "Eine mit Warnungen beendete Sicherung zählt als gut.")}

// Backup declares the backup check.
var Backup = &check.Spec{
	Name:  "backup",
	Label: tx("Backup", "Datensicherung"),
	Help:  tx("Whether the expected backups ran and succeeded: restic, borg, a folder of dumps (generic), Time Machine, Windows Server Backup, Veeam, Acronis. Without products it finds what this system has.", "Ob die erwarteten Sicherungen liefen und gelangen: restic, borg, ein Ordner mit Sicherungen (generic), Time Machine, Windows Server Backup, Veeam, Acronis. Ohne Produkte findet sie, was das System hat."),
	Params: []check.Param{
		{Name: "products", Type: check.List, MaxLen: 20, Label: tx("Products", "Produkte"),
			Help: tx("Backup products to watch; empty detects them.", "Zu überwachende Sicherungsprodukte; leer erkennt sie."),
			Items: &check.Param{Type: check.Object, Fields: []check.Param{
				{Name: "type", Type: check.Choice, Required: true, Choices: []string{"restic", "borg", "generic", "timemachine", "windows_server_backup", "veeam", "acronis"},
					Label: tx("Product", "Produkt"), Help: tx("Which backup software.", "Welche Sicherungssoftware.")},
				{Name: "name", Type: check.Text, MaxLen: 64, Label: tx("Name", "Name"), Help: tx("Tells several instances of one product apart.", "Unterscheidet mehrere Instanzen eines Produkts.")},
				{Name: "binary", Type: check.Text, MaxLen: 1024, Privileged: check.Executable,
					Label: tx("Program", "Programm"), Help: tx("Path to restic, borg or the Acronis tool; default from PATH.", "Pfad zu restic, borg oder dem Acronis-Werkzeug; Standard aus PATH.")},
				{Name: "repository", Type: check.Text, MaxLen: 1024, Privileged: check.ReadPath,
					Label: tx("Repository", "Repository"), Help: tx("restic and borg: the repository.", "restic und borg: das Repository.")},
				{Name: "password_file", Type: check.Text, MaxLen: 1024, Privileged: check.ReadPath,
					Label: tx("Password file", "Passwortdatei"), Help: tx("restic password or borg passphrase file.", "Datei mit restic-Passwort oder borg-Passphrase.")},
				{Name: "password_env", Type: check.Text, MaxLen: 256, Privileged: check.ReadPath,
					Label: tx("Password variable", "Passwortvariable"), Help: tx("restic: a variable of the agent's environment.", "restic: eine Variable aus der Umgebung des Agenten.")},
				{Name: "path", Type: check.Text, MaxLen: 1024, Privileged: check.ReadPath,
					Label: tx("Folder", "Ordner"), Help: tx("generic: the folder the backups are written to.", "generic: der Ordner, in den gesichert wird.")},
				backupMaxAge, backupDays, backupMinSuccesses,
				{Name: "warnings_ok", Type: check.Boolean, Label: backupWarningsOK.Label, Help: tx("Overrides the check's setting.", "Überschreibt die Einstellung der Prüfung.")},
			}}},
		backupDays,
		withDefault(backupMaxAge, 26),
		withDefault(backupMinSuccesses, 1),
		backupWarningsOK,
		{Name: "daily_verdict_at", Type: check.Text, MaxLen: 5, Default: "06:00", Format: check.FormatTimeOfDay,
			Label: tx("Day ends at", "Tag endet um"), Help: tx("HH:MM, agent local time: when a backup day ends and its verdict is due.", "HH:MM, Ortszeit des Agenten: wann ein Sicherungstag endet und sein Urteil fällig ist.")},
	},
	Rules: []check.Rule{backupDaysRule, func(v check.Values) *check.FieldError {
		l, _ := v.Raw("products").([]any)
		seen := map[string]bool{}
		for i, x := range l {
			p := x.(map[string]any)
			s := func(k string) string { t, _ := p[k].(string); return t }
			at := "products[" + itoa(i) + "]."
			switch typ := s("type"); {
			case (typ == "restic" || typ == "borg") && s("repository") == "":
				return &check.FieldError{Field: at + "repository", Message: tx("is required for "+typ, "ist für "+typ+" erforderlich")}
			case typ == "borg" && s("password_env") != "":
				return &check.FieldError{Field: at + "password_env", Message: tx("borg takes password_file, not password_env", "borg nimmt password_file, nicht password_env")}
			case typ == "generic" && s("path") == "":
				return &check.FieldError{Field: at + "path", Message: tx("is required for generic", "ist für generic erforderlich")}
			case seen[s("type")+":"+s("name")]:
				return &check.FieldError{Field: at + "name", Message: tx("this product is listed twice; give each a distinct name", "dieses Produkt ist doppelt aufgeführt; geben Sie jedem einen eigenen Namen")}
			}
			seen[s("type")+":"+s("name")] = true
		}
		return nil
	}},
}

func withDefault(p check.Param, def any) check.Param {
	p.Default = def
	return p
}

// weekdays are the accepted spellings of expected_days: English and
// German, abbreviated or full, any case.
var weekdays = map[string]time.Weekday{}

func init() {
	for d, names := range map[time.Weekday][]string{
		time.Sunday:    {"sun", "sunday", "so", "sonntag"},
		time.Monday:    {"mon", "monday", "mo", "montag"},
		time.Tuesday:   {"tue", "tuesday", "di", "dienstag"},
		time.Wednesday: {"wed", "wednesday", "mi", "mittwoch"},
		time.Thursday:  {"thu", "thursday", "do", "donnerstag"},
		time.Friday:    {"fri", "friday", "fr", "freitag"},
		time.Saturday:  {"sat", "saturday", "sa", "samstag", "sonnabend"},
	} {
		for _, n := range names {
			weekdays[n] = d
		}
	}
}

// Weekday reads one entry of a backup's expected_days.
func Weekday(s string) (time.Weekday, bool) {
	d, ok := weekdays[strings.ToLower(strings.TrimSpace(s))]
	return d, ok
}

// backupDaysRule refuses an unknown weekday in expected_days, the check's
// or a product's.
func backupDaysRule(v check.Values) *check.FieldError {
	lists := map[string]any{"expected_days": v.Raw("expected_days")}
	ps, _ := v.Raw("products").([]any)
	for i, p := range ps {
		lists["products["+itoa(i)+"].expected_days"] = p.(map[string]any)["expected_days"]
	}
	for _, at := range slices.Sorted(maps.Keys(lists)) {
		l, _ := lists[at].([]any)
		for i, d := range l {
			if _, ok := Weekday(d.(string)); !ok {
				return &check.FieldError{Field: at + "[" + itoa(i) + "]", Message: tx("is not a weekday (mon … sun or mo … so)", "ist kein Wochentag (mon … sun oder mo … so)")}
			}
		}
	}
	return nil
}
